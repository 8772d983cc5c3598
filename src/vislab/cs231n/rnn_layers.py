"""`cs231n.rnn_layers` over `vislab.nn`: same names, argument order and ``(out, cache)`` / backward tuples.

vislab's layers already follow the course's conventions, so most names are the vislab function itself; the
caches are vislab's own (pass them only to the matching backward, as the course does).
"""

from __future__ import annotations

import numpy as np

from ..nn import (
    affine_backward,
    affine_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    word_embedding_backward,
    word_embedding_forward,
)
from ..nn import temporal_softmax_loss as _temporal_softmax_loss

__all__ = [
    "affine_forward", "affine_backward", "sigmoid",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function, elementwise (no exp overflow for large |x|)."""
    x = np.asarray(x)
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    z = np.exp(x[~pos])
    out[~pos] = z / (1 + z)
    return out


def temporal_softmax_loss(x: np.ndarray, y: np.ndarray, mask: np.ndarray,
                          verbose: bool = False) -> tuple[float, np.ndarray]:
    """Softmax loss at every time step, summed over time and averaged over the batch: (loss, dx).

    x (N, T, V) scores, y (N, T) targets, mask (N, T) (False/0 where the target is padding). With verbose
    the course prints the shape of dx; so does this.
    """
    loss, dx = _temporal_softmax_loss(x, y, np.asarray(mask, dtype=bool))
    if verbose:
        print("dx_flat: ", (x.shape[0] * x.shape[1], x.shape[2]))
    return loss, dx
