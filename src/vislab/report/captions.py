"""Captions for the pictures of a run: ``captions.json`` records that name a picture in the run folder.

`vislab caption IMAGE... --out DIR` and the tour's captioning step write records such as
``{"image": "sample:coffee", "caption": "...", "picture": "pictures/01_coffee.png", "warning": "..."}``
(``"generated"`` instead of ``"caption"`` for an evaluation). The report shows each caption, and any warning
that the image is unlike the model's training images, under its picture instead of as a bare thumbnail. A
record without ``"picture"`` matches a picture of the same file name. Anything malformed is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .safefiles import Unreadable, entry_exists, read_json

CAPTIONS_FILE = "captions.json"


@dataclass(frozen=True)
class Caption:
    text: str
    warning: str = ""


def read_captions(run_dir: Path, pictures: list[str]) -> dict[str, Caption]:
    """{picture path relative to the run folder: its caption} for the run's `pictures` (relative paths)."""
    p = run_dir / CAPTIONS_FILE
    if not entry_exists(p):
        return {}
    try:
        records = read_json(p, run_dir)
    except Unreadable:
        return {}  # shown as an output text anyway; the pictures simply keep their file names
    if not isinstance(records, list):
        return {}
    by_name: dict[str, str] = {}
    for rel in pictures:
        by_name.setdefault(PurePosixPath(rel).name, rel)
    out: dict[str, Caption] = {}
    for r in records:
        rel = _picture_of(r, pictures, by_name)
        if rel is not None:
            out[rel] = Caption(_text(r.get("caption", r.get("generated"))), _text(r.get("warning")))
    return out


def _picture_of(r: Any, pictures: list[str], by_name: dict[str, str]) -> str | None:
    if not isinstance(r, dict) or not isinstance(r.get("caption", r.get("generated")), str):
        return None
    named = r.get("picture")
    if isinstance(named, str) and named in pictures:
        return named
    image = r.get("image")
    if isinstance(image, str) and image:
        return by_name.get(PurePosixPath(image.replace("\\", "/")).name)
    return None


def _text(v: Any) -> str:
    return v[:1000] if isinstance(v, str) else ""
