"""Reading the files of a run folder that may be broken or hostile, without ever hanging or leaking.

A run folder is input the report does not control: a file named ``config.json`` may be a FIFO (opening it
blocks forever), a symlink to ``/etc/passwd`` or another user's file, gigabytes long, or JSON nested 100000
levels deep. Every read of a run's files goes through here and either returns data or raises `Unreadable`
with a short reason for the page; nothing here raises anything else for a bad file.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..machine import format_bytes

MAX_JSON_BYTES = 4 * 2**20
"""config.json / status.json: real ones are a few KB; anything past this is not a vislab file."""

MAX_JSON_DEPTH = 64
"""Nesting allowed in any JSON value the report reads (settings are a few levels deep)."""

MAX_WALK_DEPTH = 32
"""Folder levels below a run that are looked into (a run's outputs sit one or two levels down)."""

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


class Unreadable(Exception):
    """A run's file that is not read; the message (e.g. "not a regular file") is shown on the page."""


def real_path(p: str | os.PathLike) -> Path:
    """The path with every symlink resolved. Unlike `Path.resolve` (RuntimeError on Python 3.11), a symlink
    loop does not raise: the unresolvable part is kept, and opening it fails later with an OSError."""
    return Path(os.path.realpath(p))


def is_within(path: Path, root: Path) -> bool:
    """Whether `path` (already real) lies inside the folder `root` (or is it)."""
    root_s, path_s = os.fspath(real_path(root)), os.fspath(path)
    try:
        return os.path.commonpath([root_s, path_s]) == root_s
    except ValueError:  # different drives (Windows)
        return False


def stat_file(path: Path, root: Path) -> tuple[Path, os.stat_result]:
    """(real path, stat) of `path` if it is a regular file inside `root`, else `Unreadable` saying why."""
    real = real_path(path)
    if not is_within(real, root):
        raise Unreadable("links outside the run folder; not read")
    try:
        st = os.stat(real)
    except (OSError, ValueError) as e:
        raise Unreadable(_os_reason(e) if isinstance(e, OSError) else "bad file name") from None
    _require_regular(st.st_mode)
    return real, st


def open_file(path: Path, root: Path) -> tuple[IO[bytes], int]:
    """Open `path` for reading as (binary file, size in bytes), only if it is a regular file inside `root`.

    Refuses symlinks leading out of `root`, FIFOs, sockets, devices and folders without opening them (a FIFO
    would block); the O_NONBLOCK/O_NOFOLLOW open and the fstat afterwards close the gap should the file be
    swapped between the check and the open.
    """
    real, _ = stat_file(path, root)
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as e:
        raise Unreadable(_os_reason(e)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        _require_regular(st.st_mode)
    return os.fdopen(fd, "rb"), st.st_size


def read_bytes(path: Path, root: Path, limit: int) -> bytes:
    """The whole file, if it holds at most `limit` bytes (else `Unreadable`: "too large")."""
    fh, size = open_file(path, root)
    with fh:
        if size > limit:
            raise Unreadable(too_large(size, limit))
        try:
            data = fh.read(limit + 1)  # +1: a file that grew since fstat is still caught
        except OSError as e:
            raise Unreadable(_os_reason(e)) from None
    if len(data) > limit:
        raise Unreadable(too_large(len(data), limit))
    return data


def read_head(path: Path, root: Path, limit: int) -> tuple[bytes, int]:
    """The first `limit` bytes of the file and its full size."""
    fh, size = open_file(path, root)
    with fh:
        try:
            return fh.read(limit), size
        except OSError as e:
            raise Unreadable(_os_reason(e)) from None


def read_json(path: Path, root: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """The parsed JSON file: UTF-8, at most `limit` bytes, nested at most `MAX_JSON_DEPTH` levels."""
    try:
        text = read_bytes(path, root, limit).decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unreadable(f"not UTF-8 text (byte {e.start})") from None
    return parse_json(text)


def parse_json(text: str) -> Any:
    """`json.loads` that raises only `Unreadable` (bad syntax, too deep, numbers with too many digits)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError as e:
        raise Unreadable(_first_line(str(e))) from None
    if not depth_ok(data):
        raise Unreadable("JSON nested too deeply")
    return data


def depth_ok(obj: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists/dicts in `obj` nest at most `limit` levels (checked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (list, dict)):
            if d > limit:
                return False
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return True


def entry_exists(path: Path) -> bool:
    """Whether something other than a folder is named `path` (without following or opening it)."""
    try:
        return not stat.S_ISDIR(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def walk_files(root: Path, skip_dir: Callable[[Path], bool], max_files: int) -> tuple[list[Path], list[str]]:
    """Files below `root` (any kind: the caller opens them through `open_file`) and the problems met.

    Never follows symlinked folders, looks at most `MAX_WALK_DEPTH` levels down and stops after `max_files`
    entries; without recursion, so deeply nested folders cannot overflow the stack.
    """
    files: list[Path] = []
    problems: list[str] = []
    stack = [(root, 0)]
    while stack:
        d, depth = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            problems.append(f"{_rel(d, root)}/: unreadable folder ({_os_reason(e)})")
            continue
        for e in entries:
            p = Path(e.path)
            if is_real_dir(e):
                if e.name.startswith(".") or skip_dir(p):
                    continue
                if depth + 1 >= MAX_WALK_DEPTH:
                    problems.append(f"{_rel(p, root)}/: nested too deeply; not looked into")
                    continue
                stack.append((p, depth + 1))
            elif len(files) >= max_files:
                problems.append(f"more than {max_files} files; the rest are not shown")
                return files, problems
            else:
                files.append(p)
    return files, problems


def too_large(size: int, limit: int) -> str:
    return f"too large: {format_bytes(size)}, the report reads at most {format_bytes(limit)}"


def is_real_dir(e: os.DirEntry) -> bool:
    """Whether the entry is a folder itself (not a symlink to one)."""
    try:
        return e.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _require_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a special file")
    raise Unreadable(f"not a regular file ({kind})")


def _rel(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)


def _os_reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _first_line(s: str) -> str:
    s = s.strip()
    return (s.splitlines()[0] if s else "unreadable")[:160]
