"""Pictures with words under them, for tour results people read at a glance (a label per photo)."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..images import from_array, resize_center_crop, to_uint8


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont:
    # matplotlib ships DejaVu Sans, so the same font is there everywhere vislab installs.
    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
    except (OSError, ImportError, ValueError):
        return ImageFont.load_default()


def labeled_grid(images: list[torch.Tensor], labels: list[list[str]], *, size: int = 224, ncol: int = 3,
                 font_size: int = 14, pad: int = 8) -> torch.Tensor:
    """Tile images (each resized and center-cropped to `size`) with lines of text under each; (3, H, W)."""
    font = _font(font_size)
    line_h = font_size + 4
    n_lines = max((len(ls) for ls in labels), default=0)
    cell_w, cell_h = size + pad, size + pad + n_lines * line_h + pad // 2
    ncol = max(1, min(ncol, len(images)))
    nrow = math.ceil(len(images) / ncol)
    canvas = Image.new("RGB", (ncol * cell_w + pad, nrow * cell_h + pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for k, (img, lines) in enumerate(zip(images, labels)):
        r, c = divmod(k, ncol)
        x, y = pad + c * cell_w, pad + r * cell_h
        canvas.paste(Image.fromarray(to_uint8(resize_center_crop(img, size))), (x, y))
        for j, line in enumerate(lines):
            xy = (x, y + size + 4 + j * line_h)
            draw.text(xy, _fit(draw, line, font, size), fill=(20, 20, 20), font=font)
    return from_array(np.asarray(canvas))


def wrap(text: str, *, width: int, font_size: int = 14, lines: int = 3) -> list[str]:
    """Break `text` into at most `lines` lines that fit `width` pixels (the last one shortened if need be)."""
    font = _font(font_size)
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    out: list[str] = []
    for word in text.split():
        if out and draw.textlength(f"{out[-1]} {word}", font=font) <= width:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines - 1] + [" ".join(out[lines - 1:])]
    return out


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    """Shorten `text` with an ellipsis until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text + "\u2026"
