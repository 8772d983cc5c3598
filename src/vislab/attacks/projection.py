"""Projections onto the L-inf / L2 balls around the clean images and the [0, 1] box, and random starts.

All in [0, 1] pixel units, per image, on the inputs' device."""

from __future__ import annotations

import torch

TINY = 1e-12  # guards divisions by a norm that can be zero (a zero gradient, an unchanged image)


def clip01(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(0, 1)


def norms(d: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-image L-inf or L2 norm of a batch of perturbations (N,)."""
    flat = d.flatten(1)
    return flat.abs().amax(dim=1) if norm == "linf" else flat.norm(dim=1)


def per_image(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N,) -> (N, 1, 1, 1) to scale each image of `like`."""
    return v.view(-1, *([1] * (like.dim() - 1)))


def project(x: torch.Tensor, x0: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """The point of the `eps`-ball around `x0` (then the [0, 1] box) nearest to `x` (L-inf: exact; L2: the
    radial scaling every PGD implementation uses)."""
    d = x - x0
    if norm == "linf":
        d = d.clamp(-eps, eps)
    else:
        n = norms(d, "l2")
        d = d * per_image(torch.clamp(eps / n.clamp_min(TINY), max=1.0), d)
    return clip01(x0 + d)


def normalize_l2(g: torch.Tensor, eps_div: float = 1e-10) -> torch.Tensor:
    """Each image's gradient scaled to unit L2 length."""
    return g / per_image(g.flatten(1).norm(dim=1) + eps_div, g)


def random_start(x0: torch.Tensor, eps: float, norm: str, gen: torch.Generator | None) -> torch.Tensor:
    """A uniform point of the L-inf box, or (L2) a random direction with a uniform radius in [0, eps] (the
    starts torchattacks and Madry et al. use), clipped to [0, 1]."""
    if norm == "linf":
        d = (torch.rand(x0.shape, generator=gen, device=x0.device, dtype=x0.dtype) * 2 - 1) * eps
    else:
        d = torch.randn(x0.shape, generator=gen, device=x0.device, dtype=x0.dtype)
        r = torch.rand(len(x0), generator=gen, device=x0.device, dtype=x0.dtype)
        d = d * per_image(r * eps / d.flatten(1).norm(dim=1).clamp_min(TINY), d)
    return clip01(x0 + d)
