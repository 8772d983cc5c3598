"""What one request may cost the server: memory judged from image headers before anything is decoded.

A job's images are counted once per reference (the same upload named three times is decoded three times), from
the files' headers only: a 12 kB PNG can announce a 100-megapixel picture, 1.2 GB once decoded to floats. A job
whose estimate is over the server's ``--max-memory`` is refused (413) before it is queued; the queue also starts
a job only while the estimates of the running ones leave room for it (`vislab.serve.queue`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, VislabError
from ..images import SAMPLE_IMAGES, decode_bytes, held_bytes, image_header
from ..machine import available_memory, format_bytes
from .uploads import UPLOADS

MEMORY_SHARE = 0.5
"""Default ``--max-memory``: this share of the memory available when the server starts."""
FALLBACK_MEMORY = 4 * 2**30
"""Default ``--max-memory`` where the available memory cannot be read."""


class MemoryRefused(VislabError):
    """A request whose estimated memory is over the server's limit (HTTP 413)."""

    status = 413


def default_max_memory() -> int:
    avail = available_memory()
    return int(avail * MEMORY_SHARE) if avail else FALLBACK_MEMORY


def parse_memory(text: str) -> int:
    """``"4G"``, ``"512M"``, ``"1.5GiB"``, ``"2e9"`` -> bytes (binary units: G = 2**30)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ConfigError(f"--max-memory {text}: give a size such as 4G, 512M or 2000000000")
    value = float(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " ")
    if value < 1:
        raise ConfigError(f"--max-memory {text}: must be more than 0")
    return int(value)


def image_refs(settings: Any, root: Path) -> list[str]:
    """The images a job's settings name (samples and stored uploads), once per reference."""
    uploads = os.fspath(root / UPLOADS)
    found = []
    for value in settings.to_dict().values():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, str) and ((v.startswith("sample:") and v[7:] in SAMPLE_IMAGES)
                                       or os.path.dirname(v) == uploads):
                found.append(v)
    return found


def job_memory(settings: Any, root: Path) -> int:
    """Estimated peak bytes of loading a job's images: every image kept as floats, plus the largest one's
    decoding on top (images are loaded one after another)."""
    sizes = [image_header(ref) for ref in image_refs(settings, root)]
    held = sum(held_bytes(w, h) for w, h, _ in sizes)
    return held + max((decode_bytes(w, h, m) - held_bytes(w, h) for w, h, m in sizes), default=0)


def check_job_memory(settings: Any, root: Path, max_memory: int) -> int:
    """The job's estimate (`job_memory`); `MemoryRefused` in one line when it is over `max_memory`."""
    need = job_memory(settings, root)
    if need > max_memory:
        n = len(image_refs(settings, root))
        raise MemoryRefused(f"this job's {n} image{'s' * (n != 1)} need about {format_bytes(need)} of memory once "
                            f"decoded, more than this server allows (--max-memory {format_bytes(max_memory)}); "
                            "use smaller images or fewer of them")
    return need
