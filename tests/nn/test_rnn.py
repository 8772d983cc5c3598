"""Vanilla RNN: step and sequence gradients vs numerical ones; the sequence vs torch.nn.RNN(tanh)."""

from __future__ import annotations

import numpy as np
import pytest

from vislab.nn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

from .recurrent_checks import (
    D,
    H,
    N,
    check_float32,
    check_matches_torch,
    check_sequence_gradients,
    check_sequence_is_the_step_repeated,
    check_step_gradients,
    weights,
)


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_step_gradients(rng):
    check_step_gradients("rnn", rnn_step_forward, rnn_step_backward, rng)


def test_step_forward_is_the_formula(rng):
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("rnn", rng)
    np.testing.assert_allclose(rnn_step_forward(x, prev_h, Wx, Wh, b)[0], np.tanh(x @ Wx + prev_h @ Wh + b))


def test_sequence_is_the_step_repeated(rng):
    check_sequence_is_the_step_repeated("rnn", rnn_forward, rnn_step_forward, rng)


def test_sequence_gradients(rng):
    check_sequence_gradients("rnn", rnn_forward, rnn_backward, rng)


def test_matches_torch_rnn(rng):
    check_matches_torch("rnn", rnn_forward, rnn_backward, rng)


def test_float32(rng):
    check_float32(rnn_forward, rnn_backward, "rnn", rng)
