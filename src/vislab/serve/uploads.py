"""Uploaded pictures: counted while they arrive, decoded by `vislab.images.load_image` (its pixel limit and
decompression-bomb check), and kept as a server-named PNG in ``<runs>/.uploads``.

A job names an upload as ``upload:<token>``; the token is 32 hex digits the server chose, so a form can never
point a job at any other file. The stored copy is re-encoded (orientation applied, alpha flattened), so what a
job reads is exactly what the page showed.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImageError
from ..images import default_max_pixels, load_image, save_image

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Largest upload: a 50 MB photo is far beyond any camera JPEG; the body is refused as soon as it passes this."""
MIN_SIDE = 16
"""Smallest image side accepted: below the coarsest scale any job runs at (`vislab.style.settings.MIN_SIZE`)."""
UPLOADS = ".uploads"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
_decoding = threading.BoundedSemaphore(2)  # a 100-megapixel image decodes to 1.2 GB of floats: two at a time


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
    d = root / UPLOADS
    d.mkdir(parents=True, exist_ok=True)
    return d


async def receive(root: Path, chunks: AsyncIterator[bytes], *, declared: int | None, max_bytes: int,
                  max_pixels: int | None = None) -> Upload:
    """Store the body `chunks` (refused once over `max_bytes`, or at once when `declared` says so), then check
    it is an image within the limits; the stored copy is named by a fresh token."""
    from starlette.concurrency import run_in_threadpool

    if declared is not None and declared > max_bytes:
        raise UploadError(_too_big(max_bytes), 413)
    token = secrets.token_hex(16)
    part = uploads_dir(root) / f"{token}.part"
    size = 0
    try:
        with open(part, "wb") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(_too_big(max_bytes), 413)
                f.write(chunk)
        if size == 0:
            raise UploadError("the upload is empty: choose an image file")
        return await run_in_threadpool(_decode_and_store, part, token, max_pixels)
    finally:
        part.unlink(missing_ok=True)


def _too_big(max_bytes: int) -> str:
    return f"the upload is larger than {max_bytes / 2**20:g} MB; use a smaller image"


def _decode_and_store(part: Path, token: str, max_pixels: int | None) -> Upload:
    limit = default_max_pixels() if max_pixels is None else max_pixels
    with _decoding:
        try:
            img = load_image(part, max_pixels=limit)
        except ImageError as e:  # the message names our temporary file: say "the upload" instead
            raise UploadError(str(e).replace(f"{part}: ", "the upload: ").replace(str(part), "the upload")) from None
    h, w = img.shape[-2:]
    if min(h, w) < MIN_SIDE:
        raise UploadError(f"the upload is {w}x{h} pixels; images need at least {MIN_SIDE} pixels a side")
    path = save_image(img, part.with_name(f"{token}.png"))
    return Upload(token, path, w, h)


def resolve_ref(root: Path, ref: str) -> str:
    """What a job reads for an image given as ``upload:<token>`` (the stored file) or ``sample:<name>``."""
    from ..images import SAMPLE_IMAGES

    if not isinstance(ref, str):
        raise ImageError(f"an image must be given as upload:<id> or sample:<name>, got {ref!r}")
    if ref.startswith("sample:") and ref[len("sample:"):] in SAMPLE_IMAGES:
        return ref
    token = ref[len("upload:"):] if ref.startswith("upload:") else ""
    path = root / UPLOADS / f"{token}.png"
    if not TOKEN.match(token) or not path.is_file():
        raise ImageError(f"no such image {ref!r}: upload it again, or choose one of the samples "
                         f"({', '.join(SAMPLE_IMAGES)})")
    return os.fspath(path)
