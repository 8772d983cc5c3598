"""Faithfulness scores against closed forms, scipy and quantus (where quantus implements the same metric)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vislab.visualize.faithfulness import (
    auc,
    deletion,
    impute,
    insertion,
    parameter_layers,
    probabilities,
    randomized,
    reveal_curve,
    road,
    spearman,
)


class MeanOfRed(nn.Module):
    """Two classes with p(class 0) = the mean red value m: logits (log m, log(1 - m)) (a closed form)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x[:, 0].mean(dim=(1, 2))
        return torch.stack([m.log(), (1 - m).log()], dim=1)


def _image(seed: int = 0, side: int = 8) -> torch.Tensor:
    return torch.rand(3, side, side, generator=torch.Generator().manual_seed(seed)) * 0.9 + 0.05


def test_deletion_curve_and_auc_are_the_closed_form():
    x, net = _image(), MeanOfRed()
    red = x[0].double().flatten().numpy()
    for saliency, expect_order in ((x[0], np.sort(red)[::-1]), (-x[0], np.sort(red))):
        curve = deletion(net, x, saliency, 0, steps=16)  # 64 pixels: 4 per step
        removed = np.concatenate([[0], np.cumsum(expect_order)[3::4]])
        want = (red.sum() - removed) / 64
        np.testing.assert_allclose(curve.double().numpy(), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(auc(curve), np.trapezoid(want, dx=1 / 16), rtol=1e-5)
    best = auc(deletion(net, x, x[0], 0))
    # A random ranking from its own generator: the global one may hold the image's own seed (a test run in another
    # order drew the same numbers, and the 'random' map ranked the pixels exactly as the best one does).
    random_map = torch.rand(8, 8, generator=torch.Generator().manual_seed(12345))
    assert best < auc(deletion(net, x, random_map, 0)) < auc(deletion(net, x, -x[0], 0))


def test_insertion_starts_blurred_and_ends_at_the_image():
    x, net = _image(1, 16), MeanOfRed()
    curve = insertion(net, x, x[0], 0, steps=8, sigma=2.0)
    assert curve.shape == (9,)
    torch.testing.assert_close(curve[-1], net(x[None]).softmax(1)[0, 0])
    assert auc(insertion(net, x, x[0], 0)) > auc(insertion(net, x, -x[0], 0))


def test_uneven_steps_end_with_every_pixel_revealed():
    x = _image(2, 7)  # 49 pixels in 5 steps of 10
    curve = reveal_curve(MeanOfRed(), x, torch.zeros_like(x), torch.rand(7, 7), 0, steps=5)
    assert curve.shape == (6,) and float(curve[-1]) == 0.0


def test_imputation_solves_the_neighbour_mean_equations():
    x = _image(3, 10).double()
    removed = torch.zeros(10, 10, dtype=torch.bool)
    removed[2:6, 3:8] = True
    removed[0, 0] = removed[9, 4] = True  # a corner and an edge: fewer neighbours
    out = impute(x, removed, noise=0.0)
    assert torch.equal(out[:, ~removed], x[:, ~removed])
    padded = torch.nn.functional.pad(out, (1, 1, 1, 1))
    ones = torch.nn.functional.pad(torch.ones(1, 10, 10, dtype=x.dtype), (1, 1, 1, 1))
    k = torch.tensor([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]], dtype=x.dtype)
    conv = lambda t: torch.nn.functional.conv2d(t[:, None], k[None, None])[:, 0]  # noqa: E731
    mean = conv(padded) / conv(ones)
    torch.testing.assert_close(out[:, removed], mean[:, removed])


def test_imputation_of_large_holes_solves_the_equations_like_a_general_solver():
    """ROAD's 80 % holes: the symmetric-mode factorization (no pivoting) equals scipy's general spsolve (the solver
    it replaced) and still satisfies the neighbour-mean equations."""
    from scipy.sparse.linalg import spsolve

    import vislab.visualize.faithfulness as fa

    g = torch.Generator().manual_seed(9)
    x = torch.rand(3, 40, 40, generator=g).double()
    blob = torch.nn.functional.interpolate(torch.rand(1, 1, 5, 5, generator=g), size=(40, 40), mode="bilinear")[0, 0]
    removed = (blob >= blob.flatten().kthvalue(round(0.2 * 1600)).values)  # the top 80 %: one large hole
    out = impute(x, removed, noise=0.0)

    class General:  # the old implementation's solve, through the same system
        def __init__(self, a, **_):
            self.a = a

        def solve(self, rhs):
            return spsolve(self.a, rhs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("scipy.sparse.linalg.splu", General)
        ref = fa.impute(x, removed, noise=0.0)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    k = torch.tensor([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]], dtype=x.dtype)
    conv = lambda t: torch.nn.functional.conv2d(torch.nn.functional.pad(t, (1, 1, 1, 1))[:, None], k[None, None])  # noqa: E731
    mean = conv(out)[:, 0] / conv(torch.ones(1, 40, 40, dtype=x.dtype))[:, 0]
    torch.testing.assert_close(out[:, removed], mean[:, removed])


def test_probabilities_equal_the_plain_forward_in_any_layout():
    """The channels-last speed-up gives the plain forward's softmax; a model that reshapes with .view (refusing
    that layout) still works."""
    from tests.visualize.tiny_classifier import TinyImageNet

    images = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(10))
    conv = TinyImageNet().eval()
    with torch.no_grad():
        want = conv(images).softmax(1)[:, 7]
    torch.testing.assert_close(probabilities(conv, images, 7, batch_size=2), want, rtol=1e-5, atol=1e-6)

    class Flat(nn.Module):
        def forward(self, x):
            return x.view(len(x), -1)[:, :10] * 3.0

    with torch.no_grad():
        want = Flat()(images).softmax(1)[:, 2]
    torch.testing.assert_close(probabilities(Flat(), images, 2, batch_size=3), want)


def test_imputation_equals_quantus():
    pf = pytest.importorskip("quantus.functions.perturb_func")
    x = _image(4, 9).double()
    removed = torch.rand(9, 9, generator=torch.Generator().manual_seed(5)) < 0.4
    ref = pf.noisy_linear_imputation(x.numpy().copy(), np.flatnonzero(removed.numpy()), noise=0.0)
    torch.testing.assert_close(impute(x, removed, noise=0.0), torch.from_numpy(np.asarray(ref)).reshape(3, 9, 9))


def test_deletion_curve_equals_quantus_pixel_flipping():
    quantus = pytest.importorskip("quantus")
    # quantus flips single values of the flattened (C, H, W) input: with one channel those are pixels, as here
    x, net = _image(6)[:1], MeanOfRed().eval()
    sal = torch.rand(8, 8, generator=torch.Generator().manual_seed(7))
    metric = quantus.PixelFlipping(features_in_step=4, perturb_baseline=0.0, normalise=False, abs=False,
                                   disable_warnings=True, display_progressbar=False)
    ref = metric(model=net, x_batch=x[None].numpy(), y_batch=np.array([0]), a_batch=sal[None, None].numpy(),
                 softmax=True, device="cpu", channel_first=True)
    ours = deletion(net, x, sal, 0, steps=16)
    np.testing.assert_allclose(ours[1:].numpy(), np.asarray(ref[0]), rtol=1e-5, atol=1e-6)


def test_road_removes_the_salient_pixels_first():
    x, net = _image(8, 12), MeanOfRed()
    x[0, :6] = 0.95  # a bright top half: the salient part
    sal = x[0].clone()
    morf = road(net, x, sal, 0, (0.25, 0.5), noise=0.0)
    lerf = road(net, x, sal, 0, (0.25, 0.5), most_relevant_first=False, noise=0.0)
    assert (morf < lerf).all()


def test_spearman_equals_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    a = torch.tensor([0.0, 0.0, 1.0, 3.0, 2.0, 2.0, 5.0, 0.0])
    b = torch.tensor([1.0, 2.0, 3.0, 4.0, 4.0, 0.0, 9.0, 1.0])
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a.numpy(), b.numpy()).statistic, abs=1e-12)
    assert spearman(a, a) == pytest.approx(1.0) and spearman(a, -a) == pytest.approx(-1.0)


def test_randomization_resets_the_top_layers_only():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    layers = parameter_layers(net)
    assert layers == [net[0], net[2], net[4]]
    r = randomized(net, 2, seed=1)
    assert torch.equal(r[0].weight, net[0].weight)
    assert not torch.equal(r[2].weight, net[2].weight) and not torch.equal(r[4].weight, net[4].weight)
    assert torch.equal(randomized(net, 2, seed=1)[4].weight, r[4].weight)  # seeded
