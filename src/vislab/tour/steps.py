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

    return {"command": equivalent_command(command, settings, positional=positional),
            "progress": _Bar(command)}


class _Bar:
    """A ``progress(step, total, **numbers)`` callback: one tqdm bar, closed when the job reaches its total."""

    def __init__(self, desc: str) -> None:
        self.desc, self.bar = desc, None

    def __call__(self, step: int, total: int | None, **numbers: float) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.desc, unit="it", dynamic_ncols=True, leave=False)
        self.bar.update(step - self.bar.n)  # redrawn at most every 0.1 s
        if total is not None and step >= total:
            self.bar.close()
