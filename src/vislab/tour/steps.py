"""What a tour step is and the helpers steps share (the hand-written steps: `see`, `learn`).

A step is ``fn(run_dir, settings) -> headline picture``: it calls one capability's public library API and
fills its own run folder with ``config.json`` (holding the equivalent ``vislab ...`` command, so a reader can
rerun it), ``metrics.jsonl`` and pictures. Work sizes come from `TourSettings.level`: "full" for the README
figures, "quick" for ``make demo``, "smoke" for the tests. Most steps are the generic `record_step`: the
record's tour settings for the level, run through the capability's job.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..registry import Capability

T = TypeVar("T")


@dataclass(frozen=True)
class TourSettings:
    level: str = "quick"
    seed: int = 0
    device: str = "cpu"

    def pick(self, *, full: T, quick: T, smoke: T) -> T:
        """The value for this tour's level."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.level]


StepFn = Callable[[Path, TourSettings], "str | None"]
"""``fn(run_dir, settings) -> headline``: a step fills `run_dir` and may name the picture standing for it."""


def record_step(cap: Capability) -> StepFn:
    """The tour step of capability `cap`: its hand-written step when the record names one, else its job run with
    the record's settings for the tour's level (and the tour's seed and device)."""
    from ..registry import load

    if cap.tour.step:
        return load(cap.tour.step)

    def step(run_dir: Path, s: TourSettings) -> str | None:
        cls = cap.settings_class()
        names = {f.name for f in dataclasses.fields(cls)}
        values = {**{k: v for k, v in (("seed", s.seed), ("device", s.device)) if k in names},
                  **cap.tour.overrides(s.level)}
        settings = cls(**values)
        result = cap.runner()(settings, run_dir, **job_options(cap.name, settings, positional=cap.positional))
        files = getattr(result, "files", {})
        role = cap.tour.headline or next((r for r in ("figure", "image") if r in files), next(iter(files), None))
        return Path(files[role]).name if role else None

    return step


@functools.lru_cache(maxsize=2)
def backbone(device: str):
    """The default ImageNet backbone, loaded once for all the steps that use it (frozen, so safe to share)."""
    from ..backbones import load

    return load("efficientnet_lite0", device=device)


def job_options(command: str, settings: Any, *, positional: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a step passes to a job's ``run`` besides settings and folder: the equivalent ``vislab`` command line
    (so a reader can rerun the step; `command` is the capability's name) and a progress bar."""
    from ..progress import ProgressBar
    from ..registry import command_line, get

    return {"command": command_line(get(command), settings), "progress": ProgressBar(command)}
