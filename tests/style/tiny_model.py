"""A user's own model for ``--model tests.style.tiny_model:build``: two conv layers, fixed random weights."""

from __future__ import annotations

import torch
from torch import nn


class TwoConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 4)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(h.mean(dim=(2, 3)))


def build() -> dict:
    return {"model": TwoConv(), "classes": ["a", "b", "c", "d"], "input_size": 32}
