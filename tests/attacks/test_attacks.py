"""The attacks' own behaviour beyond torchattacks parity: budgets and the [0, 1] box hold, seeds decide the random
starts, restarts keep first successes, early stopping leaves fooled images alone, DeepFool's top-k candidates, and
adversarials that stay adversarial as 8-bit PNGs."""

from __future__ import annotations

import pytest
import torch

from vislab.attacks import cw_l2, deepfool, fgsm, pgd, quantize, to_8bit
from vislab.attacks.base import fooled
from vislab.errors import ClassNameError, ImageError


def _pred(model, x):
    with torch.no_grad():
        return model(x).argmax(dim=1)


@pytest.mark.parametrize("norm, eps", [("linf", 3 / 255), ("l2", 0.2)])
@pytest.mark.parametrize("early_stop", [False, True])
def test_pgd_stays_in_the_ball_and_the_box(tiny, images, norm, eps, early_stop):
    x = images.clone()
    x[:, :, :4] = 0.0  # pixels at the box's edges: the clipping matters
    x[:, :, -4:] = 1.0
    adv = pgd(tiny, x, _pred(tiny, x), eps=eps, steps=4, norm=norm, restarts=2, seed=1, early_stop=early_stop)
    d = (adv - x).flatten(1)
    size = d.abs().amax(dim=1) if norm == "linf" else d.norm(dim=1)
    assert size.max() <= eps * (1 + 1e-5) and size.max() > eps / 2
    assert adv.min() >= 0 and adv.max() <= 1
    assert adv.device == x.device and adv.dtype == x.dtype


def test_random_starts_follow_the_seed(tiny, images):
    y = _pred(tiny, images)
    a = pgd(tiny, images, y, eps=2 / 255, steps=2, seed=5)
    assert torch.equal(a, pgd(tiny, images, y, eps=2 / 255, steps=2, seed=5))
    assert not torch.equal(a, pgd(tiny, images, y, eps=2 / 255, steps=2, seed=6))


def test_restarts_keep_the_first_success_and_retry_the_rest(tiny, images):
    y = _pred(tiny, images)
    kw = {"eps": 0.5 / 255, "alpha": 0.25 / 255, "steps": 2, "seed": 0}
    once = pgd(tiny, images, y, **kw)
    thrice = pgd(tiny, images, y, restarts=3, **kw)
    hit = fooled(tiny(once), y, False)
    assert 0 < hit.sum() < len(y)  # measured: 7 of 16
    assert torch.equal(thrice[hit], once[hit])  # restart 0 is the single run; its successes are kept
    assert not torch.equal(thrice[~hit], once[~hit])  # the others were attacked again from new starts
    assert fooled(tiny(thrice), y, False).sum() >= hit.sum()


def test_early_stop_leaves_images_that_are_already_fooled_alone(tiny, images):
    y = _pred(tiny, images)
    wrong = (y + 1) % 1000  # "labels" every image already disagrees with: each counts as fooled at step 0
    adv = pgd(tiny, images, wrong, eps=4 / 255, steps=3, random_init=False, early_stop=True)
    assert torch.equal(adv, images)
    full = pgd(tiny, images, wrong, eps=4 / 255, steps=3, random_init=False)
    assert not torch.equal(full, images)


def test_targeted_fgsm_moves_down_the_targets_cross_entropy(tiny, images):
    """A closed-form check of the direction: one step along -sign(grad CE(target)) (torch autograd reference)."""
    t = torch.full((len(images),), 3)
    x = images.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(tiny(x), t).backward()
    expect = (images - 1 / 255 * x.grad.sign()).clamp(0, 1)
    torch.testing.assert_close(fgsm(tiny, images, t, eps=1 / 255, targeted=True), expect, atol=1e-6, rtol=0)


def test_deepfool_candidates(tiny, tiny10, images):
    """All classes as candidates, however ordered, is the same attack; the paper's top 10 of 1000 classes fools
    every image with small changes (10 backward passes a step instead of 1000)."""
    y10 = _pred(tiny10, images)
    torch.testing.assert_close(deepfool(tiny10, images, y10, steps=5, candidates=10),
                               deepfool(tiny10, images, y10, steps=5, candidates=None), atol=1e-6, rtol=0)
    y = _pred(tiny, images)
    top = deepfool(tiny, images, y, steps=10, candidates=10)
    assert fooled(tiny(top), y, False).all()
    assert (top - images).flatten(1).norm(dim=1).max() < 0.5  # measured: at most 0.24


def test_minimal_attacks_stay_adversarial_after_8bit_rounding(tiny, images):
    """DeepFool stops just past the boundary: plain rounding undoes 15 of its 16 successes here (measured), the
    rounding chosen by `to_8bit` none, and the result is on the 8-bit grid."""
    y = _pred(tiny, images)
    adv = deepfool(tiny, images, y, steps=10)
    hit = fooled(tiny(adv), y, False)
    assert hit.all()
    assert fooled(tiny(quantize(adv)), y, False).sum() < len(y) // 2  # the problem is real
    q, ok = to_8bit(tiny.logits, adv, images, y, targeted=False)
    assert ok.all() and fooled(tiny(q), y, False).all()
    assert torch.equal(q, torch.round(q * 255) / 255)


def test_8bit_rounding_keeps_a_whole_level_budget(tiny, images):
    y = _pred(tiny, images)
    eps = 2 / 255
    adv = pgd(tiny, images, y, eps=eps, steps=3, early_stop=True, seed=0)  # early stop: iterates inside the box
    q, ok = to_8bit(tiny.logits, adv, images, y, targeted=False, eps=eps)
    assert (q - images).abs().max() <= eps + 1e-6
    assert ok.tolist() == fooled(tiny(adv), y, False).tolist()


def test_cw_returns_the_clean_image_when_it_finds_nothing(tiny, images):
    y = _pred(tiny, images[:2])
    adv = cw_l2(tiny, images[:2], y, c=1e-6, steps=3)  # c this small: the L2 term wins, nothing is fooled
    assert torch.equal(adv, images[:2])


def test_bad_inputs_are_vislab_errors(tiny, images):
    with pytest.raises(ImageError):
        pgd(tiny, images[:, :1], 0, eps=0.1)
    with pytest.raises(ClassNameError):
        fgsm(tiny, images, 1000, eps=0.1)
    with pytest.raises(ClassNameError):
        pgd(tiny, images, [1, 2], eps=0.1)
