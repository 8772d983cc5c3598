"""Fixtures for the style tests: the real default backbone and small offline photos (small: fast tests)."""

from __future__ import annotations

import pytest
import torch

from vislab import backbones
from vislab.images import load_image, resize


@pytest.fixture(scope="session")
def effnet() -> backbones.Backbone:
    return backbones.load("efficientnet_lite0")


@pytest.fixture(scope="session")
def small_images() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three different offline sample photos as (1, 3, 48, 64) batches: content, style, and a third."""
    names = ("chelsea", "hubble_deep_field", "coffee")
    return tuple(resize(load_image(f"sample:{n}"), (48, 64))[None] for n in names)
