"""Carlini & Wagner's L2 attack (2017), without the binary search over `c` (as torchattacks' ``CW``).

Minimizes ``||x' - x||_2^2 + c * f(x')`` over ``x' = (tanh(w) + 1) / 2`` (so x' stays in [0, 1]) with Adam,
where ``f = max(Z_label - max_{i != label} Z_i, -kappa)`` (targeted: ``max(max_{i != t} Z_i - Z_t, -kappa)``),
and returns, per image, the successful iterate with the smallest L2 change (the clean image when none was).

The loop is torchattacks 3.5.1's, early abort included (the whole batch stops when its summed cost rose since
the last check, as in Carlini's code; so an image's result can depend on its batch), with one difference on
purpose: w starts at ``atanh((2x - 1)(1 - 1e-6))``: torchattacks' ``atanh(2x - 1)`` is infinite at pixels 0
and 1, which then never move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..backbones import Backbone
from .base import check_targets, fooled, logits_fn, prepare

OnStep = Callable[[int, int], None]
SHRINK = 1 - 1e-6


def margin_loss(logits: torch.Tensor, labels: torch.Tensor, kappa: float, targeted: bool, *,
                check: bool = True) -> torch.Tensor:
    """C&W's f per image: how far the label (target) still leads (trails) the best other class, floored at
    -kappa."""
    if check:
        check_targets(logits, labels)
    real = logits.gather(1, labels[:, None])[:, 0]
    other = logits.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
    return (other - real if targeted else real - other).clamp_min(-kappa)


def cw_l2(model: Backbone | nn.Module, images: torch.Tensor, labels: int | Sequence[int] | torch.Tensor, *,
          c: float = 1.0, kappa: float = 0.0, steps: int = 50, lr: float = 0.01, targeted: bool = False,
          abort_early: bool = True, on_step: OnStep | None = None,
          should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """The smallest-L2 adversarial found for each image (N, 3, H, W) in [0, 1] (the clean image if none).

    `abort_early`: every steps // 10 steps, stop when the batch's total cost went up since the last check (the
    rule of Carlini's code and torchattacks)."""
    x0, y = prepare(images, labels)
    forward = logits_fn(model)
    w = torch.atanh((x0 * 2 - 1) * SHRINK)
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    best, best_l2 = x0.clone(), torch.full((len(x0),), float("inf"), device=x0.device, dtype=x0.dtype)
    prev, every = float("inf"), max(steps // 10, 1)
    for k in range(steps):
        if should_stop is not None and should_stop():
            break
        w.requires_grad_(True)
        with torch.enable_grad():
            adv = (torch.tanh(w) + 1) / 2
            l2 = (adv - x0).flatten(1).pow(2).sum(dim=1)
            logits = forward(adv)
            cost = (l2 + c * margin_loss(logits, y, kappa, targeted, check=k == 0)).sum()
            (g,) = torch.autograd.grad(cost, w)
        with torch.no_grad():
            w = _adam_step(w.detach(), m, v, g, k + 1, lr)
            better = fooled(logits, y, targeted) & (l2 < best_l2)
            best_l2[better] = l2[better]
            best[better] = adv[better]
        if on_step is not None:
            on_step(k + 1, steps)
        if abort_early and k % every == 0:
            if cost.item() > prev:
                break
            prev = cost.item()
    return best.detach()


def _adam_step(w: torch.Tensor, m: torch.Tensor, v: torch.Tensor, g: torch.Tensor, t: int, lr: float) -> torch.Tensor:
    """torch.optim.Adam's update with its defaults (m and v in place). Written out: the first torch.optim step
    in a process costs seconds of one-time set-up, more than a whole attack on a small model."""
    b1, b2 = 0.9, 0.999
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v.sqrt() / (1 - b2**t) ** 0.5).add_(1e-8)
    return w.addcdiv(m, denom, value=-lr / (1 - b1**t))
