"""What a tour step is and the helpers steps share (the steps themselves: `see`, `learn`).

A step is ``fn(run_dir, settings) -> headline picture``: it calls one capability's public library API and
fills its own run folder with ``config.json`` (holding the equivalent ``vislab ...`` command, so a reader can
rerun it), ``metrics.jsonl`` and pictures. Work sizes come from `Settings.level`: "full" for the README
figures, "quick" for ``make demo``, "smoke" for the tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    level: str = "quick"
    seed: int = 0
    device: str = "cpu"

    def pick(self, *, full: T, quick: T, smoke: T) -> T:
        """The value for this tour's level."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.level]


@functools.lru_cache(maxsize=2)
def backbone(device: str):
    """The default ImageNet backbone, loaded once for all the steps that use it (frozen, so safe to share)."""
    from ..backbones import load

    return load("efficientnet_lite0", device=device)


def job_options(command: str, settings: Any, *, positional: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a step passes to a job's ``run`` besides settings and folder: the equivalent ``vislab`` command line
    (so a reader can rerun the step) and a progress bar."""
    from ..jobs import equivalent_command
    from ..progress import ProgressBar

    return {"command": equivalent_command(command, settings, positional=positional),
            "progress": ProgressBar(command)}
