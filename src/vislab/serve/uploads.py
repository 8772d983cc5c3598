"""Uploaded pictures: counted while they arrive (within a deadline), sized from their header against the server's
memory limit, decoded by `vislab.images.load_rgb8` (the pixel limit and decompression-bomb check of every
command, in 8-bit pixels), and kept as a server-named PNG in ``<runs>/.uploads``.

A job names an upload as ``upload:<token>``; the token is 32 hex digits the server chose, so a form can never
point a job at any other file. The stored copy is re-encoded (orientation applied, alpha flattened), so what a
job reads is exactly what the page showed. Files are made relative to the ``.uploads`` folder opened without
following links (``O_EXCL | O_NOFOLLOW``, ``openat``): a ``.uploads`` planted as a symlink is refused, and one
swapped for a link while a body arrives receives nothing.

The page sends the picture's own file name (``?name=``); it is kept, cleaned (`clean_name`), beside the picture
as ``<token>.json`` so every browser shows the name a person gave it (`upload_name`). The name is only ever
shown, never used as a path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImageError
from ..fileio import CLOEXEC, NOFOLLOW
from ..images import decode_bytes, default_max_pixels, image_header, load_rgb8
from ..machine import format_bytes
from .paths import read_json

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Largest upload: a 50 MB photo is far beyond any camera JPEG; the body is refused as soon as it passes this."""
MIN_SIDE = 16
"""Smallest image side accepted: below the coarsest scale any job runs at (`vislab.style.settings.MIN_SIZE`)."""
UPLOAD_SECONDS = 120.0
"""Longest an upload's body may take to arrive (50 MB at 3.5 Mbit/s): a client trickling bytes is cut off."""
UPLOADS = ".uploads"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME = 100
"""Longest original file name kept (characters): what a label shows; the rest is cut, the suffix kept."""
_decoding = threading.BoundedSemaphore(2)  # a 100-megapixel image needs about 1 GB to decode: two at a time


class UploadError(ImageError):
    """A refused upload; `status` is the HTTP status to answer with (413: too large, 422: not a usable image)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    token: str
    path: Path
    width: int
    height: int
    name: str | None = None  # the file name the picture was uploaded as (cleaned), when the page sent one

    @property
    def ref(self) -> str:
        return f"upload:{self.token}"


def uploads_dir(root: Path) -> Path:
    """``<runs>/.uploads``, made when missing; refused when it is a symlink or not a folder (planted to send
    uploads elsewhere)."""
    d = root / UPLOADS
    with contextlib.suppress(FileExistsError):
        d.mkdir()
    if d.is_symlink() or not d.is_dir():
        raise UploadError(f"the runs folder's {UPLOADS} is a symlink or not a folder; vislab serve keeps uploads "
                          f"inside the runs folder only: remove it", 409)
    return d


@contextlib.contextmanager
def _folder_fd(root: Path) -> Iterator[int]:
    """The uploads folder opened without following a link: files are then made relative to it (``openat``), so
    swapping the folder for a link afterwards changes nothing."""
    d = uploads_dir(root)
    try:
        fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | CLOEXEC)
    except OSError:
        raise UploadError(f"the runs folder's {UPLOADS} is a symlink or not a folder; vislab serve keeps uploads "
                          f"inside the runs folder only: remove it", 409) from None
    try:
        yield fd
    finally:
        os.close(fd)


def _new_file(folder_fd: int, name: str) -> int:
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o644, dir_fd=folder_fd)


async def receive(root: Path, chunks: AsyncIterator[bytes], *, declared: int | None, max_bytes: int,
                  max_pixels: int | None = None, max_memory: int | None = None,
                  deadline: float = UPLOAD_SECONDS, name: Any = None) -> Upload:
    """Store the body `chunks` (refused once over `max_bytes`, at once when `declared` says so, or when it takes
    longer than `deadline` seconds), then check it is an image within the limits (its decoding would fit in
    `max_memory` bytes, judged from its header); the stored copy is named by a fresh token, and `name` (the
    file's own name, cleaned by `clean_name`) is kept beside it for labels."""
    from starlette.concurrency import run_in_threadpool

    if declared is not None and declared > max_bytes:
        raise UploadError(_too_big(max_bytes), 413)
    token = secrets.token_hex(16)
    with _folder_fd(root) as dfd:
        part = f"{token}.part"
        try:
            with os.fdopen(_new_file(dfd, part), "wb") as f:
                await _copy(chunks, f, max_bytes, deadline)
            return await run_in_threadpool(_decode_and_store, root, dfd, token, max_pixels, max_memory,
                                           clean_name(name))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part, dir_fd=dfd)


async def _copy(chunks: AsyncIterator[bytes], f: Any, max_bytes: int, deadline: float) -> None:
    """The body into `f`, counted, within `deadline` seconds (a client that trickles bytes is cut off)."""
    import asyncio

    size, end = 0, asyncio.get_running_loop().time() + deadline
    it = chunks.__aiter__()
    while True:
        left = end - asyncio.get_running_loop().time()
        try:
            chunk = await asyncio.wait_for(it.__anext__(), max(left, 0.001))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise UploadError(f"the upload took longer than {deadline:g} s; try again on a faster link", 408) \
                from None
        size += len(chunk)
        if size > max_bytes:
            raise UploadError(_too_big(max_bytes), 413)
        f.write(chunk)
    if size == 0:
        raise UploadError("the upload is empty: choose an image file")


def _too_big(max_bytes: int) -> str:
    return f"the upload is larger than {max_bytes / 2**20:g} MB; use a smaller image"


def _decode_and_store(root: Path, dfd: int, token: str, max_pixels: int | None, max_memory: int | None,
                      name: str | None = None) -> Upload:
    from PIL import Image

    part = root / UPLOADS / f"{token}.part"
    limit = default_max_pixels() if max_pixels is None else max_pixels
    with _decoding:
        try:
            w, h, mode = image_header(part)
            if max_memory is not None and decode_bytes(w, h, mode) > max_memory:
                raise UploadError(f"the upload is {w}x{h} pixels: decoding it needs about "
                                  f"{format_bytes(decode_bytes(w, h, mode))} of memory, more than this server "
                                  f"allows (--max-memory {format_bytes(max_memory)}); use a smaller image", 413)
            arr = load_rgb8(part, max_pixels=limit)
        except UploadError:
            raise
        except ImageError as e:  # the message names our temporary file: say "the upload" instead
            raise UploadError(str(e).replace(f"{part}: ", "the upload: ").replace(str(part), "the upload")) from None
        h, w = arr.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise UploadError(f"the upload is {w}x{h} pixels; images need at least {MIN_SIDE} pixels a side")
        if name is not None:  # first: a stored picture then always has its name
            _store(dfd, f"{token}.json", json.dumps({"name": name}).encode())
        _store(dfd, f"{token}.png", lambda f: Image.fromarray(arr).save(f, format="PNG", compress_level=1))
    return Upload(token, root / UPLOADS / f"{token}.png", w, h, name)  # compress 1: 1/3 the time, +16% size


def _store(dfd: int, name: str, data: bytes | Any) -> None:
    """Write `data` (bytes, or a function writing to a file) as `name` in the uploads folder: a new file made
    without following links, renamed into place."""
    tmp = f".{name}.tmp"
    try:
        with os.fdopen(_new_file(dfd, tmp), "wb") as f:
            f.write(data) if isinstance(data, bytes) else data(f)
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dfd)
        raise


def clean_name(name: Any) -> str | None:
    """A file name as sent by a browser, made safe to show: its last path part only, without control or
    formatting characters (bidirectional overrides, zero-width marks), spaces collapsed, at most `MAX_NAME`
    characters (the suffix kept); None when nothing is left."""
    if not isinstance(name, str):
        return None
    name = unicodedata.normalize("NFC", name[:4 * MAX_NAME + 1000]).replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join("".join(" " if c.isspace() else c for c in name if c.isspace()
                            or unicodedata.category(c)[0] != "C").split())
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        keep = dot + suffix if dot and stem and len(suffix) <= 10 else ""
        name = name[:MAX_NAME - 1 - len(keep)].rstrip() + "\u2026" + keep
    return name if name.strip(". ") else None  # "..": nothing a person would call a name


def upload_token(spec: Any) -> str | None:
    """The token of a stored upload named by `spec` (``upload:<token>``, or the stored file's path as a job's
    settings hold it); None for anything else."""
    if not isinstance(spec, str):
        return None
    if spec.startswith("upload:"):
        token = spec[len("upload:"):]
    else:
        p = Path(spec)
        token = p.stem if p.parent.name == UPLOADS and p.suffix == ".png" else ""
    return token if TOKEN.match(token) else None


def upload_name(root: Path, token: str) -> str | None:
    """The name upload `token` was uploaded as (None when unknown), read the guarded way and cleaned again (the
    file may have been copied in from elsewhere)."""
    if not TOKEN.match(token) or (root / UPLOADS).is_symlink():
        return None
    raw = read_json(root / UPLOADS / f"{token}.json", 4096)
    return clean_name(raw.get("name")) if isinstance(raw, dict) else None


def upload_names(root: Path, values: Any) -> dict[str, str]:
    """{token: original name} for every stored upload that `values` (a job's settings or config, as a dict, or
    their values) names."""
    items = values.values() if isinstance(values, dict) else values if isinstance(values, (list, tuple)) else ()
    names = {}
    for v in items:
        for spec in (v if isinstance(v, (list, tuple)) else [v]):
            token = upload_token(spec)
            name = upload_name(root, token) if token else None
            if name:
                names[token] = name
    return names


def resolve_ref(root: Path, ref: str) -> str:
    """What a job reads for an image given as ``upload:<token>`` (the stored file) or ``sample:<name>``."""
    from ..images import SAMPLE_IMAGES

    if not isinstance(ref, str):
        raise ImageError(f"an image must be given as upload:<id> or sample:<name>, got {ref!r}")
    if ref.startswith("sample:") and ref[len("sample:"):] in SAMPLE_IMAGES:
        return ref
    token = ref[len("upload:"):] if ref.startswith("upload:") else ""
    path = root / UPLOADS / f"{token}.png"
    if not TOKEN.match(token) or (root / UPLOADS).is_symlink() or path.is_symlink() or not path.is_file():
        raise ImageError(f"no such image {ref!r}: upload it again, or choose one of the samples "
                         f"({', '.join(SAMPLE_IMAGES)})")
    return os.fspath(path)
