"""Fooling images: the classic step rule in closed form, the L-inf budget, and a real attack that survives
PNG."""

from __future__ import annotations

import pytest
import torch

from vislab.backbones.predict import classify
from vislab.errors import ClassNameError, ConfigError
from vislab.images import load_image, save_image
from vislab.visualize import make_fooling_image


def test_one_step_is_the_normalized_gradient_step(linear):
    x0 = torch.rand(2, 3, 8, 8) * 0.5 + 0.25  # far enough from 0 and 1 that no pixel is clamped
    y = torch.tensor([3, 1])
    res = make_fooling_image(x0, y, linear, lr=0.7, max_iters=1, margin=1e9, quantized=False)
    w = linear.W.detach()[y]
    expect = x0 + 0.7 * w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    torch.testing.assert_close(res.image, expect)
    assert res.iterations == [1, 1]  # a 1e9-logit margin is never reached, so both images take the one step
    d = (expect - x0).flatten(1)  # changes are reported in [0, 1] pixel units
    assert res.l2 == pytest.approx(d.norm(dim=1).tolist(), rel=1e-5)
    assert res.l2 == pytest.approx([0.7] * 2, rel=1e-5)
    assert res.linf == pytest.approx(d.abs().amax(dim=1).tolist(), rel=1e-5)


def test_stops_when_the_target_leads_and_respects_range_and_linf_budget(linear):
    g = torch.Generator().manual_seed(0)
    x0 = torch.round(torch.rand((3, 3, 8, 8), generator=g) * 255) / 255  # on the 8-bit grid, like a PNG
    with torch.no_grad():
        y = linear(x0).argmin(dim=1)  # the least likely class of each image
    eps = 40 / 255
    res = make_fooling_image(x0, y, linear, lr=0.05, max_iters=100, linf=eps)
    img = res.image
    assert img.min() >= 0 and img.max() <= 1
    assert torch.equal(img, torch.round(img * 255) / 255)  # on the 8-bit grid
    assert (img - x0).abs().max() <= eps + 1e-6
    assert max(res.linf) == pytest.approx(eps, abs=1e-5)  # the budget binds
    # This budget fools some images, not all. Deterministic, and far from a tie: at 1 and 2 threads the fooled
    # images stop after 42 and 24 of 100 steps, and the other ends 7.2 logits behind its runner-up.
    assert any(res.success) and not all(res.success)
    with torch.no_grad():
        after = linear(img).argmax(dim=1)
    for i in range(3):
        assert res.success[i] == (int(after[i]) == int(y[i]))
        assert (res.iterations[i] < 100) == res.success[i]  # a fooled image stops, the others use every step
    # Without a budget every image is fooled, each stopping on its own.
    res = make_fooling_image(x0, y, linear, lr=0.05, max_iters=300)
    assert all(res.success) and len(set(res.iterations)) > 1 and max(res.iterations) < 300
    with torch.no_grad():
        assert (linear(res.image).argmax(1) == y).all()


def test_fooling_a_photo_survives_saving_as_png_and_reloading(bb, tmp_path):
    img = load_image("sample:chelsea")  # 300 x 451: the attack goes through the classifier's resize + crop
    target = bb.class_index("tarantula")
    res = make_fooling_image(img, target, bb, lr=0.25, max_iters=100)
    # Measured at 1 and 2 threads: fooled after 24 of the 100 steps (stingray 21, goldfish 18), changing no
    # pixel by more than 13 levels.
    assert res.success == [True] and 1 <= res.iterations[0] <= 100
    assert res.image.shape == (1, 3, 300, 451)
    assert res.before_class[0] == classify(bb, [img], topk=1)[0][0].index != target
    save_image(res.image[0], tmp_path / "fooling.png")
    top = classify(bb, [load_image(tmp_path / "fooling.png")], topk=1)[0][0]
    assert top.index == target
    assert top.prob == pytest.approx(res.after_prob[0], abs=1e-4)
    assert res.linf[0] < 64 / 255 and res.l2[0] > 0


def test_an_image_already_classified_as_the_target_is_left_alone(bb, photos):
    x = photos[1:]  # on the 8-bit grid already (a loaded photo at its natural size)
    pred = int(bb(x).argmax())
    res = make_fooling_image(torch.round(x * 255) / 255, pred, bb)
    assert res.success == [True] and res.iterations == [0] and res.l2 == [0.0]


def test_bad_settings_raise_vislab_errors(linear):
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ClassNameError, match="out of range"):
        make_fooling_image(x, 9, linear)
    with pytest.raises(ConfigError, match="L-inf"):
        make_fooling_image(x, 1, linear, linf=4.0)
    with pytest.raises(ConfigError, match="lr"):
        make_fooling_image(x, 1, linear, lr=0)
