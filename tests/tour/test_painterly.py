"""The built-in style image and the labelled grid the tour draws."""

from __future__ import annotations

import numpy as np
import torch

from vislab.tour.annotate import labeled_grid
from vislab.tour.painterly import painterly_image


def test_painterly_image_is_deterministic_and_looks_painted():
    a = painterly_image((96, 128), seed=1)
    assert a.shape == (3, 96, 128) and a.dtype == torch.float32
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert torch.equal(a, painterly_image((96, 128), seed=1))
    assert not torch.equal(a, painterly_image((96, 128), seed=2))

    # The look, for a few seeds rather than one. Measured over seeds 0-29 at this size (numpy only, no torch
    # threads involved): channel spread 0.34-0.37, blue - green mean 0.14-0.19, yellow fraction 0.029-0.068,
    # roughness 0.25-0.30 of the shuffled image's (0.18-0.22 at the tour's 256 px, seeds 0-9).
    for seed in (0, 1, 2):
        x = painterly_image((96, 128), seed=seed).numpy()
        # Strong colours (blues and yellows), not grey: mean per-pixel channel spread well above a photo of fog.
        assert float((x.max(0) - x.min(0)).mean()) > 0.25
        assert float(x[2].mean()) > float(x[1].mean()) > 0  # a blue night overall...
        yellow = (x[0] > 0.75) & (x[1] > 0.6) & (x[2] < 0.5)
        assert 0.01 < yellow.mean() < 0.5  # ...with yellow stars
        # Brush strokes: neighbouring pixels agree far more than in noise with the same colours.
        flat = x.reshape(3, -1)
        shuffled = flat[:, np.random.default_rng(0).permutation(flat.shape[1])].reshape(x.shape)
        assert roughness(x) < 0.35 * roughness(shuffled), seed


def roughness(im: np.ndarray) -> float:
    return float(np.abs(np.diff(im, axis=2)).mean())


def test_labeled_grid_places_images_and_text():
    red = torch.zeros(3, 50, 80)
    red[0] = 1
    g = labeled_grid([red, red, red], [["one", "line two"], ["x"], []], size=40, ncol=2, font_size=12, pad=4)
    # 2 columns x 2 rows of (40 + pad) cells, each with room for 2 text lines of 16 px.
    assert g.shape == (3, 2 * (40 + 4 + 2 * 16 + 2) + 4, 2 * (40 + 4) + 4)
    img = g.permute(1, 2, 0).numpy()
    assert np.allclose(img[4:44, 4:44], [1, 0, 0])  # the first picture, center-cropped to 40x40
    text_band = img[4 + 40: 4 + 40 + 32, 4:44]
    assert (text_band.min(axis=2) < 0.5).any()  # some dark text pixels under it
    empty_band = img[4 + 78 + 40: 4 + 78 + 72, 48:88]
    assert empty_band.shape[0] > 0 and np.allclose(empty_band, 1)  # no label: stays white (4th cell is empty)
