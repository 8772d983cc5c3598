"""The `gan sample` job: a grid of samples from a trained generator.

    result = run(GanSampleSettings(checkpoint="runs/gan-1", n=64, output="grid.png"), "runs/sample-1")
    result.files["grid"], result.output

The run folder gets the grid (samples.png), config.json, metrics.jsonl and status.json; `output` is a copy
written elsewhere (checked for writability before any sampling). The samples are those `gan eval` scores for
the same seed: both draw noise in the same batches from the same seeded stream.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import jobs, runs
from ..devices import resolve_device
from ..images import save_image
from ..jobs import JobResult, Progress, StopCheck
from .checkpoint import open_generator, reading
from .evaluate import generate
from .memory import grid_side, refuse_if_too_big, sample_bytes
from .outputs import check_output_file, grid_of, to_pixels
from .settings import GanSampleSettings

KIND = "gan-sample"


@dataclass
class GanSampleResult(JobResult):
    """`output`: where the grid was also written (None without `settings.output`); `samples`: how many."""

    output: Path | None = None
    samples: int = 0
    generator: str = "raw"  # "ema" (the weight average) or "raw"


def run(settings: GanSampleSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> GanSampleResult:
    """Draw `settings.n` samples and tile them into one grid (a stopped run tiles those drawn so far)."""
    started = time.perf_counter()
    settings.validate()
    device = resolve_device(settings.device)
    with reading("checkpoint"):
        g = open_generator(settings.checkpoint, device, raw=settings.raw)
    n = settings.n
    output = check_output_file("output", settings.output, grid_side(n)) if settings.output else None
    refuse_if_too_big("n", n, sample_bytes(n), f"a grid of {n} samples", device)
    fresh = out is None or not Path(out).exists()
    run_dir = jobs.start_run(KIND, settings, out, command=command, overwrite=overwrite, extra=g.facts(),
                             checked=True)  # validated first, before the checkpoint was read
    with _whole_run_or_none(run_dir, fresh):
        return _sample(settings, g, device, output, run_dir, started, progress, should_stop)


def _sample(settings: GanSampleSettings, g: Any, device: torch.device, output: Path | None, run_dir: Path,
            started: float, progress: Progress | None, should_stop: StopCheck | None) -> GanSampleResult:
    n = settings.n
    x = generate(g.generator, g.settings.noise_dim, n, seed=settings.seed, device=device, progress=progress,
                 should_stop=should_stop)
    result = GanSampleResult(run_dir, status="ok" if len(x) == n else "cancelled", samples=len(x),
                             generator=g.sampled_from)
    if len(x):
        grid = grid_of(to_pixels(x))
        result.files["grid"] = save_image(grid, run_dir / "samples.png")
        if output is not None and not result.cancelled:  # never a partial grid where a whole one was asked for
            result.output = result.files["output"] = save_image(grid, output)
    result.numbers = {"samples": len(x)}
    runs.MetricsLog(run_dir).log(g.step, samples=len(x))
    return jobs.finish_run(result, started, "" if not result.cancelled else f"stopped after {len(x)} of {n}")


@contextlib.contextmanager
def _whole_run_or_none(run_dir: Path, fresh: bool) -> Iterator[None]:
    """A sampling that fails or is interrupted after the folder was started leaves no half run (config.json
    alone, which a report calls incomplete): what it wrote goes, and so does the folder if it made it."""
    try:
        yield
    except BaseException:
        if fresh:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:  # a folder given to us (empty, or emptied by overwrite): leave it as empty as it was
            runs.empty_run_dir(run_dir)  # --overwrite's own emptying (keeps the lock file)
        raise
