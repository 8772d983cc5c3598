"""FGSM (Goodfellow et al., 2015): one step of size `eps` along the sign of the loss gradient."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..backbones import Backbone
from .base import input_grad, logits_fn, prepare
from .projection import clip01


def fgsm(model: Backbone | nn.Module, images: torch.Tensor, labels: int | Sequence[int] | torch.Tensor, *,
         eps: float, targeted: bool = False) -> torch.Tensor:
    """Adversarial images ``clip(x + eps * sign(grad))`` (targeted: down the target's cross-entropy).

    `images` (N, 3, H, W) in [0, 1]; `eps` in [0, 1] pixel units (8/255 is "8 levels"); `labels` are the true
    classes, or the targets when `targeted`."""
    x0, y = prepare(images, labels)
    g = input_grad(logits_fn(model), x0, y, targeted)
    return clip01(x0 + eps * g.sign()).detach().contiguous()  # g may come back channels-last
