"""A folder of images to measure robustness on, with or without labels.

Two layouts:
- labelled: ``FOLDER/labels.json`` maps image paths relative to FOLDER to class indices (the course samples'
  ``imagenet_samples/labels.json``: ``{"images/val25_00.png": 958, ...}``); the images are those it lists.
- plain: every image file in FOLDER (not its subfolders), sorted by name; each image's label is the model's
  own clean prediction, so clean accuracy is 1 and the curve shows how fast the predictions give way.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
LABELS_FILE = "labels.json"


def labelled_images(folder: str | Path) -> list[tuple[Path, int | None]]:
    """(image path, class index or None) per image, labelled layout first."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{folder}: not a folder")
    if (root / LABELS_FILE).is_file():
        return _from_labels(root)
    found = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not found:
        raise DataError(f"{folder}: holds no images ({', '.join(IMAGE_SUFFIXES)}) and no {LABELS_FILE}")
    return [(p, None) for p in found]


def _from_labels(root: Path) -> list[tuple[Path, int | None]]:
    where = root / LABELS_FILE
    try:
        table = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise DataError(f"{where}: not readable JSON ({e})") from None
    if not isinstance(table, dict) or not table:
        raise DataError(f"{where}: must be a non-empty object {{\"image path\": class index}}")
    out = []
    for name, label in sorted(table.items()):
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise DataError(f"{where}: {name!r} has label {label!r}; labels are class indices (0, 1, ...)")
        p = (root / name).resolve()
        if not p.is_relative_to(root.resolve()) or not p.is_file():
            raise DataError(f"{where}: lists {name!r}, which is not an image file inside {root}")
        out.append((root / name, label))
    return out
