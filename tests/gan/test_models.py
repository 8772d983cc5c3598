"""Model shapes and the exact parameter counts the course states."""

import numpy as np
import pytest
import torch
from torch import nn

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


def _course_order_dc_classifier() -> nn.Sequential:
    """The discriminator exactly as the course writes it: conv, LeakyReLU, then max-pool."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 64, 1024), nn.LeakyReLU(0.01),
        nn.Linear(1024, 1),
    )


def test_pool_before_leaky_relu_is_the_course_discriminator_bitwise():
    torch.manual_seed(0)
    ours = build_dc_classifier()
    course = _course_order_dc_classifier()
    course.load_state_dict(ours.state_dict())  # same keys: the swap moved only parameter-free layers
    x = (torch.rand(16, 784) * 2 - 1).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    dy = torch.randn(16, 1)
    y, y2 = ours(x), course(x2)
    y.backward(dy)
    y2.backward(dy)
    assert torch.equal(y, y2) and torch.equal(x.grad, x2.grad)
    for (name, p), p2 in zip(ours.named_parameters(), course.parameters()):
        assert torch.equal(p.grad, p2.grad), name
