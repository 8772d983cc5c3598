"""The shapes captioner with attention that ships in vislab/assets: what `vislab caption IMAGE` uses with no
checkpoint (it knows only the built-in shapes; photos get its out-of-domain warning).

    export_captioner("runs/quality-captioning/grounded/seed1", SHIPPED_PATH, provenance={...})

(`quality/captioning_shapes.py --compare --only grounded --seeds 0,1,2` trains three seeds of the grounded
attention LSTM; the one it picks by validation BLEU-4 ships. The provenance is the JSON beside the file: the
command, the features and the test-split scores that script printed.)

The file is a captioning checkpoint without the optimizer and random states (a model to caption with, not to
resume), so `checkpoint.read` checks it like any other; the JSON beside it records how it was trained and
measured.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import runs
from ..fileio import write_json
from ..jobs import SettingError
from . import checkpoint as ckpt

SHIPPED_PATH = Path(__file__).resolve().parent.parent / "assets" / "captioner-shapes-attention-v2.pt"
PROVENANCE_PATH = SHIPPED_PATH.with_suffix(".json")
KEPT = ("config", "model", "params", "vocab", "features", "progress")


def resolve(checkpoint: str | os.PathLike | None) -> str | os.PathLike:
    """The checkpoint to caption with: the one given, else the shipped captioner (when this install has it)."""
    if checkpoint is not None:
        return checkpoint
    if not SHIPPED_PATH.is_file():
        raise SettingError("checkpoint", f"must be given: this install has no shipped captioner ({SHIPPED_PATH.name})")
    return SHIPPED_PATH


def export_captioner(run: str | os.PathLike, path: str | os.PathLike = SHIPPED_PATH, *,
                     provenance: dict[str, Any] | None = None) -> Path:
    """Write `run`'s model the shipped way: parameters, vocabulary, features and their statistics only."""
    state = ckpt.read(run)
    slim = {k: state[k] for k in KEPT}
    if "transformer" in state:  # a Transformer's shape record: without it the exported file is refused on load
        slim["transformer"] = state["transformer"]
    slim["params"] = {k: v.detach().cpu().float().clone() for k, v in state["params"].items()}
    slim["model"] = {**state["model"], "dtype": "float32"}
    out = runs.save_checkpoint(slim, path, kind=ckpt.KIND)
    if provenance is not None:
        write_json(Path(path).with_suffix(".json"), provenance)
    return out
