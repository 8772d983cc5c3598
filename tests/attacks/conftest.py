"""Fixtures for the attack tests: the tiny ImageNet classifier as a Backbone (its own normalization inside), a
10-class version of it (DeepFool's torchattacks reference takes one backward pass per class), and images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.visualize.tiny_classifier import TinyImageNet
from vislab import backbones
from vislab.backbones.backbone import Backbone
from vislab.backbones.custom import IMAGENET_MEAN, IMAGENET_STD
from vislab.images import save_image

TINY = "tests.visualize.tiny_classifier:build"


def random_images(folder: Path, n: int) -> list[str]:
    """`n` random 40 px images img0.png ... in `folder` (made if needed), the same for every caller; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    for i in range(n):
        save_image(torch.rand((3, 40, 40), generator=g), folder / f"img{i}.png")
    return [str(folder / f"img{i}.png") for i in range(n)]


class FirstTen(nn.Module):
    """The tiny classifier's first 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.net = TinyImageNet()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, :10]


@pytest.fixture(scope="session")
def tiny() -> Backbone:
    return backbones.load(TINY)


@pytest.fixture(scope="session")
def tiny10() -> Backbone:
    return Backbone("tiny10", FirstTen(), None, None, tuple(f"class {i}" for i in range(10)), IMAGENET_MEAN,
                    IMAGENET_STD, input_size=32)


@pytest.fixture
def images() -> torch.Tensor:
    """16 random images on the 8-bit grid, 32 px."""
    g = torch.Generator().manual_seed(0)
    return torch.round(torch.rand((16, 3, 32, 32), generator=g) * 255) / 255
