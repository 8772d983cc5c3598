"""Run folders and checkpoints.

Every command that produces something writes into a run folder: its outputs, ``config.json`` (every setting and the
seed) and ``metrics.jsonl`` (one JSON object per line). Checkpoints are plain dicts of tensors, numbers and strings,
written to a temporary file and renamed, and loaded with ``torch.load(weights_only=True)`` so a checkpoint file can
never run code.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import CheckpointError
from .fileio import atomic_path, write_json


def make_run_dir(out: str | os.PathLike | None, command: str) -> Path:
    """The run folder for `command`: `out` if given, else ``runs/<command>-<YYYYmmdd-HHMMSS>`` (made unique)."""
    if out is not None:
        p = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        p = Path("runs") / f"{command}-{stamp}"
        i = 1
        while p.exists():
            i += 1
            p = Path("runs") / f"{command}-{stamp}-{i}"
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_config(run_dir: str | os.PathLike, config: dict[str, Any], *, command: str | None = None) -> Path:
    """Write ``config.json``: the settings, the command line that ran and the vislab version."""
    payload = {
        "command": command if command is not None else " ".join(["vislab", *sys.argv[1:]]),
        "vislab_version": __version__,
        "config": config,
    }
    path = Path(run_dir) / "config.json"
    write_json(path, payload)
    return path


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``config`` part of a run folder's ``config.json``."""
    path = Path(run_dir) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["config"]
    except (OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: not a readable vislab run config ({e})") from e


class MetricsLog:
    """Append-only ``metrics.jsonl``. On resume, lines logged after the resumed step are dropped, so a resumed run's
    log reads exactly like an uninterrupted one."""

    def __init__(self, run_dir: str | os.PathLike, *, resume_step: int | None = None) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        if resume_step is None:
            if self.path.exists():
                self.path.unlink()
        elif self.path.exists():
            kept = [r for r in read_metrics(self.path) if r.get("step", -1) <= resume_step]
            with atomic_path(self.path) as tmp:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")

    def log(self, step: int, **metrics: Any) -> None:
        row = {"step": int(step), "time": round(time.time(), 3)}
        row.update({k: _plain(v) for k, v in metrics.items()})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of a ``metrics.jsonl`` (a folder is taken to mean its metrics.jsonl); a torn last line is skipped."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.jsonl"
    rows = []
    if not p.exists():
        return rows
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _plain(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.item() if v.numel() == 1 else v.tolist()
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return v.item()
    return v


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike, *, kind: str) -> Path:
    """Atomically save `state` with a `kind` tag (e.g. ``"gan"``, ``"captioning"``) and the vislab version.

    `state` must hold only what ``weights_only`` loading accepts: tensors, numbers, strings, bools, None,
    and lists/tuples/dicts of those.
    """
    path = Path(path)
    payload = {"vislab_kind": kind, "vislab_version": __version__, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, *, kind: str | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint`; raise `CheckpointError` when it is missing, corrupt, not a
    vislab checkpoint, or of another `kind`."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad files; all mean "unreadable"
        raise CheckpointError(f"{p}: not a readable checkpoint ({describe_load_error(e)})") from e
    if not isinstance(state, dict) or "vislab_kind" not in state:
        raise CheckpointError(f"{p}: not a vislab checkpoint")
    if kind is not None and state["vislab_kind"] != kind:
        raise CheckpointError(f"{p}: is a {state['vislab_kind']!r} checkpoint, expected a {kind!r} checkpoint")
    return state


def describe_load_error(e: BaseException) -> str:
    """A short reason for a failed ``torch.load``: torch's own message for a file that holds arbitrary Python
    objects advises loading it unsafely, which is the one thing not to do with a file you cannot vouch for."""
    text = str(e).strip()
    if "Unsupported operand" in text or "invalid load key" in text:
        return "not a PyTorch file"
    if "PytorchStreamReader" in text:
        return "truncated or corrupt PyTorch file"
    if "Weights only load failed" in text:
        return "it holds Python objects that safe loading (weights_only=True) refuses"
    first = text.splitlines()[0] if text else type(e).__name__
    return first[:200]
