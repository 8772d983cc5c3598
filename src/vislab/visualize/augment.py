"""Image transforms used while synthesizing images: jitter, Gaussian blur, random scale/rotate/shift.

Random transforms during optimization keep it from settling on pixel-exact adversarial patterns: what survives
small shifts, zooms and rotations is structure the network really responds to (Mordvintsev et al., 2015;
Olah et al., "Feature Visualization", 2017).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def jitter(img: torch.Tensor, ox: int, oy: int) -> torch.Tensor:
    """Roll the image `ox` pixels right and `oy` down, wrapping around (cs231n's jitter); -ox, -oy undoes
    it."""
    return torch.roll(img, shifts=(oy, ox), dims=(-2, -1))


def gaussian_kernel1d(sigma: float, radius: int | None = None) -> torch.Tensor:
    """Normalized 1-D Gaussian, radius int(4 sigma + 0.5) like scipy.ndimage's default truncation."""
    r = int(4.0 * sigma + 0.5) if radius is None else radius
    # device: cpu-ok (kernel moved to the image at use)
    x = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (3, H, W) or (N, 3, H, W), mirrored at the borders (scipy's "mirror")."""
    if sigma <= 0:
        return img
    x = img[None] if img.dim() == 3 else img
    n, c, h, w = x.shape
    # Reflection needs the pad to be smaller than the side, so tiny images get a truncated kernel.
    r = min(int(4.0 * sigma + 0.5), h - 1, w - 1)
    if r < 1:
        return img
    k = gaussian_kernel1d(sigma, r).to(device=x.device, dtype=x.dtype)
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    y = y.reshape(n, c, h, w)
    return y if img.dim() == 4 else y[0]


def affine(img: torch.Tensor, scale: torch.Tensor, angle_deg: torch.Tensor,
           shift_px: torch.Tensor) -> torch.Tensor:
    """Zoom by `scale` (N,), turn counter-clockwise by `angle_deg` (N,) about the centre and shift by
    `shift_px` (N, 2) = (dx, dy) pixels, in one differentiable bilinear resampling; outside pixels are
    mirrored in."""
    n, _, h, w = img.shape
    a = angle_deg.to(img) * math.pi / 180
    cos, sin = torch.cos(a) / scale.to(img), torch.sin(a) / scale.to(img)
    # affine_grid maps output coordinates in [-1, 1] to input coordinates; a pixel shift d is 2d/size there.
    tx = -2 * shift_px[:, 0].to(img) / w
    ty = -2 * shift_px[:, 1].to(img) / h
    theta = torch.stack([torch.stack([cos, -sin * h / w, tx], 1), torch.stack([sin * w / h, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, [n, 3, h, w], align_corners=False)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def random_affine(img: torch.Tensor, *, scale: tuple[float, float] = (0.9, 1.1), degrees: float = 10.0,
                  shift: int = 16, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random zoom in `scale`, rotation in +-`degrees` and shift in +-`shift` pixels for each image."""
    n = img.shape[0]
    # device: cpu-ok (seeded CPU draw; affine moves it .to(img))
    r = torch.rand((n, 4), generator=generator)
    s = scale[0] + (scale[1] - scale[0]) * r[:, 0]
    ang = degrees * (2 * r[:, 1] - 1)
    sh = torch.round(shift * (2 * r[:, 2:] - 1))
    return affine(img, s, ang, sh)
