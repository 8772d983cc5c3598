"""Where vislab finds shared data and keeps its caches.

One setting each: ``VISLAB_DATA`` (test/benchmark data; default ``../shared/data`` when it exists) and
``VISLAB_CACHE`` (features, trained helper models; default ``~/.cache/vislab``).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path | None:
    """The shared data folder, or None when there is none (the product must work without it)."""
    env = os.environ.get("VISLAB_DATA")
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    # Default: ../shared/data relative to the working directory or to the repository checkout.
    candidates = [Path.cwd() / ".." / "shared" / "data", Path(__file__).resolve().parents[3] / "shared" / "data"]
    for p in candidates:
        if p.is_dir():
            return p.resolve()
    return None


def cache_dir(*parts: str) -> Path:
    """A cache folder (created), under ``VISLAB_CACHE`` or ``~/.cache/vislab``."""
    root = Path(os.environ.get("VISLAB_CACHE") or Path.home() / ".cache" / "vislab").expanduser()
    p = root.joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p
