"""Vanilla RNN: step and sequence gradients vs numerical ones; the sequence vs torch.nn.RNN(tanh)."""

from __future__ import annotations

import numpy as np
import pytest

from vislab.nn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from vislab.nn.gradcheck import eval_numerical_gradient_array, rel_error

from .recurrent_checks import (
    D,
    H,
    N,
    T,
    check_float32,
    check_matches_torch,
    check_sequence_gradients,
    weights,
)


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_step_gradients(rng):
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("rnn", rng)
    next_h, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
    np.testing.assert_allclose(next_h, np.tanh(x @ Wx + prev_h @ Wh + b))
    dnext = rng.standard_normal(next_h.shape)
    grads = rnn_step_backward(dnext, cache)
    for arr, grad in zip((x, prev_h, Wx, Wh, b), grads):
        num = eval_numerical_gradient_array(lambda _: rnn_step_forward(x, prev_h, Wx, Wh, b)[0], arr, dnext)
        assert rel_error(num, grad) < 1e-7


def test_sequence_is_the_step_repeated(rng):
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("rnn", rng)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    prev = h0
    for t in range(T):
        prev, _ = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev, rtol=1e-12)


def test_sequence_gradients(rng):
    check_sequence_gradients("rnn", rnn_forward, rnn_backward, rng)


def test_matches_torch_rnn(rng):
    check_matches_torch("rnn", rnn_forward, rnn_backward, rng)


def test_float32(rng):
    check_float32(rnn_forward, rnn_backward, "rnn", rng)
