"""The look measures of quality/style.py and quality/texture.py against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from vislab.style.measures import colour_distance, high_frequency, tv_per_pixel


def test_high_frequency_of_white_noise_is_its_variance_times_the_filter_energy():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 256, 256, generator=g)  # iid, variance 1/12
    r = 3  # the blur's radius for sigma 1
    k = torch.tensor([math.exp(-(i / 1.0) ** 2 / 2) for i in range(-r, r + 1)], dtype=torch.float64)
    k2 = torch.outer(k / k.sum(), k / k.sum())
    delta = torch.zeros_like(k2)
    delta[r, r] = 1
    expected = (1 / 12) * float(((delta - k2) ** 2).sum())  # E[(x - k*x)^2] for iid x
    assert high_frequency(x) == pytest.approx(expected, rel=0.03)
    assert high_frequency(torch.full((3, 32, 32), 0.4)) == pytest.approx(0, abs=1e-12)


def test_tv_per_pixel_matches_loops():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 5, 7, generator=g)
    dh = sum(abs(float(x[c, i + 1, j] - x[c, i, j])) for c in range(3) for i in range(4) for j in range(7)) / 84
    dw = sum(abs(float(x[c, i, j + 1] - x[c, i, j])) for c in range(3) for i in range(5) for j in range(6)) / 90
    assert tv_per_pixel(x) == pytest.approx((dh + dw) / 2, rel=1e-5)


def test_colour_distance_is_zero_for_the_same_colours_and_the_squared_mean_shift_otherwise():
    g = torch.Generator().manual_seed(2)
    a = torch.rand(3, 40, 50, generator=g) * 0.5
    assert colour_distance(a, a) == pytest.approx(0, abs=1e-9)
    assert colour_distance(a, a.flip(-1)) == pytest.approx(0, abs=1e-9)  # pixel order does not matter
    assert colour_distance(a, a + 0.1) == pytest.approx(3 * 0.1 ** 2, rel=1e-4)
    assert colour_distance(a, a * 2) > colour_distance(a, a * 1.5) > 0  # wider spread, further
