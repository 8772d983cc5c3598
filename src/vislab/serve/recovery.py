"""At start: run folders an earlier server left without a status (it was killed, or the machine went down) are
marked ``interrupted``, so the history and ``vislab report`` say what happened instead of "incomplete".

The queue leaves a marker ``<runs>/.serve-jobs/<run name>`` while a job runs (`started` / `ended`); its run
folder's config.json records the job's own ``vislab ...`` command, which anyone can rerun. Folders of servers
before the markers are known by their command (``vislab serve (...)``). Only folders this server made and no
process is writing to (their lock is free) are touched; a CLI run, or a job of another server still running, is
left alone. Markers are made relative to their folder opened without following links, so a planted link never
sends a write elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .. import runs
from ..errors import ConfigError
from ..fileio import CLOEXEC, NOFOLLOW, write_json
from .paths import NAME, read_json

MESSAGE = "the server stopped (killed or crashed) before this job finished; the files so far are kept"
MARKERS = ".serve-jobs"


def mark_abandoned(root: Path) -> list[str]:
    """Mark this server's unfinished run folders in `root` interrupted; return their names."""
    marked = []
    try:
        entries = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
    except OSError:
        return marked
    running = set(_markers(root))
    for e in entries:
        p = Path(e.path)
        if (p / "status.json").exists() or not (e.name in running or _made_by_serve(p)):
            continue
        try:
            runs.lock_run_dir(p)
        except (ConfigError, OSError):  # another process is writing there
            continue
        try:
            if not (p / "status.json").exists():
                write_json(p / "status.json", {"status": "interrupted", "message": MESSAGE})
                marked.append(e.name)
        finally:
            runs.release_run_dir(p)
    for name in running:  # a marker whose folder has its status now says nothing more
        if (root / name / "status.json").exists():
            ended(root, name)
    return marked


def started(root: Path, name: str) -> None:
    """Mark run `name` as a job of this server, before its folder is made (best effort: a runs folder where the
    marker cannot be written still runs jobs; they are then only left "incomplete" by a kill)."""
    with contextlib.suppress(OSError), _folder(root, make=True) as fd:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o644, dir_fd=fd))


def ended(root: Path, name: str) -> None:
    """The job `name` is over (its folder has its status, or was never made)."""
    with contextlib.suppress(OSError), _folder(root) as fd:
        os.unlink(name, dir_fd=fd)


def _markers(root: Path) -> list[str]:
    try:
        with _folder(root) as fd:
            return [n for n in os.listdir(fd) if NAME.match(n)]
    except OSError:
        return []


@contextlib.contextmanager
def _folder(root: Path, make: bool = False) -> Iterator[int]:
    """The markers' folder opened without following a link (`OSError` when missing or a link)."""
    d = root / MARKERS
    if make:
        with contextlib.suppress(FileExistsError):
            d.mkdir()
    fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _made_by_serve(p: Path) -> bool:
    """A folder of a server before the markers: its command says so."""
    config = read_json(p / "config.json")
    command = config.get("command") if isinstance(config, dict) else None
    return isinstance(command, str) and command.startswith("vislab serve (")
