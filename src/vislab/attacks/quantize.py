"""Adversarial images that stay adversarial as 8-bit PNGs.

A saved PNG rounds every value to k/255, which can undo a perturbation of a fraction of a level (or push an
L2 perturbation past its budget). `to_8bit` tries three roundings of each image's perturbation - nearest,
away from the clean image (the change only grows, so the attack usually gets stronger), towards it (always
inside any budget) - and keeps, per image, the first that is still adversarial and inside the budget. The clean
images must be on the 8-bit grid themselves (loaded PNGs are; `quantize` a resized view first): then with an
L-inf budget of whole levels every rounding stays inside it.
"""

from __future__ import annotations

import math

import torch

from .base import Logits, fooled
from .projection import norms

BUDGET_SLACK = 1e-6  # float noise when comparing a norm with its budget


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit levels k/255 a PNG holds (the rounding of `images.to_uint8`)."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def roundings(adv: torch.Tensor, x0: torch.Tensor) -> list[torch.Tensor]:
    """The perturbation `adv - x0` rounded to whole levels: nearest, away from x0, towards x0."""
    d = (adv - x0) * 255
    mag = d.abs()
    away = torch.ceil(mag - 1e-4)  # a change a hair above a whole level is float noise, not another level
    return [quantize(adv), quantize(x0 + d.sign() * away / 255), quantize(x0 + d.sign() * torch.floor(mag) / 255)]


def to_8bit(forward: Logits, adv: torch.Tensor, x0: torch.Tensor, labels: torch.Tensor, *, targeted: bool,
            eps: float = math.inf, norm: str = "linf") -> tuple[torch.Tensor, torch.Tensor]:
    """The 8-bit version of each adversarial image, and whether it is adversarial (N,).

    Per image the first rounding (nearest, away, towards) that is adversarial and within `eps` (`norm`, [0, 1]
    units); if none is, the first within the budget (towards x0 always is)."""
    chosen = roundings(adv, x0)[-1].clone()
    ok = torch.zeros(len(adv), dtype=torch.bool, device=adv.device)
    settled = torch.zeros_like(ok)
    with torch.no_grad():
        for q in roundings(adv, x0):
            inside = norms(q - x0, norm) <= eps + BUDGET_SLACK
            good = inside & fooled(forward(q), labels, targeted) & ~ok
            chosen[good], ok = q[good], ok | good
            plain = inside & ~settled & ~ok  # the fallback: the first rounding inside the budget
            chosen[plain], settled = q[plain], settled | inside
    return chosen, ok
