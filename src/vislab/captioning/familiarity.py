"""Is an image like the ones a captioner was trained on? A distance in feature space, and a warning rule.

A captioner trained on coloured shapes still says "a large red circle ..." of a photo of a cat: it has no
words for anything else. So that the caption of such an image is not taken at face value, training stores how
far its own images' features lie from their mean, and captioning compares each new image with that.

Distance: the root-mean-square z-score of an image's raw backbone features under the training features'
per-dimension mean and standard deviation (the `FeatureTransform`'s standardization; PCA, if any, is not
applied), i.e. ``sqrt(mean(((x - mean) / std) ** 2))``. A typical training image sits near 1.

Rule: an image is *unfamiliar* when its distance exceeds ``FACTOR`` times the 99th percentile of the training
images' distances. The factor keeps the false alarms on genuine test images well under the 1 % that the bare
percentile would give (measured on shapes: training p99 1.33, test max 1.51, photos 3.4-4.1).

A checkpoint written before this existed has no statistics: then no distance and no warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CheckpointError
from .features import FeatureTransform

FACTOR = 1.5
"""Warn above this multiple of the training images' 99th-percentile distance."""
CHUNK = 4096


def distances(transform: FeatureTransform, raw: np.ndarray) -> np.ndarray:
    """(N,) distances of raw feature rows (N, D) from the training features (see the module's docstring)."""
    raw = np.asarray(raw)
    out = np.zeros(len(raw))
    for start in range(0, len(raw), CHUNK):  # chunks: a big dataset's features in float64 at once would not fit
        z = (raw[start:start + CHUNK].astype(np.float64) - transform.mean) / transform.std
        out[start:start + CHUNK] = np.sqrt(np.mean(z * z, axis=1))
    return out


@dataclass(frozen=True)
class Familiarity:
    """The training images' distances, summarized: median, 99th percentile and how many were measured."""

    p50: float
    p99: float
    images: int

    @property
    def threshold(self) -> float:
        return FACTOR * self.p99

    @classmethod
    def fit(cls, transform: FeatureTransform, train_raw: np.ndarray) -> Familiarity:
        d = distances(transform, train_raw)
        return cls(float(np.percentile(d, 50)), float(np.percentile(d, 99)), int(len(d)))

    def state(self) -> dict[str, Any]:
        return {"distance": "rms_z", "p50": self.p50, "p99": self.p99, "images": self.images, "factor": FACTOR}

    @classmethod
    def from_state(cls, s: Any) -> Familiarity | None:
        """The statistics a checkpoint stored; None when it has none (an older checkpoint). Malformed ones are
        a `CheckpointError`."""
        if s is None:
            return None
        ok = isinstance(s, dict) and all(_positive(s.get(k)) for k in ("p50", "p99")) and \
            isinstance(s.get("images"), int) and s["images"] > 0
        if not ok:
            raise CheckpointError(f"feature statistics {str(s)[:80]} are malformed")
        return cls(float(s["p50"]), float(s["p99"]), int(s["images"]))

    def notes(self, transform: FeatureTransform, raw: np.ndarray) -> list[dict[str, Any]]:
        """Per image: ``{"distance": d}``, plus ``"warning": text`` when the image is unfamiliar."""
        out = []
        for d in distances(transform, raw):
            note: dict[str, Any] = {"distance": round(float(d), 3)}
            if d > self.threshold:
                note["warning"] = (f"unlike the images the model was trained on (feature distance {d:.2f}; "
                                   f"99% of training images are within {self.p99:.2f}, warned above "
                                   f"{self.threshold:.2f}): the caption is likely meaningless")
            out.append(note)
        return out


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
