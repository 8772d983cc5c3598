"""The cs231n assignment's COCO 2014 files (captions/vocab/features/urls), read as they are.

Features are VGG16 fc7 (PCA when the ``_pca`` files exist), so models trained on them cannot caption new images
(no backbone here reproduces those features). Every dataset is checked for shape, type and range before use, so
a truncated or foreign file is one `DataError` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..machine import check_memory
from .dataset import SPLITS, CaptionData
from .features import check_finite
from .readers import field, read_json
from .vocab import Vocabulary

CAPTIONS_FILE = "coco2014_captions.h5"
VOCAB_FILE = "coco2014_vocab.json"


def load_cs231n(spec: str, root: Path) -> CaptionData:
    """Both splits of the assignment's files as one `CaptionData` (train, then val images)."""
    vocab = _vocab(root / VOCAB_FILE)
    parts = _captions(root / CAPTIONS_FILE)
    feats, names, captions, idxs, split_of = [], [], [], [], []
    for split in ("train", "val"):
        x, fpath = _features(root, split)
        c, ii = parts[f"{split}_captions"], parts[f"{split}_image_idxs"]
        if len(c) != len(ii) or (len(ii) and (ii.min() < 0 or ii.max() >= len(x))):
            raise DataError(f"{root / CAPTIONS_FILE}: {split}_image_idxs do not match the {len(x)} rows of "
                            f"{fpath.name}")
        if len(c) and (c.min() < 0 or c.max() >= len(vocab)):
            raise DataError(f"{root / CAPTIONS_FILE}: {split}_captions has word ids outside the {len(vocab)}-word "
                            "vocabulary")
        names += _names(root / f"{split}2014_urls.txt", split, len(x))
        idxs.append(ii + len(split_of))
        feats.append(x)
        captions.append(c)
        split_of += [split] * len(x)
    captions_all, image_idxs = np.concatenate(captions), np.concatenate(idxs)
    references: list[list[str]] = [[] for _ in range(len(split_of))]
    for row, i in zip(captions_all, image_idxs):
        references[i].append(vocab.decode(row))
    splits = {s: np.array([i for i, sp in enumerate(split_of) if sp == s and references[i]], dtype=np.int64)
              for s in SPLITS}
    return CaptionData(np.concatenate(feats), captions_all, image_idxs, vocab, splits, references, names, spec,
                       None, {"features": "cs231n VGG16 fc7"})


def _vocab(path: Path) -> Vocabulary:
    words = field(read_json(path), "idx_to_word", path, "the top level")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise DataError(f"{path}: idx_to_word must be a list of words (text)")
    try:
        return Vocabulary(words)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None


def _captions(path: Path) -> dict[str, np.ndarray]:
    """The four caption datasets: (N, T) word ids and (N,) image indices per split."""
    wanted = {"train_captions": 2, "train_image_idxs": 1, "val_captions": 2, "val_image_idxs": 1}
    with _h5(path) as f:
        out = {}
        for key, ndim in wanted.items():
            if key not in f:
                raise DataError(f"{path}: no {key!r} dataset (expected the cs231n COCO captions file)")
            out[key] = _array(f[key], path, key, ndim, integer=True)
    for split in ("train", "val"):
        if out[f"{split}_captions"].shape[1] < 2:
            raise DataError(f"{path}: {split}_captions must have at least 2 columns (<START> and <END>)")
    return {k: v.astype(np.int32 if k.endswith("captions") else np.int64) for k, v in out.items()}


def _features(root: Path, split: str) -> tuple[np.ndarray, Path]:
    fpath = next((p for p in (root / f"{split}2014_vgg16_fc7_pca.h5", root / f"{split}2014_vgg16_fc7.h5")
                  if p.is_file()), None)
    if fpath is None:
        raise DataError(f"{root}: no {split}2014_vgg16_fc7_pca.h5 or {split}2014_vgg16_fc7.h5 feature file")
    with _h5(fpath) as f:
        if "features" not in f:
            raise DataError(f"{fpath}: no 'features' dataset")
        x = _array(f["features"], fpath, "features", 2, integer=False).astype(np.float32, copy=False)
    check_finite(x, str(fpath))
    return x, fpath


def _h5(path: Path) -> Any:
    import h5py

    if not path.is_file():
        raise DataError(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable HDF5 file ({e})") from e


def _array(ds: Any, path: Path, key: str, ndim: int, *, integer: bool) -> np.ndarray:
    """A dataset read whole, after checking its rank, type and that it fits in memory."""
    shape, dtype = getattr(ds, "shape", None), getattr(ds, "dtype", None)
    kinds = "iu" if integer else "iuf"
    if shape is None or len(shape) != ndim or dtype is None or dtype.kind not in kinds:
        raise DataError(f"{path}: {key} must be a {ndim}-d array of {'integers' if integer else 'numbers'}, "
                        f"got {shape} {dtype}")
    check_memory(int(np.prod(shape)) * max(dtype.itemsize, 4) * 2, f"reading {path.name}:{key}")
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError, TypeError) as e:
        raise DataError(f"{path}: {key} cannot be read ({e})") from e


def _names(url_path: Path, split: str, n: int) -> list[str]:
    """The images' COCO urls when the urls file lists one per image, else ``split2014:i``."""
    try:
        urls = url_path.read_text(encoding="utf-8").split() if url_path.is_file() else []
    except (OSError, UnicodeDecodeError):
        urls = []
    return urls if len(urls) == n else [f"{split}2014:{i}" for i in range(n)]
