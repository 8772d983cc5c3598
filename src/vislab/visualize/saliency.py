"""Gradient attributions: which pixels move the class score.

- `Saliency` (Simonyan et al., 2014): |d s_y / d x|, max over colour channels -> (N, H, W).
- `SmoothGrad` (Smilkov et al., 2017): the same, averaged over noisy copies of the image -> (N, H, W).
- `IntegratedGradients` (in `integrated_gradients.py`).

`.attribute(x, target)` works like captum's; x is images in [0, 1]; the model is a `Backbone` or a plain
nn.Module (see `classifier`). Noisy copies are pushed through the network `internal_batch_size` at a time,
so memory stays bounded however many samples are asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import ConfigError
from .classifier import Model, as_batch, as_targets, model_device, scores_fn, target_scores

Target = int | Sequence[int] | torch.Tensor


def gradients(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
              targets: torch.Tensor) -> torch.Tensor:
    """d scores[i, targets[i]] / d x[i] for every image of the batch (the images do not interact in eval mode,
    so one backward pass of the summed target scores gives every image's own gradient)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        s = target_scores(forward(x), targets)
        (g,) = torch.autograd.grad(s.sum(), x)
    return g


@dataclass
class Explanation:
    """What `explain` returns for a batch: one (H, W) map per image, and per-image numbers about how it was made
    (empty for the plain gradient methods)."""

    maps: torch.Tensor  # (N, H, W)
    numbers: list[dict[str, float]] = field(default_factory=list)


def channel_max(attributions: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, H, W): the largest absolute value over the colour channels (the paper's
    reduction)."""
    return attributions.abs().amax(dim=1)


class Saliency:
    """Vanilla gradient saliency: ``Saliency(model).attribute(x, target) -> (N, H, W)``."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.forward = scores_fn(model)

    def attribute(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x).to(model_device(self.model))
        return channel_max(gradients(self.forward, x, as_targets(target, len(x), x.device)))

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        maps = self.attribute(x, target)
        return Explanation(maps, [{} for _ in maps])


def compute_saliency_maps(X: torch.Tensor, y: Target, model: Model) -> torch.Tensor:
    """The classic cs231n function: saliency maps (N, H, W) of images X for classes y."""
    return Saliency(model).attribute(X, y)


class SmoothGrad:
    """Saliency averaged over `n_samples` noisy copies: max_c mean_k |grad s_y(x + e_k)|, e_k ~ N(0, stdev^2).

    `stdev` is in pixel units (images span [0, 1], so 0.15 is the paper's "10-20% of the range"). With a
    `seed` the noise for image i is the next (n_samples, 3, H, W) draw of a CPU generator seeded once per
    call, so maps are reproducible on any device and do not depend on `internal_batch_size`.
    """

    def __init__(self, model: Model, *, n_samples: int = 25, stdev: float = 0.15,
                 internal_batch_size: int = 25, seed: int | None = None) -> None:
        if n_samples < 1 or internal_batch_size < 1 or stdev < 0:
            raise ConfigError("SmoothGrad needs n_samples >= 1, internal_batch_size >= 1 and stdev >= 0, "
                              f"got {n_samples}, {internal_batch_size}, {stdev}")
        self.model, self.forward = model, scores_fn(model)
        self.n_samples, self.stdev, self.seed = n_samples, stdev, seed
        self.internal_batch_size = internal_batch_size

    def attribute(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x).to(model_device(self.model))
        targets = as_targets(target, len(x), x.device)
        gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        out = []
        for xi, ti in zip(x, targets):
            noise = torch.randn((self.n_samples, *xi.shape), generator=gen).to(x.device) * self.stdev
            total = torch.zeros_like(xi)
            for start in range(0, self.n_samples, self.internal_batch_size):
                e = noise[start:start + self.internal_batch_size]
                total += gradients(self.forward, xi + e, ti.expand(len(e))).abs().sum(dim=0)
            out.append((total / self.n_samples).amax(dim=0))
        return torch.stack(out)

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        maps = self.attribute(x, target)
        return Explanation(maps, [{} for _ in maps])
