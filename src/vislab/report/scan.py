"""Read run folders into plain `RunInfo` records, tolerating anything missing or corrupt.

A run folder (see `vislab.runs`) holds ``config.json``, ``metrics.jsonl``, result images anywhere below it and
checkpoints (``*.pt``). The report must render whatever is there, so nothing here raises for a bad file: each
problem is recorded in `RunInfo.problems` and the run is shown as incomplete.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from .captions import Caption, read_captions
from .safefiles import (
    Unreadable,
    entry_exists,
    is_real_dir,
    open_file,
    parse_json,
    read_bytes,
    read_head,
    read_json,
    real_path,
    stat_file,
    walk_files,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
"""Result images the report shows: the formats every browser draws."""

TEXT_SUFFIXES = (".txt", ".json", ".md", ".csv")
"""Small text outputs (captions, predictions, summaries) shown verbatim."""

MAX_TEXT_BYTES = 8_000
MAX_IMAGE_PIXELS = 50_000_000
MAX_METRICS_BYTES = 32 * 2**20
"""A long training run logs a few MB; a bigger metrics.jsonl is not read (the run shows as incomplete)."""
MAX_METRIC_ROWS = 300_000
MAX_FILES = 5_000
"""Files looked at per run folder; a folder with more shows the first ones and says so."""
HISTORY_FIELDS = ("time", "action", "command")
SKIP_FILES = {"config.json", "metrics.jsonl", "status.json"}
STATUS_FILE = "status.json"
"""Optional ``{"status": "ok"|"failed"|"not available"|"interrupted", "message": str, "seconds": float,
"cpu_seconds": float, "headline": "picture.png"}`` that a driver such as `vislab tour` leaves in a run folder
it made; the report shows it as the run's outcome (and the headline picture at the top of the page)."""


@dataclass
class ImageFile:
    path: Path  # absolute
    rel: str  # relative to the run folder, "/"-separated
    width: int
    height: int


@dataclass
class RunInfo:
    """Everything the report shows about one run folder."""

    path: Path
    name: str
    command: str | None = None
    version: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    images: list[ImageFile] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (relative path, content)
    checkpoints: list[tuple[str, int]] = field(default_factory=list)  # (relative path, bytes)
    problems: list[str] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)  # config.json "history": resumes and the like
    status: dict[str, Any] | None = None
    file_times: tuple[float, float] | None = None  # (oldest, newest) mtime of the run's own files
    captions: dict[str, Caption] = field(default_factory=dict)  # picture (relative path) -> its caption

    @property
    def state(self) -> str:
        """"complete", "incomplete", or the outcome a driver recorded ("failed", "not available", ...)."""
        if self.status is not None and self.status.get("status") not in (None, "ok"):
            state = self.status["status"]
            return as_text(state)[:40] or "unknown"
        return "incomplete" if self.problems else "complete"


def is_run_dir(path: Path) -> bool:
    """A folder is a run if it has a config.json, metrics.jsonl or a driver's status.json (of any kind: a
    FIFO or a dangling link so named still marks a run, and is then shown as unreadable)."""
    return any(entry_exists(path / n) for n in ("config.json", "metrics.jsonl", STATUS_FILE))


def find_runs(paths: list[Path]) -> list[Path]:
    """The run folders among `paths` and below them (a folder of runs, such as a tour, expands to its runs).

    Sorted by path so the same folders always give the same page, whatever order the shell listed them in.
    """
    found: set[Path] = set()
    for p in paths:
        p = real_path(p)
        children = _child_runs(p)
        if is_run_dir(p) or not children:
            found.add(p)  # a run, or nothing recognisable in it: still shown, as incomplete
        found.update(children)
    return sorted(found, key=lambda q: _natural_key(str(q)))


def _child_runs(p: Path, depth: int = 2) -> list[Path]:
    # Symlinked folders are not followed: a link in a folder of runs could lead anywhere (another user's runs).
    if depth == 0:
        return []
    try:
        with os.scandir(p) as it:
            dirs = sorted(Path(e.path) for e in it if is_real_dir(e) and not e.name.startswith("."))
    except OSError:
        return []  # unreadable: `scan_run` reports it when this folder is itself a run
    out = []
    for c in dirs:
        if is_run_dir(c):
            out.append(c)
        out.extend(_child_runs(c, depth - 1))
    return out


def scan_run(path: Path, *, exclude: set[Path] | None = None) -> RunInfo:
    """Read one run folder. `exclude` holds files to ignore (the report page itself, when written inside)."""
    path = real_path(path)
    info = RunInfo(path=path, name=path.name)
    if not os.path.isdir(path):  # os.path: False rather than PermissionError where the parent is unreadable
        info.problems.append("folder missing" if not os.path.lexists(path) else "not a folder")
        return info
    try:
        os.scandir(path).close()
    except OSError as e:
        info.problems.append(f"folder unreadable ({e.strerror or type(e).__name__})")
        return info
    _read_config(info)
    _read_metrics(info)
    _read_status(info)
    _read_files(info, exclude or set())
    return info


_NOTHING = object()


def _read_json_file(info: RunInfo, name: str) -> Any:
    """The parsed file, or `_NOTHING` after noting why it is missing or unreadable (a file holding ``null``
    parses to None)."""
    p = info.path / name
    if not os.path.lexists(p):  # anything so named (a folder, a FIFO, a dangling link) is read and refused
        if name != STATUS_FILE:  # only drivers such as `vislab tour` write a status
            info.problems.append(f"{name} missing")
        return _NOTHING
    try:
        return read_json(p, info.path)
    except Unreadable as e:
        info.problems.append(f"{name} unreadable ({e})")
        return _NOTHING


def _read_config(info: RunInfo) -> None:
    data = _read_json_file(info, "config.json")
    if data is _NOTHING:
        return
    if not isinstance(data, dict):
        info.problems.append("config.json is not a JSON object")
        return
    info.command = data.get("command") if isinstance(data.get("command"), str) else None
    version = data.get("vislab_version")
    info.version = None if version is None else as_text(version)
    cfg = data.get("config")
    if isinstance(cfg, dict):
        info.config = cfg
    else:
        info.problems.append("config.json has no 'config' settings")
    if "history" in data:
        _read_history(info, data["history"])


def _read_history(info: RunInfo, history: Any) -> None:
    """``"history": [{"command": str, "time": str, "action": str}, ...]`` (resumes and the like): each entry
    kept as strings; anything else in the list is counted as unreadable."""
    if not isinstance(history, list):
        info.problems.append("config.json: 'history' is not a list")
        return
    bad = 0
    for entry in history:
        if not isinstance(entry, dict) or not any(k in entry for k in HISTORY_FIELDS):
            bad += 1
            continue
        info.history.append({k: as_text(entry[k]) for k in HISTORY_FIELDS if entry.get(k) is not None})
    if bad:
        info.problems.append(f"config.json: {bad} unreadable 'history' entr{'y' if bad == 1 else 'ies'}")


def as_text(v: Any) -> str:
    """A value as the page shows it: strings as they are, anything else as JSON (never raising)."""
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, default=str)
    except (ValueError, TypeError, RecursionError):
        return f"({type(v).__name__} that cannot be shown)"


def _read_metrics(info: RunInfo) -> None:
    p = info.path / "metrics.jsonl"
    if not os.path.lexists(p):  # anything so named (a folder, a FIFO, a dangling link) is read and refused
        info.problems.append("metrics.jsonl missing")
        return
    try:
        text = read_bytes(p, info.path, MAX_METRICS_BYTES).decode("utf-8", errors="replace")
    except Unreadable as e:
        info.problems.append(f"metrics.jsonl unreadable ({e})")
        return
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        if len(info.rows) >= MAX_METRIC_ROWS:
            info.problems.append(f"metrics.jsonl: only the first {MAX_METRIC_ROWS} rows read")
            break
        if not line.strip():
            continue
        try:
            row = parse_json(line)
        except Unreadable:
            row = None
        if isinstance(row, dict):
            info.rows.append(row)
        else:
            bad.append(n)
    if bad:
        where = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        info.problems.append(f"metrics.jsonl: {len(bad)} unreadable line(s) (line {where})")


def _read_status(info: RunInfo) -> None:
    data = _read_json_file(info, STATUS_FILE)
    if data is _NOTHING:
        return
    if isinstance(data, dict):
        info.status = data
    else:
        info.problems.append(f"{STATUS_FILE} is not a JSON object")


def _read_files(info: RunInfo, exclude: set[Path]) -> None:
    times = []
    files, problems = walk_files(info.path, is_run_dir, MAX_FILES)
    info.problems.extend(problems)
    for f in sorted(files, key=lambda q: _natural_key(q.relative_to(info.path).as_posix())):
        if f in exclude or f.name.startswith("."):
            continue
        rel = f.relative_to(info.path).as_posix()
        suffix = f.suffix.lower()
        shown = suffix in IMAGE_SUFFIXES or suffix == ".pt" or (
            suffix in TEXT_SUFFIXES and not (f.parent == info.path and f.name in SKIP_FILES))
        try:
            _, st = stat_file(f, info.path)
        except Unreadable as e:
            if shown:  # other files are not on the page anyway
                info.problems.append(f"{rel}: {e}")
            continue
        if suffix not in (".html", ".htm"):
            times.append(st.st_mtime)
        if suffix in IMAGE_SUFFIXES:
            size, err = _image_size(f, info.path)
            if err:
                info.problems.append(f"{rel}: unreadable image ({err})")
            else:
                info.images.append(ImageFile(f, rel, *size))
        elif suffix == ".pt":
            info.checkpoints.append((rel, st.st_size))
        elif shown:
            info.texts.append((rel, _read_text(f, info.path)))
    if times:
        info.file_times = (min(times), max(times))
    info.captions = read_captions(info.path, [im.rel for im in info.images])


def _image_size(f: Path, root: Path) -> tuple[tuple[int, int], str | None]:
    """(width, height) of a fully decodable image, or the reason it is not one."""
    try:
        fh, _ = open_file(f, root)
    except Unreadable as e:
        return (0, 0), str(e)
    try:
        with fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(fh) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    return (w, h), f"{w}x{h} is too large to show"
                im.load()  # decode fully, so a truncated file is caught here rather than as a broken picture
                return (w, h), None
    except Exception as e:  # noqa: BLE001 - PIL raises many types for bad files; all mean "cannot show it"
        return (0, 0), _short(e)


def _read_text(f: Path, root: Path) -> str:
    try:
        data, size = read_head(f, root, MAX_TEXT_BYTES)
    except Unreadable as e:
        return f"(unreadable: {e})"
    text = data.decode("utf-8", errors="replace")
    if size > MAX_TEXT_BYTES:
        text += f"\n... ({size - MAX_TEXT_BYTES} more bytes)"
    return text


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:160]


def _natural_key(s: str) -> list:
    """Sort "step_2.png" before "step_10.png"."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t]


# -- metrics as series ---------------------------------------------------------------------------------------
NOT_PLOTTED = ("step", "time", "epoch")


def numeric_series(rows: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Each numeric metric as (step, value) points, in the order metrics first appear. Rows without a finite
    numeric "step" use their position. Booleans and strings are not numeric; NaN/inf values (and integers too
    large for a float, taken as +-inf) are kept (shown in tables, dropped from plots)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for i, row in enumerate(rows):
        step = as_number(row.get("step"))
        x = step if step is not None and math.isfinite(step) else float(i)
        for k, v in row.items():
            y = as_number(v)
            if k in ("step", "time") or y is None:
                continue
            series.setdefault(str(k), []).append((x, y))
    return series


def other_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The last value of each non-numeric metric (strings, lists, ...)."""
    last: dict[str, Any] = {}
    for row in rows:
        for k, v in row.items():
            if k not in ("step", "time") and not _is_number(v):
                last[str(k)] = v
    return last


def as_number(v: Any) -> float | None:
    """`v` as a float if it is a JSON number (not a boolean); an int too large for a float gives +-inf."""
    if not _is_number(v):
        return None
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def finite_number(v: Any) -> float | None:
    """`v` as a float if it is a finite JSON number, else None."""
    x = as_number(v)
    return x if x is not None and math.isfinite(x) else None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
