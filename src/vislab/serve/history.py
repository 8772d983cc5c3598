"""Past runs in the runs folder (made by this server, an earlier one or the CLI) and the checkpoints a form may
pick from them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .paths import OutsideRuns, read_json, run_folder
from .uploads import upload_name, upload_token
from .views import bad_status

MAX_INPUTS = 8
"""Input pictures named in one history row."""

MAX_RUNS = 300
"""Newest runs listed; older ones stay on disk (and in ``vislab report``)."""


def list_runs(root: Path, depth: int = 2) -> list[dict[str, Any]]:
    """Run folders under `root` (and one level into folders of runs, such as a tour), newest first."""
    found: list[tuple[float, str, Path]] = []
    _walk(root, "", depth, found)
    found.sort(key=lambda t: t[0], reverse=True)
    return [_describe(root, rel, p, mtime) for mtime, rel, p in found[:MAX_RUNS]]


def _walk(folder: Path, prefix: str, depth: int, found: list) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if e.name.startswith(".") or not e.is_dir(follow_symlinks=False):
            continue
        p, rel = Path(e.path), prefix + e.name
        if (p / "config.json").is_file() or (p / "status.json").is_file():
            try:
                found.append((e.stat(follow_symlinks=False).st_mtime, rel, p))
            except OSError:
                continue
        if depth > 1:
            _walk(p, rel + "/", depth - 1, found)


def _describe(root: Path, rel: str, p: Path, mtime: float) -> dict[str, Any]:
    """One history row. A status.json that is not what vislab writes (copied in, damaged) shows as
    ``unreadable``; a missing or unreadable one (a link out of the run, a FIFO) as ``incomplete``. "inputs":
    the pictures it read, uploads by the names they were uploaded as."""
    status = read_json(p / "status.json", 2**20)
    state = "unreadable" if bad_status(status) else status.get("status") if isinstance(status, dict) else None
    config = read_json(p / "config.json")
    kind = config.get("kind") if isinstance(config, dict) else None
    return {"id": rel, "kind": kind if isinstance(kind, str) else "runs",
            "status": state[:40] if isinstance(state, str) else "incomplete", "time": mtime,
            "report": f"/runs/{rel}/report", "inputs": _inputs(root, config)}


def _inputs(root: Path, config: Any) -> list[str]:
    """The pictures a run's settings name: ``sample:NAME`` as it is, an upload by its original name."""
    settings = config.get("config") if isinstance(config, dict) else None
    out: list[str] = []
    for v in settings.values() if isinstance(settings, dict) else ():
        for spec in v if isinstance(v, list) else [v]:
            token = upload_token(spec)
            if token:
                out.append(upload_name(root, token) or "uploaded picture")
            elif isinstance(spec, str) and spec.startswith("sample:"):
                out.append(spec[:80])
    return out[:MAX_INPUTS]


def run_kind(p: Path) -> str | None:
    """The run's kind from its config.json, read the guarded way (never a FIFO or a link out of the run)."""
    config = read_json(p / "config.json")
    kind = config.get("kind") if isinstance(config, dict) else None
    return kind if isinstance(kind, str) else None


def find_checkpoint(root: Path, rel: Any, kind: str) -> str:
    """The run folder `rel` inside `root` when it is a `kind` run holding a checkpoint.pt; the job then loads
    it as the CLI would (``weights_only``)."""
    if not isinstance(rel, str):
        raise ConfigError(f"checkpoint must name a {kind} run in the runs folder, got {rel!r}")
    try:
        p = run_folder(root, rel)
    except OutsideRuns:
        raise ConfigError(f"checkpoint {rel!r}: no such run in the runs folder") from None
    if run_kind(p) != kind or not (p / "checkpoint.pt").is_file():
        raise ConfigError(f"checkpoint {rel!r}: not a {kind} run with a checkpoint.pt")
    return os.fspath(p)


def checkpoints(root: Path, runs: list[dict[str, Any]], kind: str) -> list[str]:
    """The `kind` runs among `runs` (from `list_runs`) that hold a checkpoint."""
    return [r["id"] for r in runs if r["kind"] == kind and (root / r["id"] / "checkpoint.pt").is_file()]

