"""Parity with torchattacks 3.5.1 on the same model (the tiny classifier behind ImageNet normalization, given to
torchattacks as `PixelModel`, an nn.Module on [0, 1] images - what torchattacks expects), budget, steps and seed:
the same perturbation where the algorithm is deterministic (FGSM, PGD without random start, DeepFool), the same
success rate where it is random (PGD's random start) or stops differently (CW). torchattacks imports neither
torchvision nor anything missing here, so no stub is needed."""

from __future__ import annotations

import pytest
import torch

from vislab.attacks import PixelModel, cw_l2, deepfool, fgsm, pgd

torchattacks = pytest.importorskip("torchattacks")


def _labels(model, x):
    with torch.no_grad():
        return model(x).argmax(dim=1)


def _rate(model, adv, y, targeted=False):
    with torch.no_grad():
        pred = model(adv).argmax(dim=1)
    return float((pred == y).float().mean() if targeted else (pred != y).float().mean())


def test_fgsm_is_torchattacks_fgsm(tiny, images):
    m = PixelModel(tiny)
    y = _labels(m, images)
    ours = fgsm(tiny, images, y, eps=2 / 255)
    ref = torchattacks.FGSM(m, eps=2 / 255)(images, y)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)
    assert 0 < _rate(m, ours, y) < 1  # a budget where the attack matters for some images, not all


@pytest.mark.parametrize("norm, eps, alpha", [("linf", 2 / 255, 0.5 / 255), ("l2", 0.3, 0.1)])
@pytest.mark.parametrize("targeted", [False, True])
def test_pgd_without_random_start_is_torchattacks_pgd(tiny, images, norm, eps, alpha, targeted):
    m = PixelModel(tiny)
    y = _labels(m, images)
    y = (y + 7) % 1000 if targeted else y
    ours = pgd(tiny, images, y, eps=eps, alpha=alpha, steps=5, norm=norm, targeted=targeted, random_init=False)
    cls = torchattacks.PGD if norm == "linf" else torchattacks.PGDL2
    atk = cls(m, eps=eps, alpha=alpha, steps=5, random_start=False)
    if targeted:
        atk.set_mode_targeted_by_label(quiet=True)
    ref = atk(images, y)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)
    d = (ours - images).flatten(1)
    moved = d.abs().amax(dim=1) if norm == "linf" else d.norm(dim=1)
    assert moved.max() > eps / 2  # the attack moved


def test_pgd_with_random_start_fools_as_many_as_torchattacks(tiny, images):
    """Seeds 0-2: at 0.5/255 both fool 7 of the 16 images at every seed (measured)."""
    m = PixelModel(tiny)
    y = _labels(m, images)
    for seed in range(3):
        torch.manual_seed(seed)
        ref = torchattacks.PGD(m, eps=0.5 / 255, alpha=0.125 / 255, steps=5, random_start=True)(images, y)
        ours = pgd(tiny, images, y, eps=0.5 / 255, alpha=0.125 / 255, steps=5, seed=seed)
        assert abs(_rate(m, ours, y) - _rate(m, ref, y)) <= 1 / 16
        assert 0 < _rate(m, ours, y) < 1
        assert (ours - images).abs().max() <= 0.5 / 255 + 1e-7


def test_deepfool_is_torchattacks_deepfool(tiny10, images):
    """Every class as a candidate, as torchattacks (10 classes: its Jacobian is one backward pass per class)."""
    m = PixelModel(tiny10)
    y = _labels(m, images)
    ours = deepfool(tiny10, images, y, steps=5, overshoot=0.02, candidates=None)
    ref = torchattacks.DeepFool(m, steps=5, overshoot=0.02)(images, y)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    assert _rate(m, ours, y) > 0.5


def test_cw_fools_as_many_as_torchattacks_with_the_same_changes(tiny10, images):
    """The same loop but for pixels at 0 or 1 (torchattacks starts them at atanh(+-1) = inf, where they stay; ours
    move): c = 1 on the 10-class model, both fool every image, mean L2 change 0.1622 (ours) vs 0.1621 (measured;
    at c = 0.1 both fool 8 of 16, 0.130 vs 0.128)."""
    m = PixelModel(tiny10)
    y = _labels(m, images)
    ours = cw_l2(tiny10, images, y, c=1.0, steps=30, lr=0.01)
    ref = torchattacks.CW(m, c=1.0, steps=30, lr=0.01)(images, y)
    assert _rate(m, ours, y) == _rate(m, ref, y) == 1.0
    l2 = (ours - images).flatten(1).norm(dim=1).mean()
    l2_ref = (ref - images).flatten(1).norm(dim=1).mean()
    assert float(l2) == pytest.approx(float(l2_ref), rel=0.05)


def test_pixel_model_stays_in_eval_mode_through_torchattacks(images):
    """torchattacks restores the module's mode after each attack; a PixelModel must come back in eval mode, or a
    BatchNorm network would switch to batch statistics and drift (the first bench run measured exactly that)."""
    from torch import nn

    from vislab.backbones.backbone import Backbone
    from vislab.backbones.custom import IMAGENET_MEAN, IMAGENET_STD

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    with torch.no_grad():
        net[1].running_mean.fill_(0.3)
    bb = Backbone("bn", net, None, None, tuple(map(str, range(10))), IMAGENET_MEAN, IMAGENET_STD, input_size=32)
    m = PixelModel(bb)
    m.train()
    assert not m.training and not net.training
    y = _labels(m, images[:4])
    torchattacks.PGD(m, eps=2 / 255, alpha=1 / 255, steps=2)(images[:4], y)
    assert not net.training and torch.equal(net[1].running_mean, torch.full((4,), 0.3))
    torch.testing.assert_close(fgsm(bb, images[:4], y, eps=2 / 255),
                               torchattacks.FGSM(m, eps=2 / 255)(images[:4], y), atol=1e-6, rtol=0)
