"""Fixtures for the visualization tests: the real default backbone, photos in its view, and tiny models whose
gradients have closed forms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vislab import backbones
from vislab.images import load_image


@pytest.fixture(scope="session")
def bb() -> backbones.Backbone:
    return backbones.load("efficientnet_lite0")


@pytest.fixture(scope="session")
def photos(bb) -> torch.Tensor:
    """Two offline sample photos (a cat, a coffee cup) as the backbone's (2, 3, 224, 224) view."""
    return torch.cat([bb.prepare(load_image(f"sample:{n}")) for n in ("chelsea", "coffee")])


class Linear(nn.Module):
    """scores = W . vec(x) + b: the gradient of class y is W[y] everywhere (a closed form)."""

    def __init__(self, size: int = 8, classes: int = 5, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn((classes, 3, size, size), generator=g))
        self.b = nn.Parameter(torch.randn(classes, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("kchw,nchw->nk", self.W, x) + self.b


class SmoothNet(nn.Module):
    """A small smooth (tanh) conv net: its path integrals converge fast, so quadrature rules can be
    compared."""

    def __init__(self, classes: int = 6, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():  # seeded weights without touching the global generator
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(2 * self.conv(x)).mean(dim=(2, 3))) * 3


@pytest.fixture
def linear() -> Linear:
    return Linear()


@pytest.fixture
def smooth() -> SmoothNet:
    return SmoothNet()
