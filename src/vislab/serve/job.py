"""One submitted job as the server tracks it: its state, its progress numbers, its latest preview picture."""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREVIEW_EVERY = 0.5
"""Seconds between encoded previews: the page polls about twice a second, and a PNG encode costs a few ms."""
FINAL_STATES = ("ok", "cancelled", "failed", "interrupted")


@dataclass(eq=False)
class Job:
    id: str
    kind: str
    settings: Any
    runner: Callable[..., Any]
    run_dir: Path
    command: str = ""  # the equivalent ``vislab ...`` command line (`queue.command_for`), recorded in config.json
    memory: int = 0  # estimated peak bytes (`vislab.serve.limits.job_memory`); the queue keeps the sum in bounds
    state: str = "queued"  # queued | running | ok | cancelled | failed | interrupted
    message: str = ""
    step: int = 0
    total: int | None = None
    numbers: dict[str, float] = field(default_factory=dict)
    preview_png: bytes | None = None
    preview_count: int = 0
    names: dict[str, str] | None = None  # {upload token: original file name} of its inputs, once looked up
    result: Any = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    _last_preview: float = 0.0

    def progress(self, step: int, total: int | None = None, **values: Any) -> None:
        """The jobs' ``progress`` callback: scalars are kept for the page; ``preview=`` (a (3, H, W) tensor in
        [0, 1]) becomes the picture it shows as the image forms."""
        self.step, self.total = int(step), (int(total) if total is not None else None)
        preview = values.pop("preview", None)
        self.numbers = {k: float(v) for k, v in values.items() if _is_scalar(v)}
        now = time.monotonic()
        if preview is not None and now - self._last_preview >= PREVIEW_EVERY:
            self._last_preview = now
            self.preview_png = encode_png(preview)
            self.preview_count += 1

    def finish(self, state: str, message: str) -> None:
        self.state, self.message, self.finished = state, message, time.time()
        self.done.set()

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


def _is_scalar(v: Any) -> bool:
    try:
        return not isinstance(v, bool) and math.isfinite(float(v))
    except (TypeError, ValueError, RuntimeError):  # tensors with more than one value, strings
        return False


def encode_png(img: Any) -> bytes | None:
    """A (3, H, W) [0, 1] tensor or array as PNG bytes (None when it is not a picture)."""
    from PIL import Image

    from ..errors import ImageError
    from ..images import to_uint8

    try:
        arr = to_uint8(img.detach().cpu() if hasattr(img, "detach") else img)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    except (TypeError, ValueError, RuntimeError, ImageError):
        return None
