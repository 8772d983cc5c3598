"""Uploaded pictures: counted while they arrive (within a deadline), sized from their header against the server's
memory limit, decoded by `vislab.images.load_rgb8` (the pixel limit and decompression-bomb check of every
command, in 8-bit pixels), and kept as a server-named PNG in ``<runs>/.uploads``.

A job names an upload as ``upload:<token>``; the token is 32 hex digits the server chose, so a form can never
point a job at any other file. The stored copy is re-encoded (orientation applied, alpha flattened), so what a
job reads is exactly what the page showed. Files are made relative to the ``.uploads`` folder opened without
following links (``O_EXCL | O_NOFOLLOW``, ``openat``): a ``.uploads`` planted as a symlink is refused, and one
swapped for a link while a body arrives receives nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImageError
from ..fileio import CLOEXEC, NOFOLLOW
from ..images import decode_bytes, default_max_pixels, image_header, load_rgb8
from ..machine import format_bytes

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Largest upload: a 50 MB photo is far beyond any camera JPEG; the body is refused as soon as it passes this."""
MIN_SIDE = 16
"""Smallest image side accepted: below the coarsest scale any job runs at (`vislab.style.settings.MIN_SIZE`)."""
UPLOAD_SECONDS = 120.0
"""Longest an upload's body may take to arrive (50 MB at 3.5 Mbit/s): a client trickling bytes is cut off."""
UPLOADS = ".uploads"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
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
                  deadline: float = UPLOAD_SECONDS) -> Upload:
    """Store the body `chunks` (refused once over `max_bytes`, at once when `declared` says so, or when it takes
    longer than `deadline` seconds), then check it is an image within the limits (its decoding would fit in
    `max_memory` bytes, judged from its header); the stored copy is named by a fresh token."""
    from starlette.concurrency import run_in_threadpool

    if declared is not None and declared > max_bytes:
        raise UploadError(_too_big(max_bytes), 413)
    token = secrets.token_hex(16)
    with _folder_fd(root) as dfd:
        part = f"{token}.part"
        try:
            with os.fdopen(_new_file(dfd, part), "wb") as f:
                await _copy(chunks, f, max_bytes, deadline)
            return await run_in_threadpool(_decode_and_store, root, dfd, token, max_pixels, max_memory)
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


def _decode_and_store(root: Path, dfd: int, token: str, max_pixels: int | None, max_memory: int | None) -> Upload:
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
        tmp, name = f".{token}.png.tmp", f"{token}.png"
        try:
            with os.fdopen(_new_file(dfd, tmp), "wb") as f:
                Image.fromarray(arr).save(f, format="PNG", compress_level=1)  # a photo: 1/3 the time, +16% size
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
            raise
    return Upload(token, root / UPLOADS / name, w, h)


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
