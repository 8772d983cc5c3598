"""The objective: its terms recomputed directly from the backbone's features; blended styles; weights."""

from __future__ import annotations

import copy

import pytest
import torch

from vislab.errors import ConfigError
from vislab.style.losses import gram_matrix
from vislab.style.objective import Objective, relative_weights


def test_terms_are_relative_errors_weighted_as_documented(effnet, small_images):
    content, style, other = small_images
    layers_c, layers_s = ["block2"], ["stem", "block4"]
    obj = Objective(effnet, content=content, styles=[style], content_layers=layers_c, style_layers=layers_s,
                    style_layer_weights=[1.0, 3.0], content_weight=2.0, style_weight=10.0, tv_weight=0.5)
    t = obj(other)
    f_o = effnet.features(other, ["stem", "block2", "block4"])
    f_c = effnet.features(content, ["block2"])
    f_s = effnet.features(style, ["stem", "block4"])
    c = 2.0 * ((f_o["block2"] - f_c["block2"]) ** 2).sum() / (f_c["block2"] ** 2).sum()
    s = 0.0
    for layer, w in (("stem", 0.25), ("block4", 0.75)):
        a = gram_matrix(f_s[layer])
        s = s + 10.0 * w * ((gram_matrix(f_o[layer]) - a) ** 2).sum() / (a ** 2).sum()
    dh = (other[..., 1:, :] - other[..., :-1, :]) ** 2
    dw = (other[..., :, 1:] - other[..., :, :-1]) ** 2
    tv = 0.5 * (dh.sum() + dw.sum()) / other[0].numel()
    torch.testing.assert_close(t.content, c, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(t.style, s, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(t.tv, tv, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(t.total, c + s + tv, rtol=1e-4, atol=1e-6)
    # At the content image itself the content term is exactly zero.
    assert obj(content).content.item() == 0.0


def test_blended_styles_mix_gram_matrices(effnet, small_images):
    content, a, b = small_images
    obj = Objective(effnet, content=None, styles=[a, b], content_layers=[], style_layers=["block2"],
                    blend_weights=[3.0, 1.0])
    ga = gram_matrix(effnet.features(a, ["block2"])["block2"])
    gb = gram_matrix(effnet.features(b, ["block2"])["block2"])
    torch.testing.assert_close(obj.style_targets[0], 0.75 * ga + 0.25 * gb)
    assert obj.content_weight == 0.0 and obj(content).content.item() == 0.0


def test_gradient_of_the_objective_matches_finite_differences(effnet, small_images):
    bb = copy.deepcopy(effnet)
    bb.model.double()  # float64 so central differences are accurate
    content, style, _ = (t.double() for t in small_images)
    obj = Objective(bb, content=content, styles=[style], content_layers=["block2"],
                    style_layers=["stem", "block2"],
                    style_weight=5.0, tv_weight=1.0)
    x = (content * 0.5 + 0.25).clone().requires_grad_(True)
    obj(x).total.backward()
    g = torch.Generator().manual_seed(0)
    for _ in range(2):  # directional derivatives along random unit directions
        d = torch.randn(x.shape, generator=g, dtype=torch.float64)
        d /= d.norm()
        with torch.no_grad():
            numeric = (obj(x + 1e-5 * d).total - obj(x - 1e-5 * d).total) / 2e-5
        assert float((x.grad * d).sum()) == pytest.approx(float(numeric), rel=1e-5)


def test_relative_weights():
    assert relative_weights(None, 4, "--x") == [0.25] * 4
    assert relative_weights([1, 3], 2, "--x") == [0.25, 0.75]
    with pytest.raises(ConfigError, match="--x has 3 weight"):
        relative_weights([1, 2, 3], 2, "--x")
    with pytest.raises(ConfigError, match="are all zero"):
        relative_weights([0, 0], 2, "--x")
    with pytest.raises(ConfigError, match=">= 0"):
        relative_weights([1, -1], 2, "--x")
