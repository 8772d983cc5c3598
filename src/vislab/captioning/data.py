"""Loading a dataset from a data spec (see `vislab.captioning.sources`) into one `CaptionData`.

Every loader gives raw features (N, D); `FeatureTransform` standardizes them with training statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from ..machine import check_memory
from . import shapes as shapes_mod
from .cs231n import load_cs231n
from .dataset import SPLITS, CaptionData
from .features import FeatureSpec, array_features, check_finite, file_features
from .readers import read_coco, read_karpathy
from .sources import DataSettingError, parse_data_spec
from .tokenize import tokenize
from .vocab import Vocabulary

__all__ = ["CaptionData", "load_data", "default_feature_spec", "write_samples", "SHAPES_FEATURES", "SPLITS"]

# Shapes are drawn at 128 px and seen at that size (fast on a CPU). Their captions are about colour, kind,
# size and *where* ("left of"), which the globally pooled penultimate features mostly average away; a
# mid-level layer (block7, stride 16) pooled over three columns keeps all four (a linear probe reads the
# leftmost shape's colour/kind/size at 93/99/98%, against 58/84/83% from the pooled penultimate features).
SHAPES_FEATURES = FeatureSpec(image_size=128, layer="block7", grid=(1, 3))
SHAPES_BYTES_PER_IMAGE = 8 * 1024  # scene, captions, tokens and features of one picture, measured ~5 KiB


def load_data(spec: str, *, feature_spec: FeatureSpec | None = None, vocab: Vocabulary | None = None,
              max_length: int = 16, min_count: int = 1, device: str = "cpu", batch_size: int = 32,
              cache: bool = True, progress: bool = True) -> CaptionData:
    """Load a dataset from a data spec (a bad spec is a `DataError` naming the ``data`` setting).

    The vocabulary is built from the training split (`min_count`) unless one is given (evaluating a
    checkpoint); captions are cut to `max_length` words. `feature_spec` says which backbone makes image
    features (default: `default_feature_spec`).
    """
    source = parse_data_spec(spec)
    kw = dict(device=device, batch_size=batch_size, cache=cache, progress=progress)
    if source.kind == "shapes":
        return _load_shapes(spec, source.count, feature_spec, vocab, max_length, min_count, **kw)
    if source.kind == "cs231n":
        return load_cs231n(spec, source.folder)
    load = read_coco if source.kind == "coco" else read_karpathy
    names, tokens, split_of = load(source.json_path, source.folder)
    fspec = feature_spec or FeatureSpec()
    feats = file_features(names, fspec, **kw)
    return _assemble(spec, feats, names, tokens, split_of, vocab, max_length, min_count, fspec)


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
            raise DataSettingError("min_count", f"{min_count}: no training word of {source} occurs that often, "
                                                "so every caption would be unknown words; lower it or check the "
                                                "captions")
    rows, idxs = [], []
    for i, caps in enumerate(tokens):
        for t in caps:
            rows.append(vocab.encode(t, max_length))
            idxs.append(i)
    captions = np.stack(rows) if rows else np.zeros((0, max_length + 2), np.int32)
    references = [[" ".join(t) for t in caps] for caps in tokens]
    return CaptionData(feats.astype(np.float32, copy=False), captions, np.array(idxs, dtype=np.int64), vocab,
                       splits, references, [str(n) for n in names], source, fspec, extra or {})


# -- shapes --------------------------------------------------------------------------------------------------

def _load_shapes(spec: str, n: int, feature_spec, vocab, max_length, min_count, **kw) -> CaptionData:
    check_memory(n * SHAPES_BYTES_PER_IMAGE, f"data {spec} ({n:,} pictures)", hint="use fewer pictures")
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


