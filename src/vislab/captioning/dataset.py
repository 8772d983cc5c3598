"""`CaptionData`: one container for every dataset, so training and evaluation never care where data came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError
from .features import FeatureSpec
from .vocab import Vocabulary

SPLITS = ("train", "val", "test")


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
