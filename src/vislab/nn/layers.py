"""Feed-forward pieces of the captioning network, each a forward/backward pair (cs231n layer API).

A forward returns ``(out, cache)``; the matching backward takes the upstream gradient and that cache and
returns the gradients of the inputs in the order they were passed in. Everything is vectorised over the batch
and keeps the dtype of its inputs (float32 for speed, float64 for gradient checks).
"""

from __future__ import annotations

import numpy as np


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """out = x @ w + b, where x (N, d_1, ..., d_k) is flattened to (N, D) and w is (D, M)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx, dw, db) of `affine_forward`; dx has x's original shape."""
    x, w = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    return dx, x2.T @ dout, dout.sum(axis=0)


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Look up word vectors: integer indices x (N, T) in [0, V) -> out (N, T, D) = W[x], with W (V, D)."""
    return W[x], (x, W.shape, W.dtype)


def word_embedding_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dW (V, D): each row collects the gradients of every position that used that word.

    A word that occurs several times receives the sum of their gradients, so this is a scatter-*add*;
    ``dW[x] += dout`` would keep only one of the repeats.
    """
    x, shape, dtype = cache
    dW = np.zeros(shape, dtype=dtype)
    np.add.at(dW, x.ravel(), dout.reshape(-1, shape[1]))
    return dW


def temporal_affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The same affine map at every time step: x (N, T, D), w (D, M), b (M,) -> out (N, T, M)."""
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, w.shape[1])
    return out, (x, w)


def temporal_affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx, dw, db) of `temporal_affine_forward`."""
    x, w = cache
    N, T, D = x.shape
    d2 = dout.reshape(N * T, -1)
    dx = (d2 @ w.T).reshape(N, T, D)
    return dx, x.reshape(N * T, D).T @ d2, d2.sum(axis=0)


def temporal_softmax_loss(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy over a vocabulary at every time step.

    x: scores (N, T, V); y: target indices (N, T); mask (N, T): False where the target is padding.
    The loss is summed over time and averaged over the batch (so long captions weigh more), and masked
    positions contribute neither loss nor gradient. Returns (loss, dx).
    """
    N, T, V = x.shape
    flat = x.reshape(N * T, V)
    # log-softmax with the row maximum subtracted, so exp never overflows.
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    y_flat, m_flat = y.reshape(N * T), mask.reshape(N * T)
    rows = np.arange(N * T)
    loss = -(log_probs[rows, y_flat] * m_flat).sum() / N

    # d(loss)/d(scores) = (softmax - onehot(y)) / N at unmasked positions, 0 at masked ones.
    dx = np.exp(log_probs)
    dx[rows, y_flat] -= 1
    dx *= (m_flat / N).astype(dx.dtype)[:, None]
    return float(loss), dx.reshape(N, T, V)
