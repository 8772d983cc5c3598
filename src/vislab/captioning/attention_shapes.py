"""Does the model look where it speaks? Attention precision on the built-in shapes.

For every colour or kind word of a caption that names exactly one shape of the picture (the only red one, the
only circle), the share of that word's attention mass that lies on the shape's box: each grid cell's weight
counts in proportion to the part of the cell the box covers (attention spread evenly over a cell). 1 means
every such word looked only at its shape; uniform attention scores the boxes' share of the picture (~3-8 %).

The same boxes can teach attention where to look (`grounding`: the targets of the grounding loss in
`vislab.nn.attention`, `--attention-grounding`): the colour and kind words of each shape's phrase get its box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shapes import COLORS, KINDS, SIZES, Shape


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


@dataclass(frozen=True)
class Grounding:
    """Which box each word of each training caption names (for the grounding loss), kept small: a box number
    per word and each picture's boxes as cell overlaps, expanded to (n, T, L) targets one batch at a time."""

    word_box: np.ndarray  # (rows, T) int8: for output word t of caption row r, its picture's box number; -1: none
    image: np.ndarray  # (rows,) the picture of each caption row
    overlaps: np.ndarray  # (pictures, most shapes + 1, L) float32; the last box is all zeros (for -1)

    def batch(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), T, L) targets for `nn.attention.grounding_forward`; zero rows for ungrounded words."""
        return self.overlaps[self.image[rows][:, None], self.word_box[rows]]


def grounded_words(words: list[str], scene: list[Shape]) -> list[int]:
    """For each word, the index in `scene` of the shape it is taught to look at, or -1: the colour and kind words
    of a "SIZE COLOUR KIND" phrase that fits exactly one shape of the picture."""
    out = [-1] * len(words)
    for t in range(len(words) - 2):
        size, color, kind = words[t:t + 3]
        if size in SIZES and color in COLORS and kind in KINDS:
            hits = [k for k, s in enumerate(scene) if (s.size, s.color, s.kind) == (size, color, kind)]
            if len(hits) == 1:
                out[t + 1] = out[t + 2] = hits[0]
    return out


def grounding(captions: np.ndarray, image_idxs: np.ndarray, idx_to_word: dict[int, str] | list[str],
              scenes: list[list[Shape]], grid: tuple[int, int]) -> Grounding:
    """The `Grounding` of integer captions (rows, T + 1) (<START> first, as `CaptionData.captions`)."""
    most = max(len(s) for s in scenes)
    overlaps = np.zeros((len(scenes), most + 1, grid[0] * grid[1]), np.float32)
    for i, scene in enumerate(scenes):
        for k, shape in enumerate(scene):
            overlaps[i, k] = cell_overlap(shape.box, grid)
    word_box = np.full(captions[:, 1:].shape, -1, np.int8)
    for r, (caption, img) in enumerate(zip(captions[:, 1:], image_idxs)):
        word_box[r] = grounded_words([idx_to_word[int(w)] for w in caption], scenes[img])
    return Grounding(word_box, np.asarray(image_idxs), overlaps)
