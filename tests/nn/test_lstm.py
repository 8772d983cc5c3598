"""LSTM: step and sequence gradients vs numerical ones; the sequence vs torch.nn.LSTM (gates remapped)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from vislab.nn import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
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
    return np.random.default_rng(4)


def test_step_follows_the_formula_with_gates_i_f_o_g(rng):
    x, prev_h, prev_c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("lstm", rng)
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = expit(a[:, :H]), expit(a[:, H:2 * H]), expit(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    np.testing.assert_allclose(next_c, f * prev_c + i * g, rtol=1e-12)
    np.testing.assert_allclose(next_h, o * np.tanh(next_c), rtol=1e-12)


def test_step_gradients(rng):
    x, prev_h, prev_c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("lstm", rng)
    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h, dnext_c = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    grads = lstm_step_backward(dnext_h, dnext_c, cache)

    def f(_):  # both outputs, so one upstream gradient covers dnext_h and dnext_c
        h, c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        return np.concatenate([h, c], axis=1)

    dout = np.concatenate([dnext_h, dnext_c], axis=1)
    for arr, grad in zip((x, prev_h, prev_c, Wx, Wh, b), grads):
        assert rel_error(eval_numerical_gradient_array(f, arr, dout), grad) < 1e-7


def test_sequence_is_the_step_repeated_from_zero_cell(rng):
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("lstm", rng)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    prev_h, prev_c = h0, np.zeros((N, H))
    for t in range(T):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev_h, rtol=1e-12)


def test_sequence_gradients(rng):
    check_sequence_gradients("lstm", lstm_forward, lstm_backward, rng)


def test_matches_torch_lstm(rng):
    check_matches_torch("lstm", lstm_forward, lstm_backward, rng)


def test_float32(rng):
    check_float32(lstm_forward, lstm_backward, "lstm", rng)
