"""Which files a request may touch: only what lies inside the runs folder, named the way the server names things.

Every name that comes in a URL or a form is checked part by part (letters, digits, ``._-``; no leading dot, so
no ``..`` and no hidden files), then resolved and checked to lie inside the runs folder: a symlink that leads out
is refused like ``..`` would be. Special files (FIFOs, devices) are never opened: reading one could hang a worker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import DataError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_DEPTH = 4
"""Parts in a run name (``tour-quick/07-gan``) or a file name inside a run (``samples/step-10.png``)."""


class OutsideRuns(DataError):
    """A name that is malformed or leads outside the runs folder (the page answers 404: nothing to see there)."""


def check_parts(rel: str, what: str) -> list[str]:
    """`rel` split at ``/`` with every part a plain name; `OutsideRuns` otherwise."""
    parts = rel.split("/") if isinstance(rel, str) else []
    if not parts or len(parts) > MAX_DEPTH or not all(NAME.match(p) for p in parts):
        raise OutsideRuns(f"no such {what}: {rel!r}")
    return parts


def inside(root: Path, rel: str, what: str) -> Path:
    """The resolved path of `rel` under `root`, which must exist and lie inside ``root`` after resolving links."""
    parts = check_parts(rel, what)
    base = root.resolve()
    try:
        p = base.joinpath(*parts).resolve(strict=True)
        p.relative_to(base)
    except (OSError, ValueError, RuntimeError):  # missing, a link loop, or outside the root
        raise OutsideRuns(f"no such {what}: {rel!r}") from None
    return p


def run_folder(root: Path, rel: str) -> Path:
    """A run folder (or a folder of runs) inside `root`."""
    p = inside(root, rel, "run")
    if not p.is_dir():
        raise OutsideRuns(f"no such run: {rel!r}")
    return p


def read_json(p: Path, limit: int = 4 * 2**20) -> Any:
    """The JSON in file `p` (a regular file of at most `limit` bytes inside its own folder), or None when it is
    not one: the report's hardened reader, so a FIFO, a link out of the run or deep nesting is never read."""
    from ..report.safefiles import Unreadable
    from ..report.safefiles import read_json as read

    try:
        return read(p, p.parent, limit)
    except Unreadable:
        return None
