"""The "model" the visualization methods take: a `Backbone` or a plain ``nn.Module``.

Both are used the same way: images in [0, 1], shape (N, 3, H, W), in; unnormalized class scores (N, C) out.
A Backbone normalizes inside (`Backbone.logits`); a plain module gets the [0, 1] pixels as they are, so a
cs231n-style model that expects normalized input should be wrapped by its owner. Parameters are never touched:
gradients are taken with ``torch.autograd.grad`` with respect to the pixels only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..backbones import Backbone
from ..errors import ClassNameError, ImageError

Model = Backbone | nn.Module


def scores_fn(model: Model) -> Callable[[torch.Tensor], torch.Tensor]:
    """images in [0, 1] -> logits (N, C)."""
    if isinstance(model, Backbone):
        return model.logits
    if isinstance(model, nn.Module):
        return model
    raise TypeError(f"expected a vislab Backbone or a torch nn.Module, got {type(model).__name__}")


def model_device(model: Model) -> torch.device:
    if isinstance(model, Backbone):
        return model.device
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def as_batch(images: torch.Tensor, what: str = "images") -> torch.Tensor:
    """(3, H, W) or (N, 3, H, W) float images -> (N, 3, H, W); anything else raises ImageError."""
    if not isinstance(images, torch.Tensor):
        raise ImageError(f"{what}: expected a tensor, got {type(images).__name__}")
    x = images[None] if images.dim() == 3 else images
    if x.dim() != 4 or x.shape[1] != 3:
        raise ImageError(f"{what}: expected RGB images (N, 3, H, W), got shape {tuple(images.shape)}")
    if not x.is_floating_point():
        raise ImageError(f"{what}: expected float pixels in [0, 1], got dtype {x.dtype}")
    return x


def as_targets(target: int | Sequence[int] | torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    """One class index per image: an int is used for every image, a sequence/tensor must have length `n`."""
    t = torch.as_tensor(target, dtype=torch.long, device=device).flatten()
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ClassNameError(f"got {t.numel()} target classes for {n} images")
    return t


def check_targets(scores: torch.Tensor, targets: torch.Tensor) -> None:
    """Targets must index the model's outputs (a model without class names is only checked here)."""
    c = scores.shape[-1]
    bad = targets[(targets < 0) | (targets >= c)]
    if bad.numel():
        raise ClassNameError(f"class index {int(bad[0])} is out of range: this model has classes 0..{c - 1}")


def target_scores(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """scores[i, targets[i]] for every row."""
    check_targets(scores, targets)
    return scores.gather(1, targets[:, None])[:, 0]
