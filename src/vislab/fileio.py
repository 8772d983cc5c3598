"""Safe file writing: atomic (a reader never sees a half-written output, a failed write leaves nothing behind) and
never through a symlink.

Run folders may be copied in from elsewhere, or planted by someone else on a shared machine: a file or folder in
them may be a symlink to a file outside (``/etc/passwd``, another user's data). Every write inside a run folder
goes through here: new files are created with ``O_EXCL | O_NOFOLLOW`` and renamed into place (a rename replaces a
link itself, never its target), a file appended to or reused (metrics, the lock) is opened with ``O_NOFOLLOW``
and must be a regular file with one name, and a folder between the file and its run folder that is a symlink is
refused. A run folder is the nearest folder above the file holding the lock file `LOCK_NAME`.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError

LOCK_NAME = ".vislab.lock"
"""The lock file every run folder holds while a process writes there (see `vislab.runs.lock_run_dir`)."""
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class LinkRefused(ConfigError):
    """A write that would go through a symlink (or into a file that is not vislab's own) is refused."""


def check_parents(path: str | os.PathLike) -> None:
    """Refuse (`LinkRefused`) when a folder between `path` and its run folder is a symlink.

    The run folder itself may be a link (``--out`` given as one is the user's choice); folders inside it are
    made by vislab, so a link there was planted and would lead the write outside."""
    path = Path(os.path.abspath(path))
    links = []
    for d in path.parents:
        if os.path.lexists(d / LOCK_NAME):
            if links:
                raise LinkRefused(f"{path}: the folder {links[-1]} inside its run folder is a symlink; "
                                  "vislab never writes through links")
            return
        if d.is_symlink():
            links.append(d)


def open_existing_or_new(path: str | os.PathLike, flags: int, what: str = "file") -> int:
    """A descriptor for `path` opened with `flags` (plus ``O_CREAT``) without following a link at `path`; refused
    unless it is then a regular file with one name (a hard link to another file would be written through)."""
    check_parents(path)
    if is_link(path):  # also where the system has no O_NOFOLLOW
        raise LinkRefused(f"{path}: the {what} is a symlink; vislab never writes through links")
    try:
        fd = os.open(path, flags | os.O_CREAT | NOFOLLOW | CLOEXEC | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError:
        if is_link(path):  # made between the check and the open
            raise LinkRefused(f"{path}: the {what} is a symlink; vislab never writes through links") from None
        if _is_special(path):  # a FIFO without a reader, a socket
            raise LinkRefused(f"{path}: the {what} is not a regular file; vislab writes only into files it made") \
                from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        why = "not a regular file" if not stat.S_ISREG(st.st_mode) else "a hard link to another file"
        raise LinkRefused(f"{path}: the {what} is {why}; vislab writes only into files it made")
    return fd


def open_append(path: str | os.PathLike) -> Any:
    """`path` opened for appending text (created when missing), never through a link."""
    fd = open_existing_or_new(path, os.O_WRONLY | os.O_APPEND)
    return os.fdopen(fd, "a", encoding="utf-8")


def _is_special(path: str | os.PathLike) -> bool:
    try:
        return not stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def is_link(path: str | os.PathLike) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it is renamed onto `path`, on error removed.

    The temporary file lives in the same folder so the final `os.replace` is a rename on one filesystem; it is
    made with ``O_EXCL`` (never an existing file or link), and the rename replaces a link at `path` itself. A
    symlinked folder inside the run folder is refused (`check_parents`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_parents(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    tmp_path = Path(tmp)
    try:  # mkstemp makes the file private (0600); give it the permissions an ordinary open() would
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_UMASK)
        else:  # Windows before Python 3.13
            os.chmod(tmp_path, 0o666 & ~_UMASK)
    finally:
        os.close(fd)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _read_umask() -> int:
    umask = os.umask(0)  # at import (one thread): os.umask can only be read by setting it
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def probe_write(folder: str | os.PathLike) -> None:
    """Raise `OSError` unless a file can be made in `folder` (tried with a temporary file, removed at once): how a
    job finds an output it could not write before it starts the work, not after."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".vislab-write-test-"):
        pass


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    # Paths, numpy scalars and arrays show up in configs and metrics; make them plain JSON.
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Save a matplotlib figure as PNG atomically and close it (the one figure saver; pages embed these)."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    return Path(path)
