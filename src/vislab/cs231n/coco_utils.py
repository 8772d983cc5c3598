"""`cs231n.coco_utils` over `vislab.captioning.cs231n` (the reader of the course's COCO h5/json files).

`load_coco_data` returns the course's dict of arrays; `decode_captions` and `sample_coco_minibatch` work on it
as the course's do. The files are checked by vislab's reader (shape, type, range: a truncated or foreign file is
one `vislab.errors.DataError` naming it) instead of failing later with an index error.

`shapes_data` (not in the course) builds the same dict from vislab's built-in shapes captioning data (features
centred like the course's PCA'd ones), so the captioning notebooks run where the course's COCO files are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..captioning import cs231n as _coco
from ..captioning.features import check_finite
from ..errors import DataError
from ..paths import data_dir

__all__ = ["BASE_DIR", "default_base_dir", "load_coco_data", "decode_captions", "sample_coco_minibatch",
           "shapes_data"]

BASE_DIR = "cs231n/datasets/coco_captioning"  # the course's default, relative to the notebook's folder


def default_base_dir() -> Path:
    """``$VISLAB_DATA/coco_captioning`` (or the shared data folder's) when it exists, else the course's
    relative ``cs231n/datasets/coco_captioning``."""
    root = data_dir()
    if root is not None and (root / "coco_captioning").is_dir():
        return root / "coco_captioning"
    return Path(BASE_DIR)


def load_coco_data(base_dir: str | Path | None = None, max_train: int | None = None,
                   pca_features: bool = True) -> dict:
    """The course's COCO captioning dict.

    Keys: ``train_captions`` / ``val_captions`` (N, 17) int32, ``train_image_idxs`` / ``val_image_idxs`` (N,)
    int32, ``train_features`` / ``val_features`` (M, 512 with PCA else 4096) float32, ``idx_to_word`` (list),
    ``word_to_idx`` (dict), ``train_urls`` / ``val_urls`` (M,) str arrays. ``base_dir=None`` is
    `default_base_dir()`. With ``max_train`` the training captions (and their image indices) are a random
    subsample of that many, drawn with replacement from numpy's global generator as in the course.
    Differences: a file that is not the course's layout is a `DataError`; a missing urls file gives names
    ``split2014:i`` instead of failing.
    """
    root = Path(base_dir) if base_dir is not None else default_base_dir()
    data: dict = {}
    for k, v in _coco._captions(root / _coco.CAPTIONS_FILE).items():
        data[k] = v.astype(np.int32, copy=False)
    suffix = "_pca" if pca_features else ""
    for split in ("train", "val"):
        path = root / f"{split}2014_vgg16_fc7{suffix}.h5"
        with _coco._h5(path) as f:
            if "features" not in f:
                raise DataError(f"{path}: no 'features' dataset")
            x = _coco._array(f["features"], path, "features", 2, integer=False).astype(np.float32, copy=False)
        check_finite(x, str(path))
        idxs = data[f"{split}_image_idxs"]
        if len(idxs) and (idxs.min() < 0 or idxs.max() >= len(x)):
            raise DataError(f"{root / _coco.CAPTIONS_FILE}: {split}_image_idxs do not match the {len(x)} rows of "
                            f"{path.name}")
        data[f"{split}_features"] = x
        data[f"{split}_urls"] = np.asarray(_coco._names(root / f"{split}2014_urls.txt", split, len(x)))
    vocab_path = root / _coco.VOCAB_FILE
    vocab = _coco._vocab(vocab_path)
    data["idx_to_word"] = list(vocab.idx_to_word)
    data["word_to_idx"] = dict(vocab.word_to_idx)  # from idx_to_word, so the two always agree
    for split in ("train", "val"):
        c = data[f"{split}_captions"]
        if len(c) and (c.min() < 0 or c.max() >= len(vocab)):
            raise DataError(f"{root / _coco.CAPTIONS_FILE}: {split}_captions has word ids outside the "
                            f"{len(vocab)}-word vocabulary")
    if max_train is not None:
        num_train = data["train_captions"].shape[0]
        mask = np.random.randint(num_train, size=max_train)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def decode_captions(captions: np.ndarray, idx_to_word) -> str | list[str]:
    """Word ids -> text, as the course: <NULL> is skipped, <START> and <END> are kept, and each caption stops
    after its <END>. A 1-d array gives one string, a 2-d array a list. (vislab's own
    `Vocabulary.decode` also drops <START> and <END>.)"""
    captions = np.asarray(captions)
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]
    decoded = []
    for row in captions:
        words = []
        for i in row:
            word = idx_to_word[int(i)]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded


def sample_coco_minibatch(data: dict, batch_size: int = 100, split: str = "train"
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(captions, image_features, urls) of `batch_size` captions of `split` drawn with replacement (numpy's
    global generator, as the course); features and urls are those of each caption's image."""
    split_size = data[f"{split}_captions"].shape[0]
    mask = np.random.choice(split_size, batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    image_features = data[f"{split}_features"][image_idxs]
    urls = data[f"{split}_urls"][image_idxs]
    return captions, image_features, urls


def shapes_data(n_images: int = 1000, max_train: int | None = None, max_length: int = 16,
                progress: bool = False) -> dict:
    """Not in the course: the `load_coco_data` dict built from vislab's shapes data (``load_data("shapes:N")``).

    Features are vislab's shapes features (efficientnet_lite0, 240-d, computed once and cached: ~30 s for the
    default 1000 pictures on one CPU core) centred on the train split's mean, as the course's PCA'd features
    are (a PCA projection is centred; its scale is the features' own). Uncentred, their mean (|f| ~ 74) swamps
    the differences between pictures and the notebooks' overfit cells stall (RNN final loss ~5.7 instead of
    < 0.1). Captions are ``<START> words <END> <NULL>...`` of ``max_length + 2`` ids over the vocabulary of the
    train split, urls ``shapes:i`` (`vislab.cs231n.image_utils.image_from_url` draws them). The ``val`` keys
    hold the shapes val split (its test split is left out, as the course's dict has none). ``max_train``
    subsamples the training captions as `load_coco_data` does. Each picture has several captions; with fewer
    pictures (``n_images=100``: 80 train) the notebook's 50 sampled captions repeat pictures with different
    captions, and no model can overfit those below their disagreement.
    """
    from ..captioning.data import load_data

    cd = load_data(f"shapes:{n_images}", max_length=max_length, progress=progress)
    data: dict = {}
    mean = cd.features[cd.splits["train"]].astype(np.float64).mean(axis=0)
    for split in ("train", "val"):
        images = cd.splits[split]
        rows = cd.split_captions(split)
        local = {int(g): j for j, g in enumerate(images)}
        data[f"{split}_captions"] = cd.captions[rows].astype(np.int32)
        data[f"{split}_image_idxs"] = np.array([local[int(g)] for g in cd.image_idxs[rows]], dtype=np.int32)
        data[f"{split}_features"] = (cd.features[images] - mean).astype(np.float32)
        data[f"{split}_urls"] = np.asarray([cd.image_names[int(g)] for g in images])
    data["idx_to_word"] = list(cd.vocab.idx_to_word)
    data["word_to_idx"] = dict(cd.vocab.word_to_idx)
    if max_train is not None:
        mask = np.random.randint(data["train_captions"].shape[0], size=max_train)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data
