"""Model shapes and the exact parameter counts the course states."""

import numpy as np
import pytest
import torch

from vislab.gan import build_dc_classifier, build_dc_generator, discriminator, generator, sample_noise
from vislab.gan.models import build_pair, count_params


def test_parameter_counts_match_the_course():
    assert count_params(discriminator()) == 267_009
    assert count_params(generator(4)) == 1_858_320
    assert count_params(build_dc_classifier()) == 1_102_721
    assert count_params(build_dc_generator(4)) == 6_580_801


def test_sample_noise_is_uniform_in_range_and_seedable():
    z = sample_noise(4000, 8, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 8)
    assert z.min() >= -1 and z.max() < 1
    assert abs(float(z.mean())) < 0.02 and abs(float(z.var()) - 1 / 3) < 0.02  # U(-1, 1): mean 0, var 1/3
    z2 = sample_noise(4000, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, z2)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_pairs_map_noise_to_flat_images_and_images_to_one_logit(arch):
    torch.manual_seed(0)
    G, D = build_pair(arch, 16)
    x = G(sample_noise(5, 16))
    assert x.shape == (5, 784)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert D(x).shape == (5, 1)
    # any batch size works (the course's Unflatten fixes it; ours infers it)
    assert build_dc_classifier(batch_size=128)(torch.zeros(3, 784)).shape == (3, 1)


def test_spectral_norm_bounds_each_layer_by_one():
    torch.manual_seed(0)
    D = build_pair("mlp", 8, spectral_norm=True)[1]
    for _ in range(30):  # one power iteration per training-mode forward
        D(torch.randn(4, 784))
    D.eval()
    layers = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    for m in layers:
        sigma = np.linalg.norm(m.weight.detach().double().numpy(), 2)  # largest singular value
        assert sigma == pytest.approx(1.0, abs=0.05)
    assert len(layers) == 3 and count_params(D) == count_params(discriminator())
    dc = build_pair("dcgan", 8, spectral_norm=True)[1]
    assert sum(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in dc.modules()) == 4
