"""GRU (torch's formulation: gates r, z, n, 4H bias): gradients vs numerical ones; sequence vs nn.GRU."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from vislab.nn import gru_backward, gru_forward, gru_step_backward, gru_step_forward

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
    return np.random.default_rng(5)


def test_step_follows_torch_formula(rng):
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights("gru", rng)
    next_h, _ = gru_step_forward(x, prev_h, Wx, Wh, b)
    ax, ah = x @ Wx + b[:3 * H], prev_h @ Wh
    r = expit(ax[:, :H] + ah[:, :H])
    z = expit(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * (ah[:, 2 * H:] + b[3 * H:]))
    np.testing.assert_allclose(next_h, (1 - z) * n + z * prev_h, rtol=1e-12)


def test_step_gradients(rng):
    check_step_gradients("gru", gru_step_forward, gru_step_backward, rng)


def test_sequence_is_the_step_repeated(rng):
    check_sequence_is_the_step_repeated("gru", gru_forward, gru_step_forward, rng)


def test_sequence_gradients(rng):
    check_sequence_gradients("gru", gru_forward, gru_backward, rng)


def test_matches_torch_gru(rng):
    check_matches_torch("gru", gru_forward, gru_backward, rng)


def test_float32(rng):
    check_float32(gru_forward, gru_backward, "gru", rng)
