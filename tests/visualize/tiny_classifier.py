"""Tiny classifiers for ``--model tests.visualize.tiny_classifier:NAME``: jobs run end to end in milliseconds
with the ImageNet class names (1000 outputs), and broken "user models" for the bad-input tests."""

from __future__ import annotations

import torch
from torch import nn


class TinyImageNet(nn.Module):
    """One strided conv, global average pooling, a linear layer to 1000 classes; fixed random weights."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 7, stride=4)
        self.fc = nn.Linear(8, 1000)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(self.conv(x)).mean(dim=(2, 3)))


def build() -> nn.Module:
    return TinyImageNet()


class _Scalar(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum()


class _Ten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)).repeat(1, 4)[:, :10]


def raises() -> nn.Module:
    raise RuntimeError("no weights today")


def scalar() -> nn.Module:
    return _Scalar()


def ten_outputs() -> nn.Module:
    return _Ten()


def mismatched() -> dict:
    return {"model": _Ten(), "classes": ["cat", "dog"]}
