"""``vislab report``: one HTML page from run folders (settings, result images, metric tables, curves, timing).

    from vislab.report import build_report
    page = build_report(["runs/style-1", "runs/gan-1"])     # -> runs/index.html

Any folder works: missing or corrupt files make a run show as *incomplete*, never stop the page. A folder of
runs (such as a tour) expands to the runs inside it. Run folders are untrusted input (see `safefiles`): FIFOs
and other special files, symlinks leading out of the run folder, oversized or too deeply nested JSON are
named on the page as unreadable and never read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..fileio import write_text
from .html import render
from .safefiles import real_path
from .scan import RunInfo, find_runs, scan_run

__all__ = ["build_report", "default_output", "find_runs", "scan_run", "RunInfo"]


def default_output(paths: Sequence[str | os.PathLike]) -> Path:
    """``index.html`` in the one given folder, or in the deepest folder holding all of them."""
    resolved = [real_path(p) for p in paths]  # not Path.resolve: that raises on a symlink loop
    if len(resolved) == 1:
        return resolved[0] / "index.html"
    return Path(os.path.commonpath(resolved)) / "index.html"


def build_report(paths: Sequence[str | os.PathLike], out: str | os.PathLike | None = None, *,
                 embed: bool = False, title: str = "vislab report") -> Path:
    """Write the report page for the run folders `paths` (and runs below them) to `out`; return its path.

    `embed=True` puts the images into the page as data URIs (one file to send around) instead of linking them.
    Raises `DataError` when no folder is given or a given folder does not exist, is not a folder or cannot be
    read. Whatever is inside the folders never raises: broken files make their run show as incomplete.
    """
    if not paths:
        raise DataError("no run folders given")
    if any(not os.fspath(p) for p in paths):
        raise DataError("empty run folder name ''")
    out_path = Path(out) if out is not None else default_output(paths)
    # `vislab report runs/*` run twice sees its own earlier page among the arguments: leave it out.
    paths = [p for p in paths if real_path(p) != real_path(out_path)]
    if not paths:
        raise DataError(f"no run folders given (only the report page {out_path} itself)")
    for p in paths:
        _check_folder(p)
    if out_path.is_dir():
        raise DataError(f"{out_path}: is a folder; give the report's file name, "
                        f"e.g. {out_path / 'index.html'}")
    if out_path.suffix.lower() not in (".html", ".htm"):
        raise DataError(f"{out_path}: the report is an HTML page; give a name ending in .html")
    exclude = {real_path(out_path)}
    runs = [scan_run(p, exclude=exclude) for p in find_runs([Path(p) for p in paths])]
    write_text(out_path, render(runs, out_path, embed=embed, title=title))
    return out_path


def _check_folder(p: str | os.PathLike) -> None:
    """A `DataError` naming `p` unless it is a folder the report can list."""
    try:
        st = os.stat(p)
    except OSError as e:
        if isinstance(e, FileNotFoundError):
            raise DataError(f"{p}: no such run folder") from None
        raise DataError(f"{p}: cannot read the run folder ({e.strerror or type(e).__name__})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise DataError(f"{p}: not a folder")
    try:
        os.scandir(p).close()
    except OSError as e:
        raise DataError(f"{p}: cannot read the run folder ({e.strerror or type(e).__name__})") from None
