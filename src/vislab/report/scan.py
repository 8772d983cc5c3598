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

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
"""Result images the report shows: the formats every browser draws."""

TEXT_SUFFIXES = (".txt", ".json", ".md", ".csv")
"""Small text outputs (captions, predictions, summaries) shown verbatim."""

MAX_TEXT_BYTES = 8_000
MAX_IMAGE_PIXELS = 50_000_000
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
    status: dict[str, Any] | None = None
    file_times: tuple[float, float] | None = None  # (oldest, newest) mtime of the run's own files

    @property
    def state(self) -> str:
        """"complete", "incomplete", or the outcome a driver recorded ("failed", "not available", ...)."""
        if self.status is not None and self.status.get("status") not in (None, "ok"):
            return str(self.status["status"])
        return "incomplete" if self.problems else "complete"


def is_run_dir(path: Path) -> bool:
    """A folder is a run if it has a config.json, metrics.jsonl or a driver's status.json."""
    return any((path / n).is_file() for n in ("config.json", "metrics.jsonl", STATUS_FILE))


def find_runs(paths: list[Path]) -> list[Path]:
    """The run folders among `paths` and below them (a folder of runs, such as a tour, expands to its runs).

    Sorted by path so the same folders always give the same page, whatever order the shell listed them in.
    """
    found: set[Path] = set()
    for p in paths:
        p = Path(p).resolve()
        children = _child_runs(p)
        if is_run_dir(p) or not children:
            found.add(p)  # a run, or nothing recognisable in it: still shown, as incomplete
        found.update(children)
    return sorted(found, key=lambda q: _natural_key(str(q)))


def _child_runs(p: Path, depth: int = 2) -> list[Path]:
    if depth == 0 or not p.is_dir():
        return []
    out = []
    for c in sorted(p.iterdir()):
        if c.is_dir() and not c.name.startswith("."):
            if is_run_dir(c):
                out.append(c)
            out.extend(_child_runs(c, depth - 1))
    return out


def scan_run(path: Path, *, exclude: set[Path] | None = None) -> RunInfo:
    """Read one run folder. `exclude` holds files to ignore (the report page itself, when written inside)."""
    path = Path(path).resolve()
    info = RunInfo(path=path, name=path.name)
    if not path.is_dir():
        info.problems.append("folder missing" if not path.exists() else "not a folder")
        return info
    _read_config(info)
    _read_metrics(info)
    _read_status(info)
    _read_files(info, exclude or set())
    return info


def _read_config(info: RunInfo) -> None:
    p = info.path / "config.json"
    if not p.is_file():
        info.problems.append("config.json missing")
        return
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        info.problems.append(f"config.json unreadable ({_short(e)})")
        return
    if not isinstance(data, dict):
        info.problems.append("config.json is not a JSON object")
        return
    info.command = data.get("command") if isinstance(data.get("command"), str) else None
    info.version = str(data["vislab_version"]) if "vislab_version" in data else None
    cfg = data.get("config")
    if isinstance(cfg, dict):
        info.config = cfg
    else:
        info.problems.append("config.json has no 'config' settings")


def _read_metrics(info: RunInfo) -> None:
    p = info.path / "metrics.jsonl"
    if not p.is_file():
        info.problems.append("metrics.jsonl missing")
        return
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        info.problems.append(f"metrics.jsonl unreadable ({_short(e)})")
        return
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if isinstance(row, dict):
            info.rows.append(row)
        else:
            bad.append(n)
    if bad:
        where = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        info.problems.append(f"metrics.jsonl: {len(bad)} unreadable line(s) (line {where})")


def _read_status(info: RunInfo) -> None:
    p = info.path / STATUS_FILE
    if not p.is_file():
        return
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        info.problems.append(f"{STATUS_FILE} unreadable ({_short(e)})")
        return
    if isinstance(data, dict):
        info.status = data
    else:
        info.problems.append(f"{STATUS_FILE} is not a JSON object")


def _read_files(info: RunInfo, exclude: set[Path]) -> None:
    times = []
    for f in _own_files(info.path):
        if f in exclude or f.name.startswith("."):
            continue
        rel = f.relative_to(info.path).as_posix()
        suffix = f.suffix.lower()
        try:
            st = f.stat()
        except OSError:
            continue
        if suffix not in (".html", ".htm"):
            times.append(st.st_mtime)
        if suffix in IMAGE_SUFFIXES:
            size, err = _image_size(f)
            if err:
                info.problems.append(f"{rel}: unreadable image ({err})")
            else:
                info.images.append(ImageFile(f, rel, *size))
        elif suffix == ".pt":
            info.checkpoints.append((rel, st.st_size))
        elif suffix in TEXT_SUFFIXES and not (f.parent == info.path and f.name in SKIP_FILES):
            info.texts.append((rel, _read_text(f, st.st_size)))
    if times:
        info.file_times = (min(times), max(times))


def _own_files(root: Path) -> list[Path]:
    """Files below `root`, not descending into hidden folders or nested run folders (runs of their own)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and not is_run_dir(d / n))
        out.extend(d / n for n in filenames)
    return sorted(out, key=lambda q: _natural_key(q.relative_to(root).as_posix()))


def _image_size(f: Path) -> tuple[tuple[int, int], str | None]:
    """(width, height) of a fully decodable image, or the reason it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(f) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    return (w, h), f"{w}x{h} is too large to show"
                im.load()  # decode fully, so a truncated file is caught here rather than as a broken picture
                return (w, h), None
    except Exception as e:  # noqa: BLE001 - PIL raises many types for bad files; all mean "cannot show it"
        return (0, 0), _short(e)


def _read_text(f: Path, size: int) -> str:
    try:
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read(MAX_TEXT_BYTES)
    except OSError as e:
        return f"(unreadable: {_short(e)})"
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
    """Each numeric metric as (step, value) points, in the order metrics first appear. Rows without an integer
    "step" use their position. Booleans and strings are not numeric; NaN/inf values are kept (shown in tables,
    dropped from plots)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for i, row in enumerate(rows):
        step = row.get("step")
        x = float(step) if _is_number(step) else float(i)
        for k, v in row.items():
            if k in ("step", "time") or not _is_number(v):
                continue
            series.setdefault(str(k), []).append((x, float(v)))
    return series


def other_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The last value of each non-numeric metric (strings, lists, ...)."""
    last: dict[str, Any] = {}
    for row in rows:
        for k, v in row.items():
            if k not in ("step", "time") and not _is_number(v):
                last[str(k)] = v
    return last


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def finite(v: float) -> bool:
    return math.isfinite(v)
