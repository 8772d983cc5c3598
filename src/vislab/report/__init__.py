"""``vislab report``: one HTML page from run folders (settings, result images, metric tables, curves, timing).

    from vislab.report import build_report
    page = build_report(["runs/style-1", "runs/gan-1"])     # -> runs/index.html

Any folder works: missing or corrupt files make a run show as *incomplete*, never stop the page. A folder of
runs (such as a tour) expands to the runs inside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..fileio import write_text
from .html import render
from .scan import RunInfo, find_runs, scan_run

__all__ = ["build_report", "default_output", "find_runs", "scan_run", "RunInfo"]


def default_output(paths: Sequence[str | os.PathLike]) -> Path:
    """``index.html`` in the one given folder, or in the deepest folder holding all of them."""
    resolved = [Path(p).resolve() for p in paths]
    if len(resolved) == 1:
        return resolved[0] / "index.html"
    return Path(os.path.commonpath(resolved)) / "index.html"


def build_report(paths: Sequence[str | os.PathLike], out: str | os.PathLike | None = None, *,
                 embed: bool = False, title: str = "vislab report") -> Path:
    """Write the report page for the run folders `paths` (and runs below them) to `out`; return its path.

    `embed=True` puts the images into the page as data URIs (one file to send around) instead of linking them.
    Raises `DataError` when no folder is given or a given folder does not exist.
    """
    if not paths:
        raise DataError("no run folders given")
    out_path = Path(out) if out is not None else default_output(paths)
    # `vislab report runs/*` run twice sees its own earlier page among the arguments: leave it out.
    paths = [p for p in paths if Path(p).resolve() != out_path.resolve()]
    if not paths:
        raise DataError(f"no run folders given (only the report page {out_path} itself)")
    for p in paths:
        if not Path(p).is_dir():
            raise DataError(f"{p}: no such run folder" if not Path(p).exists() else f"{p}: not a folder")
    if out_path.is_dir():
        raise DataError(f"{out_path}: is a folder; give the report's file name, "
                        f"e.g. {out_path / 'index.html'}")
    if out_path.suffix.lower() not in (".html", ".htm"):
        raise DataError(f"{out_path}: the report is an HTML page; give a name ending in .html")
    exclude = {out_path.resolve()}
    runs = [scan_run(p, exclude=exclude) for p in find_runs([Path(p) for p in paths])]
    write_text(out_path, render(runs, out_path, embed=embed, title=title))
    return out_path
