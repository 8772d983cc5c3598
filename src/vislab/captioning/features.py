"""Image features for captioning: pooled penultimate activations of a pretrained backbone, cached on disk.

Extraction is the slow part of captioning on a CPU, so features are cached under ``vislab.paths.cache_dir()``
with a key made of the backbone, the view size and the image list (paths with sizes and modification
times): a rerun with the same images is instant, and an edited image is re-read. `FeatureTransform`
(standardize, optional PCA) is fitted on the training split and stored in the checkpoint, so new images are
mapped the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import backbones
from ..errors import CheckpointError, ConfigError, DataError
from ..fileio import atomic_path
from ..images import center_crop, from_array, load_image, resize_center_crop
from ..jobs import SettingError
from ..machine import available_memory, check_memory
from ..paths import cache_dir

VIEW_PEAK_FACTOR = 32  # a backbone's peak memory, as a multiple of its input views' (see `_fitting_batch`)
MAX_ASPECT = 4  # longer side / shorter side kept before resizing: the view is the central square anyway


@dataclass(frozen=True)
class FeatureSpec:
    """How images become feature vectors: which backbone (and weights file) sees them at which view size.
    Stored in checkpoints, so `vislab caption IMAGE` repeats exactly what training did."""

    backbone: str = backbones.DEFAULT
    weights: str | None = None
    image_size: int = 224  # shorter side resized to this, then centre-cropped square
    layer: str | None = None  # None: the penultimate representation (`Backbone.pooled_features`)
    grid: tuple[int, int] = (1, 1)  # average-pool `layer` over rows x cols cells, so features keep "where"
    spatial: bool = False  # keep the grid's cells apart: (N, L * C) position-major, for attention (L = rows x cols)

    def as_dict(self) -> dict:
        d = {"backbone": self.backbone, "weights": self.weights, "image_size": self.image_size,
             "layer": self.layer, "grid": list(self.grid)}
        return {**d, "spatial": True} if self.spatial else d  # older readers never see the key

    @property
    def positions(self) -> int:
        """L, the feature vectors per image that attention chooses among (1 for pooled features)."""
        return self.grid[0] * self.grid[1] if self.spatial else 1

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        """The spec a checkpoint recorded (a malformed one is a `CheckpointError`)."""
        try:
            spec = cls(d["backbone"], d.get("weights"), d["image_size"], d.get("layer"),
                       tuple(d.get("grid", (1, 1))), d.get("spatial", False))
        except (KeyError, TypeError, AttributeError):
            raise CheckpointError(f"feature spec {str(d)[:80]} is malformed") from None
        ok = (isinstance(spec.backbone, str) and isinstance(spec.weights, (str, type(None)))
              and isinstance(spec.layer, (str, type(None))) and _whole(spec.image_size, 1, 1 << 14)
              and isinstance(spec.spatial, bool) and (spec.layer is not None or not spec.spatial)
              and len(spec.grid) == 2 and all(_whole(g, 1, 1 << 10) for g in spec.grid))
        if not ok:
            raise CheckpointError(f"feature spec {str(d)[:80]} is malformed")
        return spec

    def __call__(self, bb: backbones.Backbone, images: torch.Tensor) -> torch.Tensor:
        """Feature vectors (N, D) of a batch of views in [0, 1]; spatial: (N, L * C), cell by cell (row-major),
        each cell's C channels together."""
        if self.layer is None:
            if self.spatial:
                raise SettingError("feature_layer", "must be given for spatial features (attention)")
            if self.grid != (1, 1):
                raise SettingError("feature_grid", "needs feature_layer (penultimate features are pooled)")
            return bb.pooled_features(images)
        try:
            fmap = bb.features(images, [self.layer])[self.layer]
        except ConfigError as e:  # an unknown layer name: say which setting gave it
            raise SettingError("feature_layer", f"{self.layer!r}: {e}") from None
        if fmap.dim() != 4:
            raise SettingError("feature_layer", f"{self.layer} gives {tuple(fmap.shape)}, not a feature map")
        pooled = F.adaptive_avg_pool2d(fmap, self.grid)
        return pooled.permute(0, 2, 3, 1).flatten(1) if self.spatial else pooled.flatten(1)


def _whole(v: object, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def image_view(img: torch.Tensor, size: int) -> torch.Tensor:
    """A loaded image (3, H, W) -> the square view the backbone sees (3, size, size).

    A very long, thin image (say 1 x 100000) is first cut to its central part: resizing all of it would make
    its long side size * 100000 pixels, for a view that keeps only the central square anyway."""
    h, w = img.shape[-2:]
    short = min(h, w)
    if max(h, w) > MAX_ASPECT * short:
        img = center_crop(img, (min(h, MAX_ASPECT * short), min(w, MAX_ASPECT * short)))
    return resize_center_crop(img, size)


def file_features(paths: Sequence[str | os.PathLike], spec: FeatureSpec, *, device: str = "cpu",
                  batch_size: int = 32, cache: bool = True, progress: bool = True) -> np.ndarray:
    """(len(paths), D) float32 features of image files (a missing or corrupt file is an error naming it);
    ``sample:NAME`` is one of vislab's built-in photos."""
    names = [os.fspath(p) for p in paths]
    files = [None if n.startswith("sample:") else Path(n) for n in names]
    missing = [f for f in files if f is not None and not f.is_file()]
    if missing:
        why = "not a regular file" if missing[0].exists() else "no such image file"
        raise DataError(f"{missing[0]}: {why}" + (f" (and {len(missing) - 1} more missing)"
                                                  if len(missing) > 1 else ""))
    stamp = [n if f is None else (str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns)
             for n, f in zip(names, files)]
    return _cached(["files", stamp], spec, len(names), lambda i: load_image(names[i]), device=device,
                   batch_size=batch_size, cache=cache, progress=progress)


def array_features(count: int, get_image: Callable[[int], np.ndarray], key: object, spec: FeatureSpec, *,
                   device: str = "cpu", batch_size: int = 32, cache: bool = True,
                   progress: bool = True) -> np.ndarray:
    """Features of images made in code (`get_image(i)` -> uint8 (H, W, 3)); `key` names them for the cache."""
    return _cached(["arrays", key], spec, count, lambda i: from_array(get_image(i)), device=device,
                   batch_size=batch_size, cache=cache, progress=progress)


def _cached(what: list, spec: FeatureSpec, count: int, load: Callable[[int], torch.Tensor], *, device: str,
            batch_size: int, cache: bool, progress: bool) -> np.ndarray:
    path = _cache_path(what, spec) if cache else None
    if path is not None and path.is_file():
        try:
            feats = np.load(path)
            if feats.shape[0] == count and np.isfinite(feats).all():
                return feats
        except (OSError, ValueError):
            pass  # unreadable cache entry: recompute and overwrite it
    feats = extract(count, load, spec, device=device, batch_size=batch_size, progress=progress)
    if path is not None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, feats)
    return feats


def _cache_path(what: list, spec: FeatureSpec) -> Path:
    weights = None
    if spec.weights:
        w = Path(spec.weights)
        weights = [str(w.resolve()), w.stat().st_size, w.stat().st_mtime_ns] if w.is_file() else spec.weights
    # Pooled features keep their old keys; spatial ones add a kind to the key and the file name.
    kind = ["spatial"] if spec.spatial else []
    blob = json.dumps([spec.backbone, weights, spec.image_size, spec.layer, spec.grid, what, *kind],
                      default=str).encode()
    key = hashlib.sha256(blob).hexdigest()[:24]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.backbone)
    suffix = "-spatial" if spec.spatial else ""
    return cache_dir("captioning", "features") / f"{safe}-{spec.image_size}-{key}{suffix}.npy"


@torch.no_grad()
def extract(count: int, load: Callable[[int], torch.Tensor], spec: FeatureSpec, *, device: str = "cpu",
            batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """Run the backbone over images `load(0..count-1)` in batches; (count, D) float32."""
    batch_size = _fitting_batch(batch_size, min(count, batch_size), spec.image_size)
    bb = backbones.load(spec.backbone, device=device, weights=spec.weights)
    out = []
    with tqdm(total=count, desc=f"features ({spec.backbone})", unit="img", disable=not progress,
              leave=False) as bar:
        for start in range(0, count, batch_size):
            batch = torch.stack([image_view(load(i), spec.image_size)
                                 for i in range(start, min(count, start + batch_size))])
            out.append(_run_backbone(spec, bb, batch))
            bar.update(batch.shape[0])
    feats = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
    check_finite(feats, f"features from {spec.backbone}")
    return feats


def _fitting_batch(batch_size: int, needed: int, size: int) -> int:
    """A batch of views whose pass through the backbone fits in memory (fewer images per batch for large
    views); refuses a view size at which not even one image fits. EfficientNet-Lite0 peaks at about 30x its
    input's size (measured at 224 and 448 px)."""
    per_image = VIEW_PEAK_FACTOR * 3 * size * size * 4
    avail = available_memory()
    if avail is not None:
        batch_size = max(1, min(batch_size, avail // (2 * per_image)))
    check_memory(per_image * min(batch_size, max(needed, 1)), f"feature extraction at image_size {size}",
                 hint="lower image_size")
    return batch_size


def _run_backbone(spec: FeatureSpec, bb: backbones.Backbone, batch: torch.Tensor) -> np.ndarray:
    """Features of one batch; a backbone that cannot run on views of this size is the `image_size` setting's
    fault (a user's model with too many stride-2 layers, say), named as such."""
    try:
        return spec(bb, batch).float().cpu().numpy()
    except RuntimeError as e:
        raise SettingError("image_size", f"{spec.image_size}: {spec.backbone} cannot run on views of "
                                         f"{spec.image_size}x{spec.image_size} pixels ({str(e)[:200]})") from None


def check_finite(feats: np.ndarray, where: str) -> None:
    """Refuse NaN/inf features: they would silently turn every loss into NaN."""
    bad = ~np.isfinite(feats).all(axis=1) if feats.ndim == 2 else np.array([not np.isfinite(feats).all()])
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(f"{where}: {len(rows)} feature row(s) contain NaN or infinite values (first: row "
                        f"{rows[0]})")


@dataclass
class FeatureTransform:
    """z = ((x - mean) / std) @ components: per-dimension standardization (so the projection to h0 starts
    well scaled for any backbone) and an optional PCA down to fewer dimensions. Fitted on training features
    only."""

    mean: np.ndarray
    std: np.ndarray
    components: np.ndarray | None = None  # (D, pca_dim)

    @classmethod
    def fit(cls, x: np.ndarray, pca_dim: int | None = None) -> FeatureTransform:
        x = np.asarray(x, dtype=np.float64)
        mean = x.mean(axis=0)
        std = x.std(axis=0) + 1e-6  # constant dimensions (dead ReLUs) stay 0 instead of dividing by 0
        components = None
        if pca_dim is not None:
            check_pca_dim(pca_dim, x.shape)
            # Principal directions = right singular vectors of the standardized data.
            _, _, vt = np.linalg.svd((x - mean) / std, full_matrices=False)
            components = vt[:pca_dim].T.astype(np.float32)
        return cls(mean.astype(np.float32), std.astype(np.float32), components)

    @property
    def output_dim(self) -> int:
        return self.mean.shape[0] if self.components is None else self.components.shape[1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise DataError(f"features have shape {x.shape}, expected (N, {self.mean.shape[0]}) as in "
                            "training")
        z = (x - self.mean) / self.std
        return z if self.components is None else z @ self.components

    def state(self) -> dict:
        # device: cpu-ok (numpy statistics for a checkpoint)
        s = {"mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std)}
        if self.components is not None:
            # device: cpu-ok (numpy statistics for a checkpoint)
            s["components"] = torch.from_numpy(self.components)
        return s

    @classmethod
    def from_state(cls, s: dict) -> FeatureTransform:
        """The transform a checkpoint stored; anything but finite float vectors of matching sizes (and a
        (D, k) projection) is a `CheckpointError`."""
        if not isinstance(s, dict):
            raise CheckpointError("feature transform is not a dict")
        mean, std = _float_array(s.get("mean"), "mean", 1), _float_array(s.get("std"), "std", 1)
        comps = s.get("components")
        comps = None if comps is None else _float_array(comps, "components", 2)
        if std.shape != mean.shape or not (std > 0).all() or (comps is not None and comps.shape[0] != len(mean)):
            raise CheckpointError(f"feature transform has mismatched parts: mean {mean.shape}, std {std.shape}"
                                  f"{'' if comps is None else f', components {comps.shape}'} (std must be > 0)")
        return cls(mean, std, comps)


def _float_array(t: object, name: str, ndim: int) -> np.ndarray:
    if not isinstance(t, torch.Tensor) or t.dim() != ndim or not t.is_floating_point() or t.numel() == 0:
        raise CheckpointError(f"feature transform {name} must be a non-empty {ndim}-d float tensor")
    x = t.detach().cpu().numpy().astype(np.float32)
    if not np.isfinite(x).all():
        raise CheckpointError(f"feature transform {name} holds NaN or infinite values")
    return x


def check_pca_dim(pca_dim: int, shape: tuple[int, ...]) -> None:
    """PCA keeps at most min(training images, feature dimensions) directions."""
    if not 0 < pca_dim <= min(shape):
        raise SettingError("pca_dim", f"must be between 1 and {min(shape)} (features are {shape[1]}-d, "
                                      f"{shape[0]} training images), got {pca_dim}")
