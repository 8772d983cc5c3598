"""``GET /api/info``: what the page needs to build its tabs and forms ("forms", from the capability records and
their settings' field metadata: see `forms`), samples, class names for completion, checkpoints in the runs
folder, the limits."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..images import SAMPLE_IMAGES, default_max_pixels
from . import history, uploads
from .capabilities import models, page_capabilities
from .forms import forms
from .queue import JobQueue


@lru_cache(maxsize=1)
def class_names() -> list[str]:
    from ..backbones.classes import imagenet_classes, short_name

    return [short_name(c) for c in imagenet_classes()]


def info(root: Path, queue: JobQueue, max_upload_bytes: int, max_memory: int | None = None) -> dict[str, Any]:
    """`max_memory`: the server's --max-memory in bytes (the most a job's images may need)."""
    runs = history.list_runs(root)  # one walk of the runs folder for both lists
    return {
        "forms": forms(),
        "capabilities": {kind: [f["name"] for f in form["fields"]]  # the former schema, until no page reads it
                         for kind, form in zip(page_capabilities(), forms())},
        "samples": list(SAMPLE_IMAGES), "models": list(models()), "classes": class_names(),
        "checkpoints": {"caption": history.checkpoints(root, runs, "caption-train"),
                        "gan": history.checkpoints(root, runs, "gan-train")},
        "limits": {"max_upload_bytes": max_upload_bytes, "max_pixels": default_max_pixels(),
                   "min_side": uploads.MIN_SIDE, "max_memory": max_memory},
        "runs": os.fspath(root),  # the runs folder as the server was given it: where a train command writes
        "workers": queue.workers, "threads": queue.threads}


@lru_cache(maxsize=16)
def sample_thumbnail(name: str) -> bytes:
    """A built-in sample as a PNG at most 256 pixels a side (the page's picker shows it)."""
    from ..images import from_array, resize, sample_image
    from .job import encode_png
    from .paths import OutsideRuns

    if name not in SAMPLE_IMAGES:
        raise OutsideRuns(f"no such sample: {name!r}")
    img = from_array(sample_image(name))
    h, w = img.shape[-2:]
    scale = 256 / max(h, w)
    return encode_png(resize(img, (max(1, round(h * scale)), max(1, round(w * scale)))) if scale < 1 else img)
