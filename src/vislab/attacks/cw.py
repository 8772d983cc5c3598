"""Carlini & Wagner's L2 attack (2017), without the binary search over `c` (as torchattacks' ``CW``).

Minimizes ``||x' - x||_2^2 + c * f(x')`` over ``x' = (tanh(w) + 1) / 2`` (so x' stays in [0, 1]) with Adam,
where ``f = max(Z_label - max_{i != label} Z_i, -kappa)`` (targeted: ``max(max_{i != t} Z_i - Z_t, -kappa)``),
and returns, per image, the successful iterate with the smallest L2 change (the clean image when none was).

Differences from torchattacks 3.5.1, on purpose: every image runs all `steps` unless `abort_early` (torchattacks
stops the whole batch when the batch's summed cost rises, so one image's result depends on the others, and
its changes come out as large or larger: tests/attacks/test_parity.py); and w starts at
``atanh((2x - 1)(1 - 1e-6))`` (torchattacks' ``atanh(2x - 1)`` is infinite at pixels 0 and 1, which then
never move). Adam's update is torch's, written out so that aborted images stop moving.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..backbones import Backbone
from .base import check_targets, fooled, logits_fn, prepare

OnStep = Callable[[int, int], None]
BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, as torchattacks uses
SHRINK = 1 - 1e-6


def margin_loss(logits: torch.Tensor, labels: torch.Tensor, kappa: float, targeted: bool) -> torch.Tensor:
    """C&W's f per image: how far the label (target) still leads (trails) the best other class, floored at
    -kappa."""
    check_targets(logits, labels)
    real = logits.gather(1, labels[:, None])[:, 0]
    other = logits.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
    return (other - real if targeted else real - other).clamp_min(-kappa)


def cw_l2(model: Backbone | nn.Module, images: torch.Tensor, labels: int | Sequence[int] | torch.Tensor, *,
          c: float = 1.0, kappa: float = 0.0, steps: int = 50, lr: float = 0.01, targeted: bool = False,
          abort_early: bool = False, on_step: OnStep | None = None,
          should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """The smallest-L2 adversarial found for each image (N, 3, H, W) in [0, 1] (the clean image if none).

    `abort_early`: every steps // 10 steps, an image whose smallest adversarial did not shrink since the last
    check stops (faster; measured on the tiny test model, the changes found are then up to 1.8x larger, as
    an image that crossed back over the boundary stops before it finds a closer adversarial)."""
    x0, y = prepare(images, labels)
    forward = logits_fn(model)
    w = torch.atanh((x0 * 2 - 1) * SHRINK)
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    best, best_l2 = x0.clone(), torch.full((len(x0),), float("inf"), device=x0.device, dtype=x0.dtype)
    prev = torch.full_like(best_l2, float("inf"))
    active = torch.arange(len(x0), device=x0.device)
    every = max(steps // 10, 1)
    for k in range(steps):
        if not len(active) or (should_stop is not None and should_stop()):
            break
        wa = w[active].requires_grad_(True)
        with torch.enable_grad():
            adv = (torch.tanh(wa) + 1) / 2
            l2 = (adv - x0[active]).flatten(1).pow(2).sum(dim=1)
            logits = forward(adv)
            cost = l2 + c * margin_loss(logits, y[active], kappa, targeted)
            (g,) = torch.autograd.grad(cost.sum(), wa)
        with torch.no_grad():
            _adam(w, m, v, g, active, k + 1, lr)
            better = fooled(logits, y[active], targeted) & (l2 < best_l2[active])
            best_l2[active[better]] = l2[better]
            best[active[better]] = adv[better].detach()
            if abort_early and k % every == 0:
                # an image stops once it has an adversarial that the last interval did not shrink
                stalled = torch.isfinite(best_l2[active]) & (best_l2[active] >= prev[active])
                prev[active] = best_l2[active]
                active = active[~stalled]
        if on_step is not None:
            on_step(k + 1, steps)
    return best.detach()


def _adam(w: torch.Tensor, m: torch.Tensor, v: torch.Tensor, g: torch.Tensor, idx: torch.Tensor, t: int,
          lr: float) -> None:
    """torch.optim.Adam's step (defaults, no weight decay) on the rows `idx` of w, in place."""
    b1, b2 = BETAS
    m[idx] = m[idx] * b1 + g * (1 - b1)
    v[idx] = v[idx] * b2 + g * g * (1 - b2)
    denom = (v[idx] / (1 - b2**t)).sqrt() + ADAM_EPS
    w[idx] = w[idx] - lr / (1 - b1**t) * m[idx] / denom
