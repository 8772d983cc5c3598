"""Checks shared by test_rnn.py, test_lstm.py and test_gru.py (each runs them for its cell)."""

from __future__ import annotations

import numpy as np

from vislab.nn.gradcheck import eval_numerical_gradient_array, rel_error

from .recurrent_refs import make_torch_layer, run_torch

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
N, T, D, H = 3, 4, 5, 6


def weights(cell: str, rng, dtype=np.float64):
    g = GATES[cell]
    Wx = rng.standard_normal((D, g * H)) * 0.4
    Wh = rng.standard_normal((H, g * H)) * 0.4
    b = rng.standard_normal(4 * H if cell == "gru" else g * H) * 0.4
    return Wx.astype(dtype), Wh.astype(dtype), b.astype(dtype)


def check_step_gradients(cell, step_forward, step_backward, rng):
    """For the cells whose step is (x, prev_h, Wx, Wh, b) -> next_h (RNN, GRU)."""
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights(cell, rng)
    next_h, cache = step_forward(x, prev_h, Wx, Wh, b)
    dnext = rng.standard_normal(next_h.shape)
    grads = step_backward(dnext, cache)
    for name, arr, grad in zip(("dx", "dprev_h", "dWx", "dWh", "db"), (x, prev_h, Wx, Wh, b), grads):
        num = eval_numerical_gradient_array(lambda _: step_forward(x, prev_h, Wx, Wh, b)[0], arr, dnext)
        assert rel_error(num, grad) < 1e-7, name


def check_sequence_is_the_step_repeated(cell, forward, step_forward, rng):
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights(cell, rng)
    h, _ = forward(x, h0, Wx, Wh, b)
    prev = h0
    for t in range(T):
        prev, _ = step_forward(x[:, t], prev, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev, rtol=1e-12)


def check_sequence_gradients(cell, forward, backward, rng):
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights(cell, rng)
    h, cache = forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    grads = backward(dh, cache)
    assert [g.shape for g in grads] == [a.shape for a in (x, h0, Wx, Wh, b)]
    for name, arr, grad in zip(("dx", "dh0", "dWx", "dWh", "db"), (x, h0, Wx, Wh, b), grads):
        num = eval_numerical_gradient_array(lambda _: forward(x, h0, Wx, Wh, b)[0], arr, dh)
        assert rel_error(num, grad) < 1e-6, name


def check_matches_torch(cell, forward, backward, rng):
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights(cell, rng)
    dh = rng.standard_normal((N, T, H))
    h, cache = forward(x, h0, Wx, Wh, b)
    ours = (h, *backward(dh, cache))
    theirs = run_torch(cell, make_torch_layer(cell, Wx, Wh, b, rng), x, h0, dh)
    for name, a, t in zip(("h", "dx", "dh0", "dWx", "dWh", "db"), ours, theirs):
        assert a.shape == t.shape, name
        assert rel_error(a, t) < 1e-9, name


def check_float32(forward, backward, cell, rng):
    """float32 in, float32 out, and close to the float64 result."""
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = weights(cell, rng)
    dh = rng.standard_normal((N, T, H))
    f32 = [a.astype(np.float32) for a in (x, h0, Wx, Wh, b)]
    h32, cache32 = forward(*f32)
    g32 = backward(dh.astype(np.float32), cache32)
    h64, cache64 = forward(x, h0, Wx, Wh, b)
    g64 = backward(dh, cache64)
    for a32, a64 in zip((h32, *g32), (h64, *g64)):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=1e-5)
