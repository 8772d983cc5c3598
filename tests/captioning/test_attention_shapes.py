"""Attention precision's pieces: shape boxes hold exactly the drawn pixels, cell overlaps are areas."""

from __future__ import annotations

import numpy as np
import pytest

from vislab.captioning.attention_shapes import cell_overlap, named_shape, word_precisions
from vislab.captioning.shapes import Shape, render


@pytest.mark.parametrize("kind", ["circle", "square", "triangle"])
def test_box_bounds_the_drawn_shape(kind):
    shape = Shape(kind, "red", "large", 0.4, 0.55)
    img = render([shape], 128).astype(int)
    ink = np.argwhere(np.abs(img - 240).sum(axis=2) > 60)  # pixels clearly not background
    left, top, right, bottom = (v * 128 for v in shape.box)
    assert ink[:, 1].min() >= left - 1.5 and ink[:, 1].max() <= right + 0.5
    assert ink[:, 0].min() >= top - 1.5 and ink[:, 0].max() <= bottom + 0.5
    assert ink[:, 1].max() - ink[:, 1].min() >= 0.85 * (right - left)  # tight, not just inside


def test_cell_overlap_is_the_covered_share_of_each_cell():
    o = cell_overlap((0.25, 0.0, 0.75, 0.5), (2, 2)).reshape(2, 2)
    np.testing.assert_allclose(o, [[0.5, 0.5], [0, 0]])
    assert cell_overlap((0, 0, 1, 1), (8, 8)).sum() == pytest.approx(64)


def test_precision_counts_only_words_that_name_one_shape():
    scene = [Shape("circle", "red", "small", 0.2, 0.5), Shape("circle", "blue", "large", 0.7, 0.5)]
    assert named_shape("red", scene) is scene[0] and named_shape("circle", scene) is None
    alphas = np.zeros((3, 4))
    alphas[:, 0] = 1  # every word looks at the top-left cell of a 2x2 grid
    got = word_precisions(["a", "red", "circle"], alphas, scene, (2, 2))
    box = scene[0].box  # the red circle spans x 0.125..0.275, y 0.425..0.575: the top-left cell has 0.3 x 0.15 of it
    assert got == [pytest.approx((box[2] - box[0]) * 2 * (0.5 - box[1]) * 2)]
