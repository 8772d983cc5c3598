"""Integrated-gradients baselines: each one against captum's IntegratedGradients with the same baseline, the
baselines themselves against scipy / torch's generator, and the job's progress during the path."""

from __future__ import annotations

import captum.attr as ca
import numpy as np
import pytest
import scipy.ndimage
import torch

from vislab.errors import ConfigError
from vislab.images import resize
from vislab.jobs import SettingError
from vislab.visualize import IntegratedGradients, saliency_job
from vislab.visualize.baselines import BASELINES, BLUR_SIGMA, DEFAULT_BASELINE, make_baselines
from vislab.visualize.settings import SaliencySettings

from .test_contract import TINY, Recorder


def _captum_average(model, x, target, bases, n_steps, method="gausslegendre"):
    """captum's IG from each baseline, averaged: the definition of IG over several baselines."""
    ig = ca.IntegratedGradients(model)
    return torch.stack([ig.attribute(x, baselines=b, target=target, n_steps=n_steps, method=method)
                        for b in bases]).mean(0)


@pytest.mark.parametrize("kind, samples", [("black", 1), ("blur", 1), ("uniform", 1), ("uniform", 3)])
def test_each_baseline_matches_captum(smooth, kind, samples):
    x = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([2, 5])
    ours = IntegratedGradients(smooth, n_steps=9, internal_batch_size=4, baseline=kind, baseline_samples=samples,
                               seed=7).attribute(x, targets)
    bases = make_baselines(x, kind, samples, generator=torch.Generator().manual_seed(7))
    ref = _captum_average(smooth, x, targets, bases, 9)
    assert ref.abs().max() > 1e-3
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5)
    # A list of baseline tensors given to `attribute` is the same average.
    listed = IntegratedGradients(smooth, n_steps=9).attribute(x, targets, bases)
    torch.testing.assert_close(listed, ref, atol=1e-6, rtol=1e-5)


def test_default_baseline_matches_captum_on_the_real_backbone(bb, photos):
    x = resize(photos[:1], 96)  # a smaller view keeps the test quick; the network is the real one
    ours = IntegratedGradients(bb, n_steps=8, internal_batch_size=8, baseline=DEFAULT_BASELINE).attribute(x, 281)
    (base,) = make_baselines(x, DEFAULT_BASELINE)
    ref = ca.IntegratedGradients(bb).attribute(x, baselines=base, target=281, n_steps=8, method="gausslegendre")
    assert ref.abs().max() > 1e-3
    torch.testing.assert_close(ours, ref, atol=1e-5 * float(ref.abs().max()), rtol=0)


def test_adaptive_ig_over_averaged_baselines_is_complete(smooth):
    # Completeness of the average: the attributions sum to s(x) - mean_k s(b_k), the forward passes' own numbers.
    x = torch.rand(3, 3, 10, 10, generator=torch.Generator().manual_seed(2))
    ig = IntegratedGradients(smooth, n_steps=6, method="adaptive", tol=1e-4, max_steps=600, baseline="uniform",
                             baseline_samples=4, seed=0)
    attr, delta = ig.attribute(x, 1, return_convergence_delta=True)
    bases = make_baselines(x, "uniform", 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gap = smooth(x)[:, 1] - torch.stack([smooth(b)[:, 1] for b in bases]).mean(0)
    assert gap.abs().min() > 0.02  # not trivially zero
    torch.testing.assert_close(attr.flatten(1).sum(1), gap, atol=2e-4 * float(gap.abs().max()), rtol=0)
    torch.testing.assert_close(delta, attr.flatten(1).sum(1) - gap, atol=1e-5, rtol=0)
    assert all(n >= 4 * 6 for n in ig.steps_used)  # every path was integrated


def test_make_baselines_against_scipy_and_the_generator():
    x = torch.rand(2, 3, 40, 50, dtype=torch.float64)
    (blur,) = make_baselines(x, "blur")
    sigma = BLUR_SIGMA * 40  # a fraction of the shorter side
    ref = scipy.ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma), mode="mirror", truncate=4.0)
    np.testing.assert_allclose(blur.numpy(), ref, atol=1e-12)
    (black,) = make_baselines(x, "black")
    assert torch.equal(black, torch.zeros_like(x))
    draws = make_baselines(x, "uniform", 3, generator=torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(4)
    for d in draws:
        torch.testing.assert_close(d, torch.rand(x.shape, generator=g).double())
    assert not torch.equal(draws[0], draws[1])
    with pytest.raises(ConfigError, match="random baselines"):
        make_baselines(x, "blur", 2)
    with pytest.raises(ConfigError, match="unknown baseline"):
        make_baselines(x, "white")
    assert set(BASELINES) >= {"black", "blur", "uniform"}


def test_baseline_settings_are_checked():
    SaliencySettings(images=["a.png"], method="ig", baseline="uniform", baseline_samples=5).validate()
    with pytest.raises(SettingError, match="baseline_samples"):
        SaliencySettings(images=["a.png"], baseline="blur", baseline_samples=2).validate()
    with pytest.raises(SettingError, match="baseline"):
        SaliencySettings(images=["a.png"], baseline="white").validate()


def test_progress_moves_during_integrated_gradients(tmp_path):
    rec = Recorder()
    settings = SaliencySettings(images=["sample:coffee", "sample:chelsea"], model=TINY, device="cpu", method="ig",
                                steps=8, max_steps=64, batch_size=4, tol=0.0)
    result = saliency_job.run(settings, tmp_path / "run", progress=rec)
    assert result.status == "ok"
    budget = settings.max_steps * settings.baseline_samples
    assert rec.steps == sorted(set(rec.steps)) and rec.steps[-1] == rec.calls[-1][1] == 2 * budget
    # tol 0 refines to the budget: the bar advances once per batch of gradients, not once per image.
    first = [s for s in rec.steps if s <= budget]
    assert len(first) >= budget // settings.batch_size
    assert result.rows[0]["ig_steps"] <= budget
