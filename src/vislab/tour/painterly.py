"""A painterly style image made in code, so the tour needs no painting file.

Nothing that ships with vislab's dependencies is a painting, and style transfer wants one: thick, curved
brush strokes in a few strong colours. This paints one procedurally, in the spirit of a swirling night sky: a
flow field with a few vortices, and a few thousand short strokes traced along it, coloured from a blue/yellow
palette by distance to the vortices (light near the "stars", deep blue elsewhere, a dark band at the left).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from ..images import from_array

NIGHT = [(18, 38, 92), (32, 64, 140), (54, 98, 180), (92, 140, 205), (150, 185, 220)]
STARS = [(250, 224, 110), (240, 200, 70), (255, 240, 170), (220, 170, 60)]
CYPRESS = [(22, 30, 24), (40, 52, 30), (60, 70, 38)]


def painterly_image(size: int | tuple[int, int] = 256, *, seed: int = 0) -> torch.Tensor:
    """A (3, H, W) float image in [0, 1] that looks painted; the same `size` and `seed` give the same
    pixels."""
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    scale = max(h, w) / 256
    vortices = [(rng.uniform(0.15, 0.9) * w, rng.uniform(0.1, 0.55) * h, rng.uniform(0.09, 0.16) * max(h, w))
                for _ in range(4)]

    def angle(x: float, y: float) -> float:
        # A gentle horizontal wave, bent into circles around each vortex (strength falls off with distance).
        a = 0.6 * np.sin(y / h * 6.0 + x / w * 3.0) + 0.3 * np.sin(x / w * 11.0)
        for vx, vy, r in vortices:
            dx, dy = x - vx, y - vy
            d2 = dx * dx + dy * dy
            wgt = np.exp(-d2 / (2 * (1.8 * r) ** 2))
            a = (1 - wgt) * a + wgt * (np.arctan2(dy, dx) + np.pi / 2)
        return a

    def palette(x: float, y: float) -> tuple[int, int, int]:
        near = min(np.hypot(x - vx, y - vy) / r for vx, vy, r in vortices)
        cypress = x < 0.22 * w and y > (0.25 + 0.3 * abs(x / w - 0.11) / 0.11) * h
        if cypress:
            colors = CYPRESS
        elif near < 0.7 or (y > 0.78 * h and rng.random() < 0.25):
            colors = STARS
        else:
            colors = NIGHT[:3] if y > 0.6 * h else NIGHT
        c = np.array(colors[rng.integers(len(colors))], dtype=float) + rng.normal(0, 10, 3)
        return tuple(int(v) for v in np.clip(c, 0, 255))

    canvas = Image.new("RGB", (w, h), NIGHT[1])
    draw = ImageDraw.Draw(canvas)
    n_strokes = int(3200 * scale * scale)
    for _ in range(n_strokes):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        color = palette(x, y)
        pts = [(x, y)]
        step = 2.0 * scale
        for _ in range(int(rng.integers(5, 12))):
            a = angle(x, y)
            x, y = x + step * np.cos(a), y + step * np.sin(a)
            pts.append((x, y))
        draw.line(pts, fill=color, width=max(2, int(rng.integers(2, 6) * scale)), joint="curve")
    canvas = canvas.filter(ImageFilter.SMOOTH)
    return from_array(np.asarray(canvas))
