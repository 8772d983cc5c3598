"""At start: run folders an earlier server left without a status (it was killed, or the machine went down) are
marked ``interrupted``, so the history and ``vislab report`` say what happened instead of "incomplete".

Only folders this server made (their command says ``vislab serve``) and no process is writing to (their lock is
free) are touched; a CLI run, or a job of another server still running, is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import runs
from ..errors import ConfigError
from ..fileio import write_json
from .paths import read_json

MESSAGE = "the server stopped (killed or crashed) before this job finished; the files so far are kept"


def mark_abandoned(root: Path) -> list[str]:
    """Mark this server's unfinished run folders in `root` interrupted; return their names."""
    marked = []
    try:
        entries = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
    except OSError:
        return marked
    for e in entries:
        p = Path(e.path)
        if (p / "status.json").exists() or not _made_by_serve(p):
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
    return marked


def _made_by_serve(p: Path) -> bool:
    config = read_json(p / "config.json")
    command = config.get("command") if isinstance(config, dict) else None
    return isinstance(command, str) and command.startswith("vislab serve (")
