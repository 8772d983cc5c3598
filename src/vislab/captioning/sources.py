"""Data specs (the ``data`` setting): which dataset a spec names, parsed and checked before anything is read.

  ``shapes`` / ``shapes:N``           built-in rendered shapes (N images, default 3000), offline
  ``coco:CAPTIONS_JSON:IMAGE_DIR``    official COCO captions format; split 80/10/10 by a hash of the name
  ``karpathy:DATASET_JSON:IMAGE_DIR`` Karpathy's split files (COCO, Flickr8k/30k); ``restval`` is train
  ``cs231n:DIR``                      the cs231n assignment's COCO 2014 h5/json files, read as they are
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..jobs import SettingError

HELP = ("shapes (built-in, default), shapes:N, coco:CAPTIONS_JSON:IMAGE_DIR, karpathy:DATASET_JSON:IMAGE_DIR, "
        "or cs231n:DIR")
SHAPES_DEFAULT = 3000
SHAPES_MIN = 10
SHAPES_MAX = 10_000_000  # beyond this the scenes alone outgrow any machine's memory


class DataSettingError(SettingError, DataError):
    """A setting that does not fit the data: a setting error (the CLI names its flag) that is also a data error."""


@dataclass(frozen=True)
class DataSource:
    """A parsed data spec: `count` images of shapes, or a captions file and image folder, or a cs231n folder."""

    spec: str
    kind: str  # shapes | coco | karpathy | cs231n
    count: int = 0
    json_path: Path | None = None
    folder: Path | None = None  # the image folder (coco, karpathy) or the assignment's folder (cs231n)


def parse_data_spec(spec: Any, setting: str = "data") -> DataSource:
    """Parse and check a spec (its files exist and are of the right type); errors name `setting`."""
    if not isinstance(spec, str) or not spec.strip():
        raise DataSettingError(setting, f"must be a data spec: {HELP}; got {spec!r}")
    kind, _, rest = spec.partition(":")
    if kind == "shapes":
        return DataSource(spec, kind, count=_shapes_count(spec, rest, setting))
    if kind in ("coco", "karpathy"):
        json_path, sep, image_dir = rest.partition(":")
        if not sep or not json_path or not image_dir:
            raise DataSettingError(setting, f"{spec}: expected {kind}:CAPTIONS_JSON:IMAGE_DIR")
        return DataSource(spec, kind, json_path=_existing(Path(json_path), False, spec, setting),
                          folder=_existing(Path(image_dir), True, spec, setting))
    if kind == "cs231n":
        if not rest:
            raise DataSettingError(setting, f"{spec}: expected cs231n:DIR")
        return DataSource(spec, kind, folder=_existing(Path(rest), True, spec, setting))
    raise DataSettingError(setting, f"{spec}: unknown data kind {kind!r}; use {HELP}")


def _shapes_count(spec: str, rest: str, setting: str) -> int:
    if spec == "shapes":
        return SHAPES_DEFAULT
    try:
        n = int(rest)
    except ValueError:
        n = -1
    if not SHAPES_MIN <= n <= SHAPES_MAX:
        raise DataSettingError(setting, f"{spec}: expected shapes or shapes:N with N from {SHAPES_MIN} to "
                                    f"{SHAPES_MAX:,} images")
    return n


def _existing(p: Path, folder: bool, spec: str, setting: str) -> Path:
    if folder and not p.is_dir():
        why = "not a folder" if p.exists() else "no such folder"
    elif not folder and not p.is_file():
        why = "not a regular file" if p.exists() else "no such caption file"
    else:
        return p
    raise DataSettingError(setting, f"{spec}: {p}: {why}")
