"""Run folders and checkpoints.

Every command that produces something writes into a run folder: its outputs, ``config.json`` (every setting and the
seed) and ``metrics.jsonl`` (one JSON object per line). Checkpoints are plain dicts of tensors, numbers and strings,
written to a temporary file and renamed, and loaded with ``torch.load(weights_only=True)`` so a checkpoint file can
never run code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import CheckpointError, ConfigError, SettingError
from .fileio import LOCK_NAME, atomic_path, open_append, open_existing_or_new, write_json


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that every interrupt path (keep the last checkpoint, save the
    image so far) serves both."""


RUN_MARKERS = ("config.json", "status.json")
"""Files that make a folder a vislab run folder."""

_held: dict[Path, int] = {}  # run folders this process has locked -> the lock file's descriptor
_kinds: dict[Path, str] = {}  # run folders this process made -> the command they are for


def make_run_dir(out: str | os.PathLike | None, command: str, *, resume: bool = False,
                 overwrite: bool = False) -> Path:
    """The run folder for `command`: `out` if given, else ``runs/<command>-<YYYYmmdd-HHMMSS>`` (made unique).

    A folder that holds another run's results is refused unless `resume` (a run of the same `command`
    continues there) or `overwrite` (its files are removed first). The folder is locked for this process,
    so a second process cannot write into it at the same time; the kernel drops the lock when the process
    dies, so a crashed run never leaves it stuck."""
    if out is not None:
        p = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        p = Path("runs") / f"{command}-{stamp}"
        i = 1
        while p.exists():
            i += 1
            p = Path("runs") / f"{command}-{stamp}-{i}"
    if p.exists() and not p.is_dir():
        raise SettingError("out", f"{p}: exists and is not a folder")
    p.mkdir(parents=True, exist_ok=True)
    _check_reuse(p, command, resume=resume, overwrite=overwrite)  # before leaving even a lock file there
    lock_run_dir(p)
    # Again under the lock: another run may have finished there meanwhile.
    if _check_reuse(p, command, resume=resume, overwrite=overwrite) and overwrite:
        empty_run_dir(p)
    _kinds[p.resolve()] = command
    return p


def _check_reuse(p: Path, command: str, *, resume: bool, overwrite: bool) -> bool:
    """Refuse a folder we may not write into; True when it holds a run (that `resume`/`overwrite` allow)."""
    entries = [e for e in p.iterdir() if e.name != LOCK_NAME]
    if not entries:
        return False
    if not any((p / m).is_file() for m in RUN_MARKERS):
        raise SettingError("out", f"{p}: folder is not empty and holds no vislab run; choose an empty or new folder")
    previous = run_kind(p)
    if resume:
        if previous not in (None, command):
            raise SettingError("out", f"{p}: holds a {previous!r} run, not a {command!r} run; cannot resume it")
        return True
    if not overwrite:
        raise SettingError("out", f"{p}: holds the results of a {previous or 'vislab'!r} run; choose another "
                                  "folder, or add overwrite to replace them")
    return True


def empty_run_dir(p: Path) -> None:
    """Remove everything in a run folder but its lock file (what `overwrite` does before a new run)."""
    for e in p.iterdir():
        if e.name == LOCK_NAME:
            continue
        if e.is_dir() and not e.is_symlink():
            shutil.rmtree(e)
        else:
            e.unlink()


def run_kind(run_dir: str | os.PathLike) -> str | None:
    """The command that made a run folder (``kind`` in its config.json), or None when unknown."""
    payload = _read_payload(Path(run_dir) / "config.json")
    kind = payload.get("kind") if payload is not None else None
    return kind if isinstance(kind, str) else None


def lock_run_dir(p: str | os.PathLike) -> None:
    """Hold an exclusive lock on run folder `p` until `release_run_dirs` or the process ends."""
    key = Path(p).resolve()
    if key in _held:
        return
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; the results guard still applies
        return
    fd = _open_lock(key / LOCK_NAME)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
        os.close(fd)
        raise SettingError("out", f"{p}: another vislab process{f' (pid {holder})' if holder else ''} is "
                                  "writing into this run folder; wait for it or choose another folder") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held[key] = fd


def _open_lock(path: Path) -> int:
    """The lock file's descriptor: never through a symlink, and only a file that is a lock (empty or a pid), so
    a planted or copied-in file of another kind is never emptied."""
    fd = open_existing_or_new(path, os.O_RDWR, "lock file")  # LinkRefused (a ConfigError) for a link
    head = os.pread(fd, 64, 0).strip()
    if len(head) > 20 or (head and not head.isdigit()):
        os.close(fd)
        raise ConfigError(f"{path}: is not a vislab lock file (it holds other data); vislab does not overwrite it. "
                          "Remove it if this is a run folder, or choose another folder")
    return fd


def release_run_dirs() -> None:
    """Release every run-folder lock this process holds (the CLI calls it when a command ends)."""
    while _held:
        _unlock(_held.popitem()[1])


def release_run_dir(p: str | os.PathLike) -> None:
    """Release one run folder's lock (a server releases each job's folder as the job ends)."""
    fd = _held.pop(Path(p).resolve(), None)
    if fd is not None:
        _unlock(fd)


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    os.close(fd)


def write_config(run_dir: str | os.PathLike, config: dict[str, Any], *, command: str | None = None,
                 kind: str | None = None, resume: bool = False) -> Path:
    """Write ``config.json``: the settings, the command line that ran, the kind of run and the vislab version.

    On `resume` the original command and settings are kept, and the resume is added to ``history`` with the
    settings that changed."""
    command = command if command is not None else "(library call)"  # the caller passes its command line
    kind = kind if kind is not None else _kinds.get(Path(run_dir).resolve())
    path = Path(run_dir) / "config.json"
    previous = _read_payload(path) if resume else None
    if previous is not None:
        old = previous.get("config") if isinstance(previous.get("config"), dict) else {}
        changed = {k: v for k, v in config.items() if old.get(k) != _jsonable(v)}
        entry = {"action": "resume", "command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "changed": changed}
        history = previous.get("history") if isinstance(previous.get("history"), list) else []
        payload = {**previous, "history": [*history, entry]}
    else:
        payload = {"command": command, "kind": kind, "vislab_version": __version__, "config": config,
                   "history": []}
    write_json(path, payload)
    return path


def _read_payload(path: Path) -> dict[str, Any] | None:
    """A config.json as a dict; None when it is missing, unreadable or not an object (the one reader)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _jsonable(v: Any) -> Any:
    return json.loads(json.dumps(v, default=str))


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``config`` part of a run folder's ``config.json``."""
    path = Path(run_dir) / "config.json"
    payload = _read_payload(path)
    config = payload.get("config") if payload is not None else None
    if not isinstance(config, dict):
        why = "missing or unreadable" if payload is None else "no settings in it"
        raise CheckpointError(f"{path}: not a readable vislab run config ({why})")
    return config


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
        with open_append(self.path) as f:  # never through a link planted at metrics.jsonl
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
