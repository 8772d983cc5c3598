"""One entry point over the saliency methods, for the CLI and the tour: a (N, H, W) map per image."""

from __future__ import annotations

import torch

from ..errors import ConfigError
from .classifier import Model
from .integrated_gradients import IntegratedGradients
from .saliency import Saliency, SmoothGrad, Target, channel_max

METHODS = ("vanilla", "smoothgrad", "ig")


def saliency_maps(model: Model, x: torch.Tensor, target: Target, method: str = "vanilla", *,
                  n_samples: int = 25, stdev: float = 0.15, n_steps: int = 32, ig_method: str = "adaptive",
                  internal_batch_size: int = 25, seed: int | None = None) -> torch.Tensor:
    """One (N, H, W) map per image for any of `METHODS` (integrated gradients reduced by `channel_max`)."""
    if method == "vanilla":
        return Saliency(model).attribute(x, target)
    if method == "smoothgrad":
        return SmoothGrad(model, n_samples=n_samples, stdev=stdev, internal_batch_size=internal_batch_size,
                          seed=seed).attribute(x, target)
    if method == "ig":
        ig = IntegratedGradients(model, n_steps=n_steps, method=ig_method,
                                 internal_batch_size=internal_batch_size)
        return channel_max(ig.attribute(x, target))
    raise ConfigError(f"unknown saliency method {method!r}: choose {', '.join(METHODS)}")
