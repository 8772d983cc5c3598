"""Soft attention (Show, Attend and Tell): every backward pass against numerical gradients (float64), the forward
against the formulas written out with torch, and the sequence against its steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vislab.nn.attention import (
    attention_backward,
    attention_forward,
    attention_lstm_backward,
    attention_lstm_forward,
    attention_lstm_step_backward,
    attention_lstm_step_forward,
    doubly_stochastic_backward,
    doubly_stochastic_forward,
    grounding_backward,
    grounding_forward,
)
from vislab.nn.gradcheck import eval_numerical_gradient, rel_error

N, T, L, C, A, D, H = 2, 3, 4, 3, 5, 3, 4


@pytest.fixture
def rng():
    return np.random.default_rng(26)


def _w(rng, *shape, scale=0.5):
    return rng.standard_normal(shape) * scale


def test_attention_forward_is_the_formula(rng):
    h, proj, feats, Wa, wa = _w(rng, N, H), _w(rng, N, L, A), _w(rng, N, L, C), _w(rng, H, A), _w(rng, A)
    (z, alpha), _ = attention_forward(h, proj, feats, Wa, wa)
    th = [torch.from_numpy(v) for v in (h, proj, feats, Wa, wa)]
    e = torch.tanh(th[1] + (th[0] @ th[3])[:, None]) @ th[4]
    ref_alpha = torch.softmax(e, dim=1)
    np.testing.assert_allclose(alpha, ref_alpha.numpy(), rtol=1e-12)
    np.testing.assert_allclose(z, (ref_alpha[:, :, None] * th[2]).sum(1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(alpha.sum(axis=1), 1, rtol=1e-12)


def test_attention_backward(rng):
    h, proj, feats, Wa, wa = _w(rng, N, H), _w(rng, N, L, A), _w(rng, N, L, C), _w(rng, H, A), _w(rng, A)
    dz, dalpha = _w(rng, N, C, scale=1), _w(rng, N, L, scale=1)
    _, cache = attention_forward(h, proj, feats, Wa, wa)
    names = ("h", "proj", "feats", "Wa", "wa")
    grads = dict(zip(names, attention_backward(dz, dalpha, cache)))
    inputs = dict(zip(names, (h, proj, feats, Wa, wa)))
    for name, x in inputs.items():
        def both(_):
            (z, a), _c = attention_forward(h, proj, feats, Wa, wa)
            return float((z * dz).sum() + (a * dalpha).sum())
        assert rel_error(eval_numerical_gradient(both, x), grads[name]) < 1e-7, name


def _step_inputs(rng):
    return dict(x=_w(rng, N, D), h=_w(rng, N, H), c=_w(rng, N, H), proj=_w(rng, N, L, A), feats=_w(rng, N, L, C),
                Wx=_w(rng, D, 4 * H), Wh=_w(rng, H, 4 * H), Wz=_w(rng, C, 4 * H), b=_w(rng, 4 * H),
                Wa=_w(rng, H, A), wa=_w(rng, A))


def test_attention_lstm_step_backward(rng):
    p = _step_inputs(rng)
    dh, dc, dal = _w(rng, N, H, scale=1), _w(rng, N, H, scale=1), _w(rng, N, L, scale=1)
    *_, cache = attention_lstm_step_forward(*p.values())
    grads = dict(zip(p, attention_lstm_step_backward(dh, dc, dal, cache)))

    def loss(_):
        h, c, a, _c = attention_lstm_step_forward(*p.values())
        return float((h * dh).sum() + (c * dc).sum() + (a * dal).sum())
    for name, x in p.items():
        assert rel_error(eval_numerical_gradient(loss, x), grads[name]) < 1e-7, name


def _seq_inputs(rng):
    return dict(x=_w(rng, N, T, D), feats=_w(rng, N, L, C), h0=_w(rng, N, H), Wx=_w(rng, D, 4 * H),
                Wh=_w(rng, H, 4 * H), Wz=_w(rng, C, 4 * H), b=_w(rng, 4 * H), Wf=_w(rng, C, A), bf=_w(rng, A),
                Wa=_w(rng, H, A), wa=_w(rng, A))


def test_sequence_is_its_steps(rng):
    p = _seq_inputs(rng)
    (h, alphas), _ = attention_lstm_forward(*p.values())
    proj = p["feats"] @ p["Wf"] + p["bf"]
    prev_h, prev_c = p["h0"], np.zeros((N, H))
    for t in range(T):
        prev_h, prev_c, a, _ = attention_lstm_step_forward(p["x"][:, t], prev_h, prev_c, proj, p["feats"], p["Wx"],
                                                           p["Wh"], p["Wz"], p["b"], p["Wa"], p["wa"])
        np.testing.assert_allclose(h[:, t], prev_h, rtol=1e-12)
        np.testing.assert_allclose(alphas[:, t], a, rtol=1e-12)


def test_attention_lstm_backward(rng):
    p = _seq_inputs(rng)
    dh, dal = _w(rng, N, T, H, scale=1), _w(rng, N, T, L, scale=1)
    _, cache = attention_lstm_forward(*p.values())
    grads = dict(zip(p, attention_lstm_backward(dh, dal, cache)))

    def loss(_):
        (h, a), _c = attention_lstm_forward(*p.values())
        return float((h * dh).sum() + (a * dal).sum())
    for name, x in p.items():
        assert rel_error(eval_numerical_gradient(loss, x), grads[name]) < 1e-7, name


def test_doubly_stochastic_regularizer(rng):
    alphas = rng.random((N, T, L))
    mask = np.array([[True, True, False], [True, True, True]])
    loss, cache = doubly_stochastic_forward(alphas, mask, 0.7)
    gap = 1 - np.stack([alphas[0, :2].sum(0), alphas[1].sum(0)])
    assert loss == pytest.approx(0.7 * (gap ** 2).sum() / N, rel=1e-12)
    num = eval_numerical_gradient(lambda _: doubly_stochastic_forward(alphas, mask, 0.7)[0], alphas)
    assert rel_error(num, doubly_stochastic_backward(cache)) < 1e-7
    assert not doubly_stochastic_backward(cache)[0, 2].any()  # padding steps get no gradient


def test_grounding_loss_is_minus_log_the_mass_on_the_box(rng):
    alphas = rng.random((N, T, L))
    alphas /= alphas.sum(axis=2, keepdims=True)
    targets = np.zeros((N, T, L))
    targets[0, 1, :2] = [1.0, 0.5]  # word 1 of caption 0 names a box covering cell 0 and half of cell 1
    targets[1, 2, -1] = 0.25
    loss, cache = grounding_forward(alphas, targets, 0.3)
    mass = [alphas[0, 1, 0] + 0.5 * alphas[0, 1, 1], 0.25 * alphas[1, 2, -1]]
    assert loss == pytest.approx(-0.3 * np.log(mass).sum() / N, rel=1e-12)
    num = eval_numerical_gradient(lambda _: grounding_forward(alphas, targets, 0.3)[0], alphas)
    grad = grounding_backward(cache)
    assert rel_error(num, grad) < 1e-7
    assert np.count_nonzero(grad) == 3  # only the grounded words' box cells are pushed


def test_grounding_through_the_attention_lstm(rng):
    """The grounding gradient enters `attention_lstm_backward` as dalphas: every weight's gradient matches."""
    p = _seq_inputs(rng)
    targets = np.zeros((N, T, L))
    targets[:, 1, 0], targets[0, 2, 1:3] = 1.0, 0.5
    (h, a), cache = attention_lstm_forward(*p.values())
    g_loss, g_cache = grounding_forward(a, targets, 0.7)
    grads = dict(zip(p, attention_lstm_backward(np.zeros_like(h), grounding_backward(g_cache), cache)))

    def loss(_):
        return grounding_forward(attention_lstm_forward(*p.values())[0][1], targets, 0.7)[0]
    for name, x in p.items():
        assert rel_error(eval_numerical_gradient(loss, x), grads[name]) < 1e-6, name
