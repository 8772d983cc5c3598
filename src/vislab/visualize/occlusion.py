"""Occlusion sensitivity (Zeiler & Fergus, 2014): how much the class score drops when a square of the image is
covered with gray.

A `window` x `window` patch slides over the image `stride` pixels at a time (the last row and column of patches
may be cut off by the image border, so every pixel is covered); each pixel's value is the mean score drop over
the patches that cover it. This is captum's `Occlusion` with ``sliding_window_shapes=(3, window, window)``,
``strides=(3, stride, stride)`` and a gray baseline (tests/visualize/test_cam_parity.py). The map keeps the sign
(`attribute`); `explain` shows the drops only (covering a patch that argues against the class raises the score).
"""

from __future__ import annotations

import math

import torch

from ..errors import ConfigError
from .classifier import Model, as_batch, as_targets, model_device, scores_fn, target_scores
from .saliency import Explanation, Target

GRAY = 0.5  # the patch's pixel value, mid-range of [0, 1]


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Top (or left) edges of the patches along one side: 0, stride, ... until the image's end is covered."""
    return [i * stride for i in range(math.ceil((size - window) / stride) + 1)]


class Occlusion:
    """``attribute(x, target)`` -> (N, H, W): mean drop of the target score over the gray patches covering each
    pixel; `batch_size` occluded images per forward pass."""

    def __init__(self, model: Model, *, window: int = 32, stride: int = 16, batch_size: int = 16,
                 value: float = GRAY) -> None:
        if window < 1 or stride < 1 or batch_size < 1:
            raise ConfigError(f"occlusion needs window, stride and batch_size of at least 1, got {window}, {stride}, "
                              f"{batch_size}")
        if stride > window:
            raise ConfigError(f"occlusion stride ({stride}) must not exceed the window ({window}): pixels between "
                              "patches would never be covered")
        self.model, self.forward = model, scores_fn(model)
        self.window, self.stride, self.batch_size, self.value = window, stride, batch_size, value

    def boxes(self, height: int, width: int) -> list[tuple[int, int]]:
        if self.window > min(height, width):
            raise ConfigError(f"occlusion window ({self.window} px) is larger than the image ({height}x{width})")
        return [(top, left) for top in window_starts(height, self.window, self.stride)
                for left in window_starts(width, self.window, self.stride)]

    def attribute(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x).to(model_device(self.model))
        targets = as_targets(target, len(x), x.device)
        return torch.stack([self._one(xi, ti) for xi, ti in zip(x, targets)])

    def _one(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        (_, h, w), k = x.shape, self.window
        boxes = self.boxes(h, w)
        total, count = x.new_zeros(h, w), x.new_zeros(h, w)
        with torch.no_grad():
            base = target_scores(self.forward(x[None]), target[None])[0]
            for start in range(0, len(boxes), self.batch_size):
                chunk = boxes[start:start + self.batch_size]
                batch = x.expand(len(chunk), -1, -1, -1).clone()
                for j, (top, left) in enumerate(chunk):
                    batch[j, :, top:top + k, left:left + k] = self.value
                drops = base - target_scores(self.forward(batch), target.expand(len(chunk)))
                for (top, left), d in zip(chunk, drops):
                    total[top:top + k, left:left + k] += d
                    count[top:top + k, left:left + k] += 1
        return total / count

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        maps = self.attribute(x, target).clamp(min=0)
        return Explanation(maps, [{} for _ in maps])


__all__ = ["Occlusion", "window_starts", "GRAY"]
