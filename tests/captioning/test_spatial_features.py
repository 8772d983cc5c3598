"""Spatial features for attention: the layer's grid cells kept apart (cell-major), cached beside the pooled ones
under their own key."""

from __future__ import annotations

import numpy as np
import torch

from vislab import backbones
from vislab.captioning import features as F
from vislab.captioning.features import FeatureSpec, array_features
from vislab.images import from_array, resize_center_crop

from .conftest import TINY


def _pictures(i: int) -> np.ndarray:
    return (np.random.default_rng(i).random((40, 36, 3)) * 255).astype(np.uint8)


def test_spatial_features_are_the_layer_map_cell_by_cell():
    spec = FeatureSpec(TINY, image_size=32, layer="conv", grid=(7, 7), spatial=True)
    got = array_features(2, _pictures, ["spatial-test"], spec, cache=False, progress=False)
    bb = backbones.load(TINY)
    views = torch.stack([resize_center_crop(from_array(_pictures(i)), 32) for i in range(2)])
    with torch.no_grad():
        fmap = bb.model.conv(bb.preprocess(views))  # (2, 16, 7, 7): the layer's own grid
    assert got.shape == (2, 49 * 16) and spec.positions == 49
    # cell (r, c) of image n is fmap[n, :, r, c], at rows [(r * 7 + c) * 16, ... + 16)
    cells = got.reshape(2, 7, 7, 16)
    np.testing.assert_allclose(cells[1, 2, 5], fmap[1, :, 2, 5].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cells.mean(axis=(1, 2)), fmap.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)


def test_spatial_features_have_their_own_cache_entry(monkeypatch):
    pooled = FeatureSpec(TINY, image_size=32, layer="conv", grid=(2, 2))
    spatial = FeatureSpec(TINY, image_size=32, layer="conv", grid=(2, 2), spatial=True)
    a = array_features(2, _pictures, ["cache-test"], pooled, progress=False)
    b = array_features(2, _pictures, ["cache-test"], spatial, progress=False)
    assert a.shape == b.shape and not np.allclose(a, b)  # same numbers, other order
    np.testing.assert_allclose(np.sort(a, axis=1), np.sort(b, axis=1))
    assert F._cache_path(["x"], spatial).name.endswith("-spatial.npy")
    assert F._cache_path(["x"], pooled).stem + "-spatial" != F._cache_path(["x"], spatial).stem  # other key
    calls = []
    monkeypatch.setattr(F, "extract", lambda *a, **k: calls.append(1))
    np.testing.assert_array_equal(array_features(2, _pictures, ["cache-test"], spatial, progress=False), b)
    assert calls == []
    assert FeatureSpec.from_dict(spatial.as_dict()) == spatial
    assert "spatial" not in pooled.as_dict()  # checkpoints of pooled models are unchanged
