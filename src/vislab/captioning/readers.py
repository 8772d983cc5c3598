"""Readers of caption files written by others (COCO, Karpathy's splits): every field checked, so a malformed or
hostile file is one `DataError` naming the file and the entry, never a crash or a read outside the image
folder."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ..errors import DataError
from .tokenize import tokenize

Captions = tuple[list[Path], list[list[list[str]]], list[str]]
"""Image paths, each image's tokenized captions, and each image's split name."""


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from e
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply to read") from None


def field(obj: Any, key: str, path: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{path}: {where} has no {key!r} field (is this the right format?)")
    return obj[key]


def _list(obj: Any, key: str, path: Path, where: str) -> list:
    value = field(obj, key, path, where)
    if not isinstance(value, list):
        raise DataError(f"{path}: {where}.{key} must be a list, got {type(value).__name__}")
    return value


def _text(value: Any, path: Path, where: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{path}: {where} must be text, got {json.dumps(value)[:40]}")
    return value


def inside(image_dir: Path, name: str, path: Path, where: str) -> Path:
    """`image_dir / name`, refusing names that lead outside the folder (absolute, ``..``, a drive)."""
    parts = PurePosixPath(name.replace("\\", "/"))
    if not name or parts.is_absolute() or PureWindowsPath(name).drive or ".." in parts.parts:
        raise DataError(f"{path}: {where} {name!r} points outside the image folder; names must be relative to "
                        "it, without '..'")
    return image_dir / parts


def read_coco(path: Path, image_dir: Path) -> Captions:
    """COCO captions JSON: ``images[]`` (id, file_name) and ``annotations[]`` (image_id, caption)."""
    d = read_json(path)
    file_of: dict[int | str, str] = {}
    for k, im in enumerate(_list(d, "images", path, "the top level")):
        image_id = field(im, "id", path, f"images[{k}]")
        if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
            raise DataError(f"{path}: images[{k}].id must be a whole number or text, got {json.dumps(image_id)[:40]}")
        file_of[image_id] = _text(field(im, "file_name", path, f"images[{k}]"), path, f"images[{k}].file_name")
    caps: dict[int | str, list[list[str]]] = {}
    for k, a in enumerate(_list(d, "annotations", path, "the top level")):
        image_id = field(a, "image_id", path, f"annotations[{k}]")
        if isinstance(image_id, (list, dict)) or image_id not in file_of:
            raise DataError(f"{path}: annotations[{k}] refers to image_id {json.dumps(image_id)[:40]}, which is "
                            "not in 'images'")
        t = tokenize(_text(field(a, "caption", path, f"annotations[{k}]"), path, f"annotations[{k}].caption"))
        if t:
            caps.setdefault(image_id, []).append(t)
    ids = [i for i in file_of if i in caps]  # images without any caption are of no use here
    if not ids:
        raise DataError(f"{path}: no image has a caption")
    names = [inside(image_dir, file_of[i], path, "file_name") for i in ids]
    return names, [caps[i] for i in ids], [hash_split(file_of[i]) for i in ids]


def read_karpathy(path: Path, image_dir: Path) -> Captions:
    """Karpathy's dataset_*.json: ``images[]`` with split, filename, optional filepath, sentences[].tokens."""
    d = read_json(path)
    names, tokens, split_of = [], [], []
    for k, im in enumerate(_list(d, "images", path, "the top level")):
        where = f"images[{k}]"
        split = _text(field(im, "split", path, where), path, f"{where}.split")
        filename = _text(field(im, "filename", path, where), path, f"{where}.filename")
        filepath = _text(im.get("filepath", ""), path, f"{where}.filepath")
        caps = [t for j, s in enumerate(_list(im, "sentences", path, where))
                if (t := _sentence(s, path, f"{where}.sentences[{j}]"))]
        if not caps:
            continue
        names.append(inside(image_dir, f"{filepath}/{filename}" if filepath else filename, path, "filename"))
        tokens.append(caps)
        split_of.append("train" if split == "restval" else split)
    if not names:
        raise DataError(f"{path}: no image has a caption")
    return names, tokens, split_of


def _sentence(s: Any, path: Path, where: str) -> list[str]:
    if isinstance(s, dict) and "tokens" in s:
        words = s["tokens"]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise DataError(f"{path}: {where}.tokens must be a list of words (text)")
        return [w.lower() for w in words if w.strip()]  # already tokenized: keep the split file's tokens
    if isinstance(s, dict) and "raw" in s:
        return tokenize(_text(s["raw"], path, f"{where}.raw"))
    raise DataError(f"{path}: {where} has no 'tokens' (or 'raw') field")


def hash_split(name: str) -> str:
    """A stable 80/10/10 split from the file name, so adding images never moves old ones between splits."""
    import zlib

    h = zlib.crc32(Path(name).name.encode("utf-8", "replace")) % 10
    return "train" if h < 8 else ("val" if h == 8 else "test")
