"""`CaptionData` and its loaders: one container whatever the source, so training never cares where data
came from.

Data specs (the ``--data`` flag):
  ``shapes`` / ``shapes:N``           built-in rendered shapes (N images, default 3000), offline
  ``coco:CAPTIONS_JSON:IMAGE_DIR``    official COCO captions format; split 80/10/10 by a hash of the name
  ``karpathy:DATASET_JSON:IMAGE_DIR`` Karpathy's split files (COCO, Flickr8k/30k); ``restval`` is train
  ``cs231n:DIR``                      the cs231n assignment's COCO 2014 h5/json files, read as they are
Every loader gives raw features (N, D); `FeatureTransform` standardizes them with training statistics.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from . import shapes as shapes_mod
from .features import FeatureSpec, array_features, check_finite, file_features
from .tokenize import tokenize
from .vocab import Vocabulary

SPLITS = ("train", "val", "test")
DEFAULT_SHAPES_IMAGES = 3000
# Shapes are drawn at 128 px and seen at that size (fast on a CPU). Their captions are about colour, kind,
# size and *where* ("left of"), which the globally pooled penultimate features mostly average away; a
# mid-level layer (block7, stride 16) pooled over three columns keeps all four (a linear probe reads the
# leftmost shape's colour/kind/size at 93/99/98%, against 58/84/83% from the pooled penultimate features).
SHAPES_FEATURES = FeatureSpec(image_size=128, layer="block7", grid=(1, 3))


@dataclass
class CaptionData:
    """Features, integer captions and splits of one dataset.

    ``captions[i]`` is ``<START> words <END> <NULL>...`` for image ``image_idxs[i]``; ``splits`` maps a split
    name to image indices; ``references[j]`` are image j's captions as tokenized text (what BLEU/CIDEr compare
    with: full length, no ``<UNK>``, unlike the training captions).
    """

    features: np.ndarray
    captions: np.ndarray
    image_idxs: np.ndarray
    vocab: Vocabulary
    splits: dict[str, np.ndarray]
    references: list[list[str]]
    image_names: list[str]
    source: str
    feature_spec: FeatureSpec | None = None  # None: precomputed features (no backbone can reproduce them)
    extra: dict[str, Any] = field(default_factory=dict)

    def split_images(self, split: str) -> np.ndarray:
        """Image indices of a split (``all`` = every image); an unknown or empty split is a `DataError`."""
        if split == "all":
            return np.arange(len(self.image_names))
        idx = self.splits.get(split)
        if idx is None or len(idx) == 0:
            have = ", ".join(k for k, v in self.splits.items() if len(v)) or "none"
            raise DataError(f"{self.source}: split {split!r} is empty (splits with images: {have}, or 'all')")
        return idx

    def split_captions(self, split: str) -> np.ndarray:
        """Row indices into `captions` of the images of a split."""
        mask = np.isin(self.image_idxs, self.split_images(split))
        return np.flatnonzero(mask)


def load_data(spec: str, *, feature_spec: FeatureSpec | None = None, vocab: Vocabulary | None = None,
              max_length: int = 16, min_count: int = 1, device: str = "cpu", batch_size: int = 32,
              cache: bool = True, progress: bool = True) -> CaptionData:
    """Load a dataset from a ``--data`` spec.

    The vocabulary is built from the training split (`min_count`) unless one is given (evaluating a
    checkpoint); captions are cut to `max_length` words. `feature_spec` says which backbone makes image
    features (default: `default_feature_spec`).
    """
    kind, _, rest = spec.partition(":")
    kw = dict(device=device, batch_size=batch_size, cache=cache, progress=progress)
    if kind == "shapes":
        return _load_shapes(spec, rest, feature_spec, vocab, max_length, min_count, **kw)
    if kind in ("coco", "karpathy"):
        json_path, sep, image_dir = rest.partition(":")
        if not sep or not json_path or not image_dir:
            raise DataError(f"--data {spec}: expected {kind}:CAPTIONS_JSON:IMAGE_DIR")
        load = _read_coco if kind == "coco" else _read_karpathy
        names, tokens, split_of = load(Path(json_path), Path(image_dir))
        fspec = feature_spec or FeatureSpec()
        feats = file_features(names, fspec, **kw)
        return _assemble(spec, feats, names, tokens, split_of, vocab, max_length, min_count, fspec)
    if kind == "cs231n":
        if not rest:
            raise DataError(f"--data {spec}: expected cs231n:DIR")
        return _load_cs231n(spec, Path(rest))
    raise DataError(f"--data {spec}: unknown data kind {kind!r}; use shapes, coco:JSON:DIR, "
                    "karpathy:JSON:DIR or cs231n:DIR")


def default_feature_spec(data_spec: str, *, backbone: str | None = None, weights: str | None = None,
                         image_size: int | None = None, layer: str | None = None,
                         grid: tuple[int, int] | None = None) -> FeatureSpec | None:
    """The feature spec for a dataset, with the user's overrides: shapes default to `SHAPES_FEATURES`, photos
    to the penultimate features of efficientnet_lite0 at 224 px; cs231n data has its own features (None)."""
    if data_spec.startswith("cs231n:"):
        return None
    base = SHAPES_FEATURES if data_spec.split(":")[0] == "shapes" else FeatureSpec()
    if backbone is not None and backbone != base.backbone and layer is None:
        base = FeatureSpec(image_size=base.image_size)  # another network: its layer names differ, use pooled
    return FeatureSpec(backbone or base.backbone, weights, image_size or base.image_size,
                       layer if layer is not None else base.layer, grid or base.grid)


def write_samples(data: CaptionData, run_dir: str | Path, count: int = 8) -> list[Path]:
    """For the built-in shapes: save a few test-split pictures in ``run_dir/samples`` to try the model on."""
    ds = data.extra.get("shapes")
    if ds is None:
        return []
    from ..images import save_image

    return [save_image(ds.image(int(i)), Path(run_dir) / "samples" / f"shapes_test_{int(i)}.png")
            for i in ds.splits["test"][:count]]


# -- assembling ----------------------------------------------------------------------------------------------

def _assemble(source: str, feats: np.ndarray, names: list, tokens: list[list[list[str]]], split_of: list[str],
              vocab: Vocabulary | None, max_length: int, min_count: int, fspec: FeatureSpec | None,
              extra: dict | None = None) -> CaptionData:
    """Per-image token lists + split names -> CaptionData (vocabulary from the train split when not given)."""
    check_finite(feats, source)
    splits = {s: np.array([i for i, sp in enumerate(split_of) if sp == s], dtype=np.int64) for s in SPLITS}
    if vocab is None:
        train = splits["train"]
        if len(train) == 0:
            raise DataError(f"{source}: the train split is empty, nothing to build a vocabulary from")
        vocab = Vocabulary.build((t for i in train for t in tokens[i]), min_count=min_count)
        if len(vocab) == 4:
            raise DataError(f"{source}: every training caption consists of unknown words (no word occurs "
                            f"--min-count {min_count} times); lower --min-count or check the captions")
    rows, idxs = [], []
    for i, caps in enumerate(tokens):
        for t in caps:
            rows.append(vocab.encode(t, max_length))
            idxs.append(i)
    captions = np.stack(rows) if rows else np.zeros((0, max_length + 2), np.int32)
    references = [[" ".join(t) for t in caps] for caps in tokens]
    return CaptionData(feats.astype(np.float32, copy=False), captions, np.array(idxs, dtype=np.int64), vocab,
                       splits, references, [str(n) for n in names], source, fspec, extra or {})


def _hash_split(name: str) -> str:
    """A stable 80/10/10 split from the file name, so adding images never moves old ones between splits."""
    h = zlib.crc32(Path(name).name.encode()) % 10
    return "train" if h < 8 else ("val" if h == 8 else "test")


# -- shapes --------------------------------------------------------------------------------------------------

def _load_shapes(spec: str, rest: str, feature_spec, vocab, max_length, min_count, **kw) -> CaptionData:
    try:
        n = int(rest) if rest else DEFAULT_SHAPES_IMAGES
    except ValueError:
        n = -1
    if n < 10:
        raise DataError(f"--data {spec}: expected shapes or shapes:N with N >= 10 images")
    ds = shapes_mod.make_shapes(n, seed=0, image_size=SHAPES_FEATURES.image_size)
    fspec = feature_spec or SHAPES_FEATURES
    key = ["shapes", shapes_mod.VERSION, n, ds.seed, ds.image_size]
    feats = array_features(n, ds.image, key, fspec, **kw)
    split_of = [""] * n
    for s, idx in ds.splits.items():
        for i in idx:
            split_of[i] = s
    tokens = [[tokenize(c) for c in caps] for caps in ds.captions]
    names = [f"shapes:{i}" for i in range(n)]
    return _assemble(spec, feats, names, tokens, split_of, vocab, max_length, min_count, fspec,
                     {"shapes": ds})


# -- COCO / Karpathy JSON ------------------------------------------------------------------------------------

def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: no such caption file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from e


def _field(obj: Any, key: str, path: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{path}: {where} has no {key!r} field (is this the right format?)")
    return obj[key]


def _read_coco(path: Path, image_dir: Path) -> tuple[list[Path], list[list[list[str]]], list[str]]:
    """COCO captions JSON: ``images[]`` (id, file_name) and ``annotations[]`` (image_id, caption)."""
    d = _read_json(path)
    images = _field(d, "images", path, "the top level")
    anns = _field(d, "annotations", path, "the top level")
    if not isinstance(images, list) or not isinstance(anns, list):
        raise DataError(f"{path}: 'images' and 'annotations' must be lists")
    file_of = {}
    for k, im in enumerate(images):
        file_of[_field(im, "id", path, f"images[{k}]")] = _field(im, "file_name", path, f"images[{k}]")
    caps: dict[Any, list[list[str]]] = {}
    for k, a in enumerate(anns):
        image_id = _field(a, "image_id", path, f"annotations[{k}]")
        if image_id not in file_of:
            raise DataError(f"{path}: annotations[{k}] refers to image_id {image_id}, which is not in "
                            "'images'")
        t = tokenize(_field(a, "caption", path, f"annotations[{k}]"))
        if t:
            caps.setdefault(image_id, []).append(t)
    ids = [i for i in file_of if i in caps]  # images without any caption are of no use here
    if not ids:
        raise DataError(f"{path}: no image has a caption")
    names = [image_dir / file_of[i] for i in ids]
    return names, [caps[i] for i in ids], [_hash_split(file_of[i]) for i in ids]


def _read_karpathy(path: Path, image_dir: Path) -> tuple[list[Path], list[list[list[str]]], list[str]]:
    """Karpathy's dataset_*.json: ``images[]`` with split, filename, optional filepath, sentences[].tokens."""
    d = _read_json(path)
    images = _field(d, "images", path, "the top level")
    if not isinstance(images, list):
        raise DataError(f"{path}: 'images' must be a list")
    names, tokens, split_of = [], [], []
    for k, im in enumerate(images):
        split = _field(im, "split", path, f"images[{k}]")
        filename = _field(im, "filename", path, f"images[{k}]")
        sents = _field(im, "sentences", path, f"images[{k}]")
        caps = []
        for j, s in enumerate(sents):
            if isinstance(s, dict) and "tokens" in s:
                t = [w.lower() for w in s["tokens"]]  # already tokenized: keep the split file's tokens
            elif isinstance(s, dict) and "raw" in s:
                t = tokenize(s["raw"])
            else:
                raise DataError(f"{path}: images[{k}].sentences[{j}] has no 'tokens' (or 'raw') field")
            if t:
                caps.append(t)
        if not caps:
            continue
        names.append(image_dir / im.get("filepath", "") / filename)
        tokens.append(caps)
        split_of.append("train" if split == "restval" else str(split))
    if not names:
        raise DataError(f"{path}: no image has a caption")
    return names, tokens, split_of


# -- cs231n --------------------------------------------------------------------------------------------------

def _load_cs231n(spec: str, root: Path) -> CaptionData:
    """The assignment's files as they are: captions/vocab/features/urls; features are VGG16 fc7 (PCA when the
    ``_pca`` files exist), so these runs cannot caption new images (no backbone reproduces the features)."""
    import h5py

    if not root.is_dir():
        raise DataError(f"--data {spec}: {root} is not a folder")
    vocab_path = root / "coco2014_vocab.json"
    v = _read_json(vocab_path)
    vocab = Vocabulary(_field(v, "idx_to_word", vocab_path, "the top level"))
    cap_path = root / "coco2014_captions.h5"
    if not cap_path.is_file():
        raise DataError(f"{cap_path}: no such file (expected the cs231n COCO captions file)")
    try:
        with h5py.File(cap_path, "r") as f:
            parts = {k: np.asarray(f[k]) for k in ("train_captions", "train_image_idxs", "val_captions",
                                                  "val_image_idxs") if k in f}
    except OSError as e:
        raise DataError(f"{cap_path}: not a readable HDF5 file ({e})") from e
    feats, names, captions, idxs, split_of, offset = [], [], [], [], [], 0
    for split in ("train", "val"):
        if f"{split}_captions" not in parts or f"{split}_image_idxs" not in parts:
            raise DataError(f"{cap_path}: missing '{split}_captions' / '{split}_image_idxs' datasets")
        fpath = next((p for p in (root / f"{split}2014_vgg16_fc7_pca.h5", root / f"{split}2014_vgg16_fc7.h5")
                      if p.is_file()), None)
        if fpath is None:
            raise DataError(f"{root}: no {split}2014_vgg16_fc7_pca.h5 or {split}2014_vgg16_fc7.h5 feature "
                            "file")
        try:
            with h5py.File(fpath, "r") as f:
                x = np.asarray(f["features"], dtype=np.float32)
        except (OSError, KeyError) as e:
            raise DataError(f"{fpath}: no readable 'features' dataset ({e})") from e
        check_finite(x, str(fpath))
        c, ii = parts[f"{split}_captions"].astype(np.int32), parts[f"{split}_image_idxs"].astype(np.int64)
        if len(c) != len(ii) or (len(ii) and (ii.min() < 0 or ii.max() >= len(x))):
            raise DataError(f"{cap_path}: {split}_image_idxs do not match the {len(x)} rows of {fpath.name}")
        if len(c) and (c.min() < 0 or c.max() >= len(vocab)):
            raise DataError(f"{cap_path}: {split}_captions has word ids outside the {len(vocab)}-word "
                            "vocabulary")
        url_path = root / f"{split}2014_urls.txt"
        urls = url_path.read_text().split() if url_path.is_file() else []
        names += urls if len(urls) == len(x) else [f"{split}2014:{i}" for i in range(len(x))]
        feats.append(x)
        captions.append(c)
        idxs.append(ii + offset)
        split_of += [split] * len(x)
        offset += len(x)
    features = np.concatenate(feats)
    captions_all = np.concatenate(captions)
    image_idxs = np.concatenate(idxs)
    references: list[list[str]] = [[] for _ in range(len(features))]
    for row, i in zip(captions_all, image_idxs):
        references[i].append(vocab.decode(row))
    splits = {s: np.array([i for i, sp in enumerate(split_of) if sp == s and references[i]], dtype=np.int64)
              for s in SPLITS}
    return CaptionData(features, captions_all, image_idxs, vocab, splits, references, names, spec, None,
                       {"features": "cs231n VGG16 fc7"})
