"""numpy neural-network layers with hand-written backprop (cs231n API): ``out, cache = f_forward(...)``,
``grads = f_backward(dout, cache)``. Numerical gradient helpers are in `vislab.nn.gradcheck`, update rules in
`vislab.nn.optim`."""

from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .layers import (
    affine_backward,
    affine_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from .lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "affine_forward", "affine_backward",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward",
    "temporal_softmax_loss",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
]
