"""Numbers that describe how a synthesized picture looks, for comparing it with a reference picture: how much
fine noise it has (`high_frequency`, `tv_per_pixel`) and how far its colours are from another's
(`colour_distance`). Used by quality/style.py and quality/texture.py; none of them is optimized.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """(3, H, W) Gaussian blur, reflect padding (separable)."""
    r = max(1, int(3 * sigma + 0.5))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=img.dtype, device=img.device) / sigma) ** 2 / 2)
    k = (k / k.sum()).to(img.device)
    x = F.pad(img[None], (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return x[0]


def high_frequency(img: torch.Tensor, sigma: float = 1.0) -> float:
    """Mean squared difference between a (3, H, W) image in [0, 1] and its Gaussian blur (`sigma` pixels): the
    energy of detail finer than a few pixels, per pixel and channel. Per-pixel noise raises it."""
    return float((img - _blur(img, sigma)).pow(2).mean())


def tv_per_pixel(img: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels (all channels, both directions)."""
    dh = (img[:, 1:, :] - img[:, :-1, :]).abs().mean()
    dw = (img[:, :, 1:] - img[:, :, :-1]).abs().mean()
    return float((dh + dw) / 2)


def colour_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to the RGB values of two (3, H, W) images (any sizes):
    0 for the same colour distribution; a mean shift of 0.1 in every channel gives 0.03."""
    ma, ca = _moments(a)
    mb, cb = _moments(b)
    # trace sqrt(ca cb) from the eigenvalues of ca cb (real and >= 0 for covariances), in float64.
    eig = torch.linalg.eigvals(ca @ cb).real.clamp_min(0)
    return float((ma - mb).pow(2).sum() + torch.trace(ca) + torch.trace(cb) - 2 * eig.sqrt().sum())


def _moments(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = img.reshape(3, -1).double()
    return x.mean(1), torch.cov(x)
