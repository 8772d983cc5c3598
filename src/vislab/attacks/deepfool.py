"""DeepFool (Moosavi-Dezfooli et al., 2016): step to the nearest linearized decision boundary until the
prediction changes.

Each step, for the image's label l and each candidate class k: ``f'_k = Z_k - Z_l``, ``w'_k = grad Z_k -
grad Z_l``; the step goes to the closest boundary ``k* = argmin |f'_k| / ||w'_k||``, of length
``(1 + overshoot) |f'_k*| / ||w'_k*||`` along w'_k*, then clips to [0, 1]. Overshoot and clipping are
applied at every step, as torchattacks 3.5.1 does (the paper applies the overshoot to the total), so the
two agree step for step (tested). `candidates` limits the classes to the clean image's top ones (the paper
uses 10 for ImageNet: 10 backward passes per step instead of 1000); None takes every class, as torchattacks.
All images of a batch step together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..backbones import Backbone
from .base import check_targets, logits_fn, prepare
from .projection import TINY, clip01, per_image

OnStep = Callable[[int, int], None]


def deepfool(model: Backbone | nn.Module, images: torch.Tensor, labels: int | Sequence[int] | torch.Tensor, *,
             steps: int = 50, overshoot: float = 0.02, candidates: int | None = 10,
             on_step: OnStep | None = None, should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """Adversarial images (N, 3, H, W) in [0, 1]: each stops as soon as it is no longer classified as its
    label (an image misclassified from the start is returned unchanged)."""
    x0, y = prepare(images, labels)
    forward = logits_fn(model)
    x = x0.clone()
    with torch.no_grad():
        clean = forward(x0)
    check_targets(clean, y)
    cls = _candidates(clean, y, candidates)
    active = torch.arange(len(x0), device=x0.device)
    for k in range(steps):
        if not len(active) or (should_stop is not None and should_stop()):
            break
        pred, f, jac = _logits_and_jacobian(forward, x[active], cls[active])
        still = pred == y[active]
        active, f, jac = active[still], f[still], jac[still]
        if len(active):
            x[active] = clip01(x[active] + (1 + overshoot) * _step(f, jac)).detach()
        if on_step is not None:
            on_step(k + 1, steps)
    return x.detach()


def _candidates(clean: torch.Tensor, y: torch.Tensor, k: int | None) -> torch.Tensor:
    """(N, K) class indices per image: the label first, then the other candidates (top scores or all)."""
    n, c = clean.shape
    others = clean.scatter(1, y[:, None], float("-inf"))
    order = others.argsort(dim=1, descending=True, stable=True)[:, : c - 1]
    if k is None:  # every other class in index order, as torchattacks
        order = order.sort(dim=1).values
    else:
        order = order[:, : max(1, min(k, c) - 1)]
    return torch.cat([y[:, None], order], dim=1)


def _logits_and_jacobian(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                         cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The predictions (N,), the candidate logits (N, K) and their gradients (N, K, 3, H, W): one backward pass
    per candidate column for the whole batch (images do not interact, so the gradient of a sum is each image's
    own)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        full = forward(x)
        z = full.gather(1, cls)
        grads = [torch.autograd.grad(z[:, j].sum(), x, retain_graph=j + 1 < cls.shape[1])[0]
                 for j in range(cls.shape[1])]
    return full.detach().argmax(dim=1), z.detach(), torch.stack(grads, dim=1)


def _step(f: torch.Tensor, jac: torch.Tensor) -> torch.Tensor:
    """The step to the nearest linearized boundary among the candidates (before the overshoot)."""
    fp = f[:, 1:] - f[:, :1]  # (N, K-1)
    wp = jac[:, 1:] - jac[:, :1]  # (N, K-1, 3, H, W)
    wn = wp.flatten(2).norm(dim=2).clamp_min(TINY)
    best = (fp.abs() / wn).argmin(dim=1)
    rows = torch.arange(len(f), device=f.device)
    scale = fp[rows, best].abs() / wn[rows, best] ** 2
    return per_image(scale, wp[:, 0]) * wp[rows, best]
