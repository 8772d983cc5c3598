"""Captioning checkpoints: everything needed to resume training exactly or to caption new images.

One file (``checkpoint.pt`` in the run folder, written atomically by `vislab.runs.save_checkpoint`) holds the
parameters, optimizer state, vocabulary, training config, feature spec + transform, progress and RNG states.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CheckpointError
from ..runs import load_checkpoint
from .engines import DTYPES
from .features import FeatureSpec, FeatureTransform
from .model import CaptioningRNN
from .vocab import Vocabulary

KIND = "captioning"
FILENAME = "checkpoint.pt"


def checkpoint_path(path: str | os.PathLike) -> Path:
    """A run folder means its checkpoint.pt."""
    p = Path(path)
    return p / FILENAME if p.is_dir() else p


def read(path: str | os.PathLike) -> dict:
    """Load and sanity-check a captioning checkpoint (another model's checkpoint is a `CheckpointError`)."""
    p = checkpoint_path(path)
    state = load_checkpoint(p, kind=KIND)
    for key in ("config", "model", "params", "vocab", "features", "progress"):
        if key not in state:
            raise CheckpointError(f"{p}: captioning checkpoint without {key!r} (written by another version?)")
    return state


@dataclass
class Captioner:
    """A trained model ready to caption: numpy model, vocabulary, and how to turn images into its features."""

    model: CaptioningRNN
    vocab: Vocabulary
    feature_spec: FeatureSpec | None  # None: trained on precomputed features, cannot read images
    transform: FeatureTransform
    max_length: int
    source: str

    @classmethod
    def load(cls, path: str | os.PathLike) -> Captioner:
        state = read(path)
        m = state["model"]
        vocab = Vocabulary(state["vocab"])
        model = CaptioningRNN(vocab.word_to_idx, int(m["input_dim"]), int(m["wordvec_dim"]),
                              int(m["hidden_dim"]), m["cell_type"], dtype=DTYPES[m["dtype"]][0], seed=0)
        for k, ref in model.params.items():
            t = state["params"].get(k)
            if t is None or tuple(t.shape) != ref.shape:
                got = None if t is None else tuple(t.shape)
                raise CheckpointError(f"{checkpoint_path(path)}: parameter {k} is {got}, the model described "
                                      f"in the checkpoint needs {ref.shape}")
            model.params[k] = t.numpy().astype(ref.dtype, copy=True)
        f = state["features"]
        spec = FeatureSpec.from_dict(f["spec"]) if f.get("spec") else None
        return cls(model, vocab, spec, FeatureTransform.from_state(f["transform"]),
                   int(state["config"]["max_length"]), str(f.get("source", "")))

    def caption_features(self, raw_features: np.ndarray, beam: int = 1) -> list[str]:
        """Raw backbone features (N, D) -> one caption per row (greedy when beam is 1)."""
        x = self.transform(raw_features)
        steps = self.max_length + 1  # room for max_length words and <END>
        ids = (self.model.sample(x, steps) if beam <= 1
               else self.model.beam_search(x, beam_size=beam, max_length=steps))
        return self.vocab.decode_batch(ids)
