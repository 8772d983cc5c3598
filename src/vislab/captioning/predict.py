"""`vislab caption IMAGE...` as one job: caption image files with a trained model.

    pairs = caption(CaptionSettings(images=["a.jpg", "sample:coffee"], checkpoint="runs/cap"))  # no files
    result = run(CaptionSettings(...), "runs/cap-pics")     # also captions.json in a run folder
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import jobs
from ..fileio import write_json
from ..jobs import JobResult, Progress, StopCheck
from .checkpoint import Captioner
from .evaluate import check_decoding_fits, decode, image_features
from .settings import CaptionSettings

KIND = "caption"


@dataclass
class CaptionResult(JobResult):
    """`captions`: (image, caption) pairs, in the order of the settings' images (fewer when cancelled)."""

    captions: list[tuple[str, str]] = field(default_factory=list)


def read_inputs(settings: CaptionSettings) -> tuple[Captioner, np.ndarray]:
    """The checked settings' model and the features of their images (every image read, or an error naming the
    one that cannot be)."""
    settings.validate()
    captioner = Captioner.load(settings.checkpoint)
    check_decoding_fits(captioner, settings.beam)
    return captioner, image_features(captioner, settings.images, device=settings.device)


def caption(settings: CaptionSettings, *, progress: Progress | None = None,
            should_stop: StopCheck | None = None) -> list[tuple[str, str]]:
    """(image, caption) pairs, without writing anything."""
    captioner, feats = read_inputs(settings)
    hyps = decode(captioner, feats, settings.beam, progress=progress, should_stop=should_stop)
    return list(zip(settings.images, hyps))


def run(settings: CaptionSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None, overwrite: bool = False) -> CaptionResult:
    """Caption the images into the run folder `out` (default runs/caption-<time>): captions.json lists
    ``{"image", "caption"}`` per image."""
    started = time.perf_counter()
    captioner, feats = read_inputs(settings)
    run_dir = jobs.start_run(KIND, settings, out, command=command, overwrite=overwrite)
    hyps = decode(captioner, feats, settings.beam, progress=progress, should_stop=should_stop)
    pairs = list(zip(settings.images, hyps))
    write_json(run_dir / "captions.json", [{"image": p, "caption": c} for p, c in pairs])
    result = CaptionResult(run_dir, status="ok" if len(hyps) == len(feats) else "cancelled",
                           files={"captions": run_dir / "captions.json"},
                           numbers={"images": len(hyps)}, captions=pairs)
    return jobs.finish_run(result, started, "" if result.status == "ok" else
                           f"stopped after {len(hyps)} of {len(feats)} images")
