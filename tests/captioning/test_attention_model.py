"""The attention captioner: its loss gradients against numerical ones, the torch twin against the numpy model
(float64, loss + every gradient + greedy captions), decoding with attention, and the weights behind each word."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vislab.captioning.attention import ATTENTION_PARAMS, AttentionCaptioner
from vislab.captioning.attention_torch import TorchAttentionCaptioner
from vislab.nn.gradcheck import rel_error

WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "red": 3, "circle": 4, "left": 5}
L, C = 4, 3


def _data(rng, n=3):
    feats = rng.standard_normal((n, L * C))
    caps = np.array([[1, 3, 4, 2, 0], [1, 4, 5, 3, 2], [1, 5, 2, 0, 0]])[:n]
    return feats, caps


def _model(reg=0.3, grounding=0.0):
    return AttentionCaptioner(WORDS, L * C, wordvec_dim=5, hidden_dim=6, positions=L, attention_dim=4, reg=reg,
                              dtype=np.float64, seed=3, grounding=grounding)


def _targets(n=3):
    """Boxes for some words: caption 0's "red" and "circle" (output words 0, 1), caption 1's "red" (word 2)."""
    t = np.zeros((n, 4, L))
    t[0, 0, :2] = t[0, 1, :2] = [1.0, 0.25]
    t[1, 2, 3] = 0.5
    return t


@pytest.mark.parametrize("grounding", [0.0, 0.7])
def test_loss_gradients_are_numerical(grounding):
    rng = np.random.default_rng(0)
    feats, caps = _data(rng)
    m = _model(grounding=grounding)
    for p in m.params.values():  # away from the small initial values, so every path matters
        p += rng.standard_normal(p.shape) * 0.3
    targets = _targets() if grounding else None
    _, grads = m.loss(feats, caps, targets)
    for name in ATTENTION_PARAMS:  # 4 entries of each parameter (the layers are checked whole in tests/nn)
        x = m.params[name]
        for ix in [np.unravel_index(i, x.shape) for i in rng.choice(x.size, min(4, x.size), replace=False)]:
            num = _partial(lambda: m.loss(feats, caps, targets)[0], x, ix)
            assert rel_error(num, grads[name][ix]) < 1e-6, (name, ix)


def test_grounding_adds_minus_log_the_mass_on_each_box():
    rng = np.random.default_rng(4)
    feats, caps = _data(rng)
    plain, grounded = _model(), _model(grounding=0.7)
    alphas = plain.attend(feats, caps[:, 1:])
    mass = [alphas[0, 0, 0] + 0.25 * alphas[0, 0, 1], alphas[0, 1, 0] + 0.25 * alphas[0, 1, 1], 0.5 * alphas[1, 2, 3]]
    extra = grounded.loss(feats, caps, _targets())[0] - plain.loss(feats, caps)[0]
    assert extra == pytest.approx(-0.7 * np.log(mass).sum() / 3, rel=1e-9)
    assert grounded.loss(feats, caps)[0] == pytest.approx(plain.loss(feats, caps)[0], rel=1e-12)  # no targets


def _partial(f, x, ix, h=1e-4):
    old = x[ix]
    x[ix] = old + h
    up = f()
    x[ix] = old - h
    down = f()
    x[ix] = old
    return (up - down) / (2 * h)


@pytest.mark.parametrize(("reg", "grounding"), [(0.0, 0.0), (0.5, 0.0), (0.5, 0.7)])
def test_torch_twin_equals_numpy(reg, grounding):
    rng = np.random.default_rng(1)
    feats, caps = _data(rng)
    m = _model(reg, grounding)
    for p in m.params.values():
        p += rng.standard_normal(p.shape) * 0.3
    targets = _targets() if grounding else None
    loss, grads = m.loss(feats, caps, targets)
    twin = TorchAttentionCaptioner(WORDS, L * C, 5, 6, positions=L, attention_dim=4, reg=reg, dtype=torch.float64,
                                   seed=9, grounding=grounding).from_numpy_params(m.params)
    t_loss = twin.loss(feats, caps, targets)
    t_loss.backward()
    assert abs(float(t_loss.detach()) - loss) < 1e-6 * max(1, abs(loss))
    for name in ATTENTION_PARAMS:
        assert np.abs(getattr(twin, name).grad.numpy() - grads[name]).max() < 1e-6, name
    np.testing.assert_array_equal(twin.sample(feats, 6).numpy(), m.sample(feats, 6))
    # same seed, same start
    fresh = TorchAttentionCaptioner(WORDS, L * C, 5, 6, positions=L, attention_dim=4, dtype=torch.float64, seed=3)
    for name, v in fresh.to_numpy_params().items():
        np.testing.assert_array_equal(v, _model().params[name])


def test_decoding_and_the_attention_behind_each_word():
    rng = np.random.default_rng(2)
    feats, _ = _data(rng)
    m = _model()
    for p in m.params.values():
        p += rng.standard_normal(p.shape)
    greedy = m.sample(feats, 5)
    np.testing.assert_array_equal(m.beam_search(feats, beam_size=1, max_length=5), greedy)
    beams, scores = m.beam_search(feats, beam_size=3, max_length=5, return_beams=True)
    assert beams.shape == (3, 3, 5) and (np.diff(scores, axis=1) <= 1e-12).all()
    alphas = m.attend(feats, greedy)
    assert alphas.shape == (3, 5, L)
    np.testing.assert_allclose(alphas.sum(axis=2), 1)
    # independently: run the steps by hand, feeding the greedy words, and read the attention of each step
    from vislab.nn.attention import attention_lstm_step_forward
    p = m.params
    cells = feats.reshape(3, L, C) + p["W_pos"]
    h, c = cells.mean(1) @ p["W_proj"] + p["b_proj"], np.zeros((3, 6))
    words = np.full(3, 1)
    for t in range(3):
        h, c, a, _ = attention_lstm_step_forward(p["W_embed"][words], h, c, cells @ p["Wf"] + p["bf"], cells,
                                                 p["Wx"], p["Wh"], p["Wz"], p["b"], p["Wa"], p["wa"])
        np.testing.assert_allclose(alphas[:, t], a, rtol=1e-10)
        words = greedy[:, t]
