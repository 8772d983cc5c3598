"""Image features: what the backbone computes, cached under a key that notices changed images; the feature
transform (standardize + PCA) against scikit-learn."""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
import torch

from vislab import backbones
from vislab.captioning import features as F
from vislab.captioning.data import SHAPES_FEATURES
from vislab.captioning.features import FeatureSpec, FeatureTransform, array_features, file_features
from vislab.captioning.shapes import make_shapes
from vislab.errors import ConfigError, DataError
from vislab.images import from_array, load_image, resize_center_crop

from .conftest import TINY


@pytest.fixture
def two_images(tmp_path, coco_val):
    paths = []
    for p in sorted(coco_val[1].iterdir())[:2]:
        shutil.copy(p, tmp_path / p.name)
        paths.append(tmp_path / p.name)
    return paths


def test_penultimate_features_of_the_centre_view(two_images):
    spec = FeatureSpec(TINY, image_size=32)
    got = file_features(two_images, spec, progress=False)
    bb = backbones.load(TINY)
    views = torch.stack([resize_center_crop(load_image(p), 32) for p in two_images])
    with torch.no_grad():
        expected = bb.pooled_features(views).numpy()
    assert got.shape == (2, 64)
    np.testing.assert_array_equal(got, expected)


def test_grid_pooling_of_a_layer(two_images):
    spec = FeatureSpec(TINY, image_size=32, layer="conv", grid=(1, 2))
    got = file_features(two_images, spec, cache=False, progress=False)
    net = backbones.load(TINY)
    views = torch.stack([resize_center_crop(load_image(p), 32) for p in two_images])
    with torch.no_grad():
        fmap = net.model.conv(net.preprocess(views))  # (2, 16, 7, 7)
    # Adaptive pooling to 2 columns of 7: columns [0, 4) and [3, 7), all rows, channel-major flattening.
    left, right = fmap[..., :4].mean(dim=(2, 3)), fmap[..., 3:].mean(dim=(2, 3))
    expected = torch.stack([left, right], dim=2).flatten(1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="feature_grid needs feature_layer"):
        file_features(two_images, FeatureSpec(TINY, image_size=32, grid=(2, 2)), cache=False, progress=False)


def test_cache_is_reused_and_notices_changed_images(two_images, monkeypatch):
    spec = FeatureSpec(TINY, image_size=32)
    first = file_features(two_images, spec, progress=False)
    calls = []
    real_extract = F.extract
    monkeypatch.setattr(F, "extract", lambda *a, **k: calls.append(1) or real_extract(*a, **k))
    np.testing.assert_array_equal(file_features(two_images, spec, progress=False), first)
    assert calls == []  # served from the cache
    st = two_images[0].stat()
    os.utime(two_images[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # "edited"
    file_features(two_images, spec, progress=False)
    assert calls == [1]
    file_features(two_images, FeatureSpec(TINY, image_size=48), progress=False)  # another view size
    assert calls == [1, 1]


def test_shapes_features_from_efficientnet():
    """The default shapes features: efficientnet_lite0's block7 (80 channels) averaged over 3 columns."""
    ds = make_shapes(3, seed=0)
    got = array_features(3, ds.image, ["test", 3], SHAPES_FEATURES, cache=False, progress=False)
    bb = backbones.load("efficientnet_lite0")
    x = torch.stack([from_array(ds.image(i)) for i in range(3)])
    with torch.no_grad():
        fmap = bb.features(x, ["block7"])["block7"]  # (3, 80, 8, 8) at 128 px
    cols = [fmap[..., :, c0:c1].mean(dim=(2, 3)) for c0, c1 in ((0, 3), (2, 6), (5, 8))]
    expected = torch.stack(cols, dim=2).flatten(1).numpy()
    assert got.shape == (3, 240)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_transform_standardizes_and_matches_sklearn_pca():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((200, 12)) @ rng.standard_normal((12, 12)) * 3 + 5).astype(np.float32)
    t = FeatureTransform.fit(x)
    z = t(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-4)

    t5 = FeatureTransform.fit(x, pca_dim=5)
    ours = t5(x)
    ref = PCA(5, svd_solver="full").fit_transform(z.astype(np.float64))
    signs = np.sign((ours * ref).sum(0))  # principal directions are defined up to sign
    np.testing.assert_allclose(ours * signs, ref, rtol=1e-3, atol=1e-3)
    assert t5.output_dim == 5

    buf = io.BytesIO()
    torch.save(t5.state(), buf)
    buf.seek(0)
    back = FeatureTransform.from_state(torch.load(buf, weights_only=True))
    np.testing.assert_array_equal(back(x), ours)


def test_transform_refuses_bad_settings_and_shapes():
    x = np.ones((10, 4), np.float32)
    with pytest.raises(ConfigError, match="pca_dim must be between 1 and 4.*got 7"):
        FeatureTransform.fit(x, pca_dim=7)
    with pytest.raises(DataError, match=r"expected \(N, 4\)"):
        FeatureTransform.fit(x)(np.ones((2, 3), np.float32))
    with pytest.raises(DataError, match="NaN"):
        F.check_finite(np.array([[1.0, np.nan]]), "f.h5")
