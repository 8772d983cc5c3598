"""The images a job reads, and the sizes it optimizes them at: everything here fails before any work starts.

An image is refused when it is not a regular file (a FIFO would block the reader forever), when it cannot be
decoded, when a side is under `MIN_SIDE` pixels, or when the requested size would squeeze its shorter side
under `MIN_SIDE` (a 16x3000 strip at 256 px is 1 px high: the CNN sees nothing and SSIM has no window).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import ImageError
from ..images import load_image, resize
from ..jobs import SettingError
from .settings import MIN_SIZE, scale_sizes

MIN_SIDE = 8
"""Smallest image side (pixels) read or optimized: SSIM's 7-pixel window, and a CNN's first strides."""


def read_image(spec: str) -> torch.Tensor:
    """An input image (3, H, W) in [0, 1] from a file or ``sample:NAME``; `ImageError` naming it otherwise."""
    img = load_image(spec)  # refuses FIFOs and other non-regular files before opening them
    h, w = img.shape[-2:]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{spec}: image is {w}x{h} px; each side must be at least {MIN_SIDE} px")
    return img


def fitted_hw(hw: Sequence[int], longer: int) -> tuple[int, int]:
    """(H, W) scaled so the longer side is `longer`, aspect ratio kept."""
    h, w = hw[-2:]
    s = longer / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def fit(img: torch.Tensor, longer: int) -> torch.Tensor:
    """(3, H, W) -> (1, 3, h, w) with the longer side `longer`, aspect ratio kept."""
    return resize(img, fitted_hw(img.shape, longer))[None]


def style_side(size: int, style_scale: float) -> int:
    """The style images' longer side when the output's is `size`."""
    return max(MIN_SIZE, round(size * style_scale))


def check_sizes(image_size: int, scales: int, style_scale: float | None, *, shape: Sequence[int] | None,
                styles: Sequence[tuple[str, Sequence[int]]] = (), shape_name: str = "the image") -> None:
    """Refuse sizes at which the output (shaped like `shape`) or a style image (name, shape) would have a side
    under `MIN_SIDE` at the coarsest scale."""
    smallest = scale_sizes(image_size, scales)[0]
    if shape is not None and min(fitted_hw(shape, smallest)) < MIN_SIDE:
        raise SettingError("image_size", _squeezed(image_size, shape_name, shape, fitted_hw(shape, smallest),
                                                   scales, "a larger image_size or fewer scales"))
    for name, hw in styles:
        side = style_side(smallest, style_scale)
        if min(fitted_hw(hw, side)) < MIN_SIDE:
            raise SettingError("style_scale", _squeezed(style_scale, name, hw, fitted_hw(hw, side), scales,
                                                        "a larger style_scale or image_size"))


def _squeezed(value: float, name: str, hw: Sequence[int], small: tuple[int, int], scales: int, fix: str) -> str:
    at = "at the coarsest of its scales" if scales > 1 else "at that size"
    return (f"{value:g} makes {Path(name).name} ({hw[-1]}x{hw[-2]} px) {small[1]}x{small[0]} px {at}; each side "
            f"must be at least {MIN_SIDE} px: use {fix}, or a less elongated image")
