"""vislab.nn.layers: gradients against numerical differentiation, values against torch in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vislab.nn import (
    affine_backward,
    affine_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from vislab.nn.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_affine_gradients(rng):
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    out, cache = affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(4, 6) @ w + b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape
    for arr, grad in ((x, dx), (w, dw), (b, db)):
        num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b)[0], arr, dout)
        assert rel_error(num, grad) < 1e-7


def test_temporal_affine_gradients(rng):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = temporal_affine_forward(x, w, b)
    np.testing.assert_allclose(out[1, 2], x[1, 2] @ w + b)
    dout = rng.standard_normal(out.shape)
    grads = temporal_affine_backward(dout, cache)
    for arr, grad in zip((x, w, b), grads):
        num = eval_numerical_gradient_array(lambda _: temporal_affine_forward(x, w, b)[0], arr, dout)
        assert rel_error(num, grad) < 1e-7


def test_word_embedding_matches_torch_and_accumulates_repeats(rng):
    V, D = 6, 4
    W = rng.standard_normal((V, D))
    x = np.array([[0, 3, 3, 5], [3, 1, 0, 3]])  # word 3 four times, word 2 and 4 never
    out, cache = word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    dW = word_embedding_backward(dout, cache)

    emb = torch.nn.Embedding(V, D).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(W))
    t_out = emb(torch.from_numpy(x))
    t_out.backward(torch.from_numpy(dout))
    assert rel_error(out, t_out.detach().numpy()) < 1e-9
    assert rel_error(dW, emb.weight.grad.numpy()) < 1e-9
    np.testing.assert_allclose(dW[3], dout[0, 1] + dout[0, 2] + dout[1, 0] + dout[1, 3])
    assert not dW[[2, 4]].any()


def test_word_embedding_keeps_dtype(rng):
    W = rng.standard_normal((5, 3)).astype(np.float32)
    out, cache = word_embedding_forward(np.array([[1, 2]]), W)
    assert out.dtype == np.float32
    assert word_embedding_backward(out, cache).dtype == np.float32


def _loss_inputs(rng, N=3, T=4, V=5):
    x = rng.standard_normal((N, T, V)) * 2
    y = rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) > 0.3
    mask[0, 0] = False
    return x, y, mask


def test_temporal_softmax_loss_matches_torch_cross_entropy(rng):
    x, y, mask = _loss_inputs(rng)
    N, T, V = x.shape
    loss, dx = temporal_softmax_loss(x, y, mask)

    tx = torch.from_numpy(x).requires_grad_(True)
    m = torch.from_numpy(mask)
    t_loss = F.cross_entropy(tx[m], torch.from_numpy(y)[m], reduction="sum") / N
    t_loss.backward()
    assert rel_error(loss, t_loss.item()) < 1e-9
    assert rel_error(dx, tx.grad.numpy()) < 1e-9

    num = eval_numerical_gradient(lambda _: temporal_softmax_loss(x, y, mask)[0], x)
    assert rel_error(num, dx) < 1e-7


def test_temporal_softmax_loss_ignores_masked_positions(rng):
    x, y, mask = _loss_inputs(rng)
    loss, dx = temporal_softmax_loss(x, y, mask)
    assert not dx[~mask].any()
    x2 = x.copy()
    x2[~mask] = rng.standard_normal(x2[~mask].shape) * 100  # anything at masked positions
    assert temporal_softmax_loss(x2, y, mask)[0] == pytest.approx(loss, rel=1e-12)


def test_temporal_softmax_loss_closed_form_for_uniform_scores():
    # all-equal scores: every unmasked position costs log V; the sum over time is averaged over the batch
    N, T, V = 2, 3, 7
    mask = np.array([[True, True, False], [True, False, False]])
    loss, _ = temporal_softmax_loss(np.zeros((N, T, V)), np.zeros((N, T), dtype=int), mask)
    assert loss == pytest.approx(3 * np.log(V) / N)


def test_temporal_softmax_loss_is_stable_for_huge_scores():
    x = np.array([[[1000.0, 0.0, -1000.0]]])
    loss, dx = temporal_softmax_loss(x, np.array([[1]]), np.array([[True]]))
    assert loss == pytest.approx(1000.0)
    assert np.isfinite(dx).all()
