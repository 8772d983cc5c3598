"""A tiny fixed-weight CNN used as ``--model tests.captioning.tiny_backbone:build`` so tests extract image
features in milliseconds instead of running EfficientNet."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)  # fixed weights, independent of the global RNG
        self.conv = nn.Conv2d(3, 16, 5, stride=4)
        self.head = nn.Linear(16 * 4, 3)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        return self.head(nn.functional.adaptive_avg_pool2d(h, 2).flatten(1))


def build() -> dict:
    return {"model": TinyNet(), "classes": ["a", "b", "c"], "input_size": 32}
