"""Does the model look where it speaks? Attention precision on the built-in shapes.

For every colour or kind word of a caption that names exactly one shape of the picture (the only red one, the
only circle), the share of that word's attention mass that lies on the shape's box: each grid cell's weight
counts in proportion to the part of the cell the box covers (attention spread evenly over a cell). 1 means
every such word looked only at its shape; uniform attention scores the boxes' share of the picture (~3-8 %).
"""

from __future__ import annotations

import numpy as np

from .shapes import COLORS, KINDS, Shape


def cell_overlap(box: tuple[float, float, float, float], grid: tuple[int, int]) -> np.ndarray:
    """(rows * cols,) fraction of each grid cell (row-major, as spatial features are) that `box` covers."""
    rows, cols = grid
    left, top, right, bottom = box
    ys, xs = np.arange(rows + 1) / rows, np.arange(cols + 1) / cols
    oy = np.clip(np.minimum(ys[1:], bottom) - np.maximum(ys[:-1], top), 0, None) * rows
    ox = np.clip(np.minimum(xs[1:], right) - np.maximum(xs[:-1], left), 0, None) * cols
    return (oy[:, None] * ox[None, :]).ravel()


def named_shape(word: str, scene: list[Shape]) -> Shape | None:
    """The one shape of the scene a colour or kind word names (None: another word, or not exactly one)."""
    if word in COLORS:
        hits = [s for s in scene if s.color == word]
    elif word in KINDS:
        hits = [s for s in scene if s.kind == word]
    else:
        return None
    return hits[0] if len(hits) == 1 else None


def word_precisions(words: list[str], alphas: np.ndarray, scene: list[Shape], grid: tuple[int, int]) -> list[float]:
    """Attention mass on the named shape's box, for each word of `words` (alphas (T, L), row t for word t) that
    names one shape."""
    out = []
    for word, alpha in zip(words, alphas):
        shape = named_shape(word, scene)
        if shape is not None:
            out.append(float(alpha @ cell_overlap(shape.box, grid)))
    return out
