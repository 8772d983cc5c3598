"""Writing an optimization's progress into its run folder: metrics rows, snapshots, and the image so far on
Ctrl-C."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from ..images import save_image
from ..runs import MetricsLog
from .transfer import Step


class Recorder:
    """An `on_step` callback: logs every step's losses to ``metrics.jsonl`` and, with `save_every`, writes
    ``step_NNNNN.png`` every that many steps. Keeps the latest image, which an interrupted run still saves."""

    def __init__(self, run_dir: str | Path, *, save_every: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.save_every = save_every
        self.metrics = MetricsLog(self.run_dir)
        self.latest: torch.Tensor | None = None
        self.saved: list[Path] = []

    def __call__(self, s: Step) -> None:
        self.metrics.log(s.step, scale=s.scale, height=s.size[0], width=s.size[1], **s.terms)
        self.latest = s.image
        if self.save_every and s.step % self.save_every == 0:
            self.saved.append(save_image(s.image[0].clamp(0, 1), self.run_dir / f"step_{s.step:05d}.png"))

    @contextlib.contextmanager
    def saving_on_interrupt(self, name: str = "interrupted.png") -> Iterator[None]:
        """On KeyboardInterrupt, write the image so far to `name` in the run folder and re-raise."""
        try:
            yield
        except KeyboardInterrupt:
            if self.latest is not None:
                path = save_image(self.latest[0].clamp(0, 1), self.run_dir / name)
                sys.stderr.write(f"saved the image so far to {path}\n")
            raise
