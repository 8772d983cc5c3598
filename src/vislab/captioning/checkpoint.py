"""Captioning checkpoints: everything needed to resume training exactly or to caption new images.

One file (``checkpoint.pt`` in the run folder, written atomically by `vislab.runs.save_checkpoint`) holds the
parameters, optimizer state, vocabulary, training config, feature spec + transform, progress and RNG states.
`read` checks every field a caption or a resume depends on, so a damaged or hand-edited file is one
`CheckpointError` naming it, never a crash deep inside the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, DataError
from ..runs import load_checkpoint
from . import transformer_decode
from .attention import AttentionCaptioner, attention_param_shapes
from .familiarity import Familiarity
from .features import FeatureSpec, FeatureTransform
from .model import CELL_TYPES, CaptioningRNN, param_shapes
from .settings import DTYPE_NAMES
from .transformer import transformer_param_shapes
from .transformer_decode import check_record as check_transformer_record
from .vocab import Vocabulary

KIND = "captioning"
FILENAME = "checkpoint.pt"
DIM_MAX = 1 << 20  # no sane captioner has a layer this wide; larger values are damage


def checkpoint_path(path: str | os.PathLike) -> Path:
    """A run folder means its checkpoint.pt."""
    p = Path(path)
    return p / FILENAME if p.is_dir() else p


def read(path: str | os.PathLike) -> dict:
    """Load and check a captioning checkpoint (another model's checkpoint, or a damaged one, is a
    `CheckpointError` naming the file and the field at fault)."""
    p = checkpoint_path(path)
    if p.exists() and not p.is_file():
        raise CheckpointError(f"{p}: not a regular file (give a checkpoint or the run folder holding one)")
    state = load_checkpoint(p, kind=KIND)
    try:
        _check(state)
    except (CheckpointError, DataError) as e:
        raise CheckpointError(f"{p}: {e} (a damaged checkpoint, or one written by another version?)") from None
    return state


def _check(state: Any) -> None:
    if not isinstance(state, dict):
        raise CheckpointError(f"holds a {type(state).__name__}, not a captioning state")
    for key, kind in (("config", dict), ("model", dict), ("params", dict), ("vocab", list), ("features", dict),
                      ("progress", dict)):
        if not isinstance(state.get(key), kind):
            raise CheckpointError(f"{key!r} is missing or not a {kind.__name__}")
    m = state["model"]
    if m.get("cell_type") not in (*CELL_TYPES, "transformer") or m.get("dtype") not in DTYPE_NAMES:
        raise CheckpointError(f"model cell_type {m.get('cell_type')!r} / dtype {m.get('dtype')!r} unknown "
                              f"(expected one of {', '.join(CELL_TYPES)}, transformer / {', '.join(DTYPE_NAMES)})")
    for k in ("input_dim", "wordvec_dim", "hidden_dim"):
        _whole(m.get(k), f"model {k}", 1, DIM_MAX)
    _whole(state["config"].get("max_length"), "config max_length", 1, DIM_MAX)
    for k in ("epoch", "batch", "step"):
        _whole(state["progress"].get(k), f"progress {k}", 0, 2**62)
    if not all(isinstance(w, str) for w in state["vocab"]):
        raise CheckpointError("vocab must be a list of words (text)")
    vocab = Vocabulary(state["vocab"])
    if m["cell_type"] == "transformer":
        t = check_transformer_record(state)
        _check_params(state["params"], transformer_param_shapes(len(vocab), m["input_dim"], m["wordvec_dim"],
                                                                m["hidden_dim"], t["cells"], t["layers"]))
    else:
        _check_params(state["params"], _shapes(m, len(vocab)))
    f = state["features"]
    transform = FeatureTransform.from_state(f.get("transform"))
    if transform.output_dim != m["input_dim"]:
        raise CheckpointError(f"the feature transform gives {transform.output_dim}-d features, the model takes "
                              f"{m['input_dim']}")
    if f.get("spec") is not None:
        FeatureSpec.from_dict(f["spec"])
    Familiarity.from_state(f.get("familiarity"))


def _shapes(m: dict, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """The parameter shapes the model record describes (an attention model's, when it has "attention")."""
    a = m.get("attention")
    if a is None:
        return param_shapes(vocab_size, m["input_dim"], m["wordvec_dim"], m["hidden_dim"], m["cell_type"])
    if not isinstance(a, dict) or m["cell_type"] != "lstm" or not isinstance(a.get("reg"), (int, float)):
        raise CheckpointError(f"model attention {str(a)[:80]} is malformed (an lstm with positions, "
                              "attention_dim and reg)")
    _whole(a.get("positions"), "model attention positions", 1, DIM_MAX)
    _whole(a.get("attention_dim"), "model attention attention_dim", 1, DIM_MAX)
    if m["input_dim"] % a["positions"]:
        raise CheckpointError(f"model input_dim {m['input_dim']} is not {a['positions']} cells of equal size")
    return attention_param_shapes(vocab_size, m["input_dim"] // a["positions"], m["wordvec_dim"], m["hidden_dim"],
                                  a["attention_dim"], a["positions"])


def _whole(v: Any, name: str, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise CheckpointError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")


def _check_params(params: dict, shapes: dict[str, tuple[int, ...]]) -> None:
    for k, shape in shapes.items():
        t = params.get(k)
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise CheckpointError(f"parameter {k} is missing or not a float tensor")
        if tuple(t.shape) != shape:
            raise CheckpointError(f"parameter {k} is {tuple(t.shape)}, the model described in the checkpoint "
                                  f"needs {shape}")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"parameter {k} holds NaN or infinite values")


@dataclass
class Captioner:
    """A trained model ready to caption: numpy model, vocabulary, and how to turn images into its features."""

    model: CaptioningRNN
    vocab: Vocabulary
    feature_spec: FeatureSpec | None  # None: trained on precomputed features, cannot read images
    transform: FeatureTransform
    max_length: int
    source: str
    familiarity: Familiarity | None = None  # None: an older checkpoint, without the training features' stats

    @classmethod
    def load(cls, path: str | os.PathLike) -> Captioner:
        return cls.from_state(read(path))

    @classmethod
    def from_state(cls, state: dict) -> Captioner:
        """A captioner from a state `read` has checked."""
        m = state["model"]
        vocab = Vocabulary(state["vocab"])
        dtype = np.float32 if m["dtype"] == "float32" else np.float64
        a = m.get("attention")
        if m["cell_type"] == "transformer":  # torch, behind the numpy models' decoding interface
            model = transformer_decode.from_state(state, vocab.word_to_idx)
        else:
            if a is not None:
                model = AttentionCaptioner(vocab.word_to_idx, m["input_dim"], m["wordvec_dim"], m["hidden_dim"],
                                           a["positions"], a["attention_dim"], a["reg"], dtype=dtype, seed=0)
            else:
                model = CaptioningRNN(vocab.word_to_idx, m["input_dim"], m["wordvec_dim"], m["hidden_dim"],
                                      m["cell_type"], dtype=dtype, seed=0)
            model.params = {k: state["params"][k].detach().cpu().numpy().astype(dtype, copy=True)
                            for k in model.params}
        f = state["features"]
        spec = FeatureSpec.from_dict(f["spec"]) if f.get("spec") else None
        return cls(model, vocab, spec, FeatureTransform.from_state(f["transform"]), state["config"]["max_length"],
                   str(f.get("source", "")), Familiarity.from_state(f.get("familiarity")))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def caption_features(self, raw_features: np.ndarray, beam: int = 1) -> list[str]:
        """Raw backbone features (N, D) -> one caption per row (greedy when beam is 1)."""
        x = self.transform(raw_features)
        steps = self.max_length + 1  # room for max_length words and <END>
        ids = (self.model.sample(x, steps) if beam <= 1
               else self.model.beam_search(x, beam_size=beam, max_length=steps))
        return self.vocab.decode_batch(ids)

    def notes(self, raw_features: np.ndarray) -> list[dict]:
        """Per row: ``{"distance": d}`` from the training images, with a ``"warning"`` when the image is unlike
        them (`familiarity`); empty dicts for a checkpoint without the statistics."""
        if self.familiarity is None:
            return [{} for _ in range(len(raw_features))]
        return self.familiarity.notes(self.transform, raw_features)
