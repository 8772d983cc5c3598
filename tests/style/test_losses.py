"""The classic losses against direct formulas (numpy loops / einsum), their gradients against closed forms and
finite differences, and the Gram matrix's normalization and batch handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vislab.style.losses import content_loss, gram_matrix, style_loss, tv_loss


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_content_loss_is_weighted_sum_of_squares_and_gradient_is_closed_form():
    cur, orig = rand(1, 4, 5, 6, seed=1).requires_grad_(True), rand(1, 4, 5, 6, seed=2)
    loss = content_loss(0.7, cur, orig)
    a, b = cur.detach().numpy(), orig.numpy()
    direct = 0.7 * sum((a.flat[i] - b.flat[i]) ** 2 for i in range(a.size))
    assert loss.item() == pytest.approx(direct, rel=1e-12)
    loss.backward()
    torch.testing.assert_close(cur.grad, 2 * 0.7 * (cur.detach() - orig))
    x = cur.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: content_loss(0.3, x, orig), (x,))


def test_gram_matrix_matches_loops_and_is_normalized_by_chw():
    f = rand(2, 3, 4, 5, seed=3)
    g = gram_matrix(f, normalize=False)
    a = f.numpy()
    loops = np.zeros((2, 3, 3))
    for n in range(2):
        for c in range(3):
            for d in range(3):
                loops[n, c, d] = sum(a[n, c, h, w] * a[n, d, h, w] for h in range(4) for w in range(5))
    np.testing.assert_allclose(g.numpy(), loops, rtol=1e-12)
    torch.testing.assert_close(gram_matrix(f), g / (3 * 4 * 5))
    assert g.shape == (2, 3, 3)
    torch.testing.assert_close(g, g.transpose(1, 2))  # symmetric


def test_gram_matrix_batch_items_are_independent():
    f = rand(3, 5, 6, 7, seed=4)
    batched = gram_matrix(f)
    for n in range(3):
        torch.testing.assert_close(batched[n:n + 1], gram_matrix(f[n:n + 1]))


def test_normalized_gram_does_not_grow_with_image_size():
    # Tiling a feature map 2x2 repeats every position 4 times: the raw Gram grows 4x, the normalized one not.
    f = rand(1, 4, 3, 5, seed=5)
    tiled = f.repeat(1, 1, 2, 2)
    torch.testing.assert_close(gram_matrix(tiled), gram_matrix(f))
    torch.testing.assert_close(gram_matrix(tiled, normalize=False), 4 * gram_matrix(f, normalize=False))


def test_style_loss_matches_direct_formula_with_list_and_dict_features():
    feats = [rand(1, 3, 4, 4, seed=10), rand(1, 5, 3, 3, seed=11), rand(1, 6, 2, 2, seed=12)]
    layers, weights = [0, 2], [0.5, 2.0]
    targets = [gram_matrix(rand(1, 3, 6, 6, seed=13)), gram_matrix(rand(1, 6, 5, 5, seed=14))]
    expected = 0.0
    for layer, t, w in zip(layers, targets, weights):
        a = feats[layer].numpy().reshape(feats[layer].shape[1], -1)
        gram = a @ a.T / a.size
        expected += w * ((gram - t[0].numpy()) ** 2).sum()
    assert style_loss(feats, layers, targets, weights).item() == pytest.approx(expected, rel=1e-12)
    named = {"a": feats[0], "b": feats[1], "c": feats[2]}
    assert style_loss(named, ["a", "c"], targets, weights).item() == pytest.approx(expected, rel=1e-12)


def test_style_loss_gradient_is_closed_form_and_passes_gradcheck():
    f = rand(1, 4, 3, 5, seed=20).requires_grad_(True)
    target = gram_matrix(rand(1, 4, 6, 6, seed=21))
    w = 1.5
    style_loss([f], [0], [target], [w]).backward()
    # L = w ||G - A||^2 with G = F F^T / (CHW), F (C, HW)  =>  dL/dF = 4 w (G - A) F / (CHW)
    F = f.detach().reshape(4, 15)
    G = F @ F.T / 60
    expected = (4 * w * (G - target[0]) @ F / 60).reshape(1, 4, 3, 5)
    torch.testing.assert_close(f.grad, expected)
    x = f.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: style_loss([x], [0], [target], [w]), (x,))


def test_style_loss_compares_a_batch_with_one_target():
    f = rand(2, 3, 4, 4, seed=30)
    target = gram_matrix(rand(1, 3, 5, 5, seed=31))
    both = style_loss([f], [0], [target], [1.0])
    each = sum(style_loss([f[i:i + 1]], [0], [target], [1.0]) for i in range(2))
    torch.testing.assert_close(both, each)


def test_style_loss_needs_one_target_and_weight_per_layer():
    f = rand(1, 3, 4, 4)
    with pytest.raises(ValueError):
        style_loss([f], [0], [gram_matrix(f)], [1.0, 2.0])


def test_tv_loss_matches_loops_and_gradcheck():
    img = rand(2, 3, 4, 5, seed=40)
    a = img.numpy()
    direct = 0.0
    for n in range(2):
        for c in range(3):
            for h in range(4):
                for w in range(5):
                    if h + 1 < 4:
                        direct += (a[n, c, h + 1, w] - a[n, c, h, w]) ** 2
                    if w + 1 < 5:
                        direct += (a[n, c, h, w + 1] - a[n, c, h, w]) ** 2
    assert tv_loss(img, 0.25).item() == pytest.approx(0.25 * direct, rel=1e-12)
    assert tv_loss(torch.full((1, 3, 4, 4), 0.3, dtype=torch.float64), 1.0).item() == 0.0
    assert torch.autograd.gradcheck(lambda x: tv_loss(x, 0.5), (img[:1].clone().requires_grad_(True),))
