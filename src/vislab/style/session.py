"""Running one optimization inside a run folder: config.json, metrics.jsonl, snapshots, the result image,
status.json; and the up-front check that the output file can be written at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import jobs
from ..fileio import probe_write
from ..images import save_image
from ..jobs import JobResult, SettingError
from .recorder import Recorder
from .settings import SynthesisSettings, check_image_name
from .transfer import Result, Step, StopFn

Synthesize = Callable[[Callable[[Step], None], StopFn], Result]
"""Runs the optimization, given an `on_step` callback and a `should_stop` check."""


@dataclass
class SynthesisResult(JobResult):
    """A `style`, `invert` or `texture` run: ``files["image"]`` is the result image (the `output` file when
    given, else ``result.png`` in the run folder); ``numbers`` holds the final losses (``final_total``, ...)
    and any job-specific numbers (invert: ``psnr``, ``ssim``)."""

    image: torch.Tensor | None = None  # (3, H, W) in [0, 1]
    start: dict[str, float] = field(default_factory=dict)  # losses of the initial image
    final: dict[str, float] = field(default_factory=dict)  # losses of the returned image
    history: list[dict] = field(default_factory=list)  # per step: scale, step, total, content, style, tv


@dataclass
class InvertResult(SynthesisResult):
    layer: str = ""  # the layer inverted


def run_session(settings: SynthesisSettings, out: str | Path | None, synthesize: Synthesize, *,
                numbers: Callable[[Result], dict[str, float]] | None = None, progress: jobs.Progress | None = None,
                should_stop: StopFn | None = None, command: str | None = None, overwrite: bool = False,
                extra_config: dict[str, Any] | None = None, started: float | None = None,
                make_result: Callable[..., SynthesisResult] = SynthesisResult) -> SynthesisResult:
    """Make the run folder (`jobs.start_run`), run ``synthesize(on_step, should_stop)`` logging every step to
    metrics.jsonl and `progress`, save ``result.png`` (and `settings.output` when the run was not cancelled),
    log the final losses plus ``numbers(result)``, and write status.json. The result is made by
    `make_result` (a `SynthesisResult` subclass for jobs with more to say). Ctrl-C saves ``interrupted.png``.

    Call it only after every input was read and checked: nothing is written before `jobs.start_run`."""
    started = time.perf_counter() if started is None else started
    run_dir = jobs.start_run(settings.kind, settings, out, command=command, overwrite=overwrite,
                             extra=extra_config, checked=True)  # the runners validate first (`_check_first`)
    rec = Recorder(run_dir, save_every=settings.save_every or 0)
    report, total, plan = jobs.reporter(progress), settings.total_steps, settings.scale_iterations

    def on_step(step: Step) -> None:
        rec(step)
        t = step.terms
        extra = {"preview": preview(step.image)} if wants_preview(step) else {}
        # where the run is, as a person reads it: scale 2/3, iteration 80/150 (1-based; the scale's own plan)
        report(step.planned, total, loss=t["total"], content=t["content"], style=t["style"], tv=t["tv"],
               scale=step.scale + 1, scales=len(plan), iteration=step.iteration, iterations=plan[step.scale],
               **extra)

    with rec.saving_on_interrupt():
        r = synthesize(on_step, jobs.stopper(should_stop))
    result = make_result(run_dir, status="cancelled" if r.stopped else "ok", image=r.image, start=r.start,
                         final=r.final, history=r.history)
    result.files["result"] = result.files["image"] = save_image(r.image, run_dir / "result.png")
    output = settings.output
    if output is not None and not r.stopped and Path(output).resolve() != (run_dir / "result.png").resolve():
        result.files["image"] = save_image(r.image, output)
    result.numbers = {f"final_{k}": v for k, v in r.final.items()}
    result.numbers.update(numbers(r) if numbers else {})
    rec.metrics.log(len(r.history), **result.numbers)
    return jobs.finish_run(result, started, "cancelled: the image so far is result.png" if r.stopped else "")


PREVIEW_EVERY = 10
"""Steps between the pictures passed to `progress` as ``preview=`` (also at each scale's first step)."""


def wants_preview(step: Step) -> bool:
    return step.iteration == 1 or step.step % PREVIEW_EVERY == 0


def preview(image: torch.Tensor) -> torch.Tensor:
    """The image being optimized as a (3, H, W) CPU copy in [0, 1] (the optimizer keeps changing its own)."""
    return image[0].detach().clamp(0, 1).to("cpu", copy=True)


def check_output(output: str | None) -> None:
    """Refuse an output file we could not write, before spending minutes on the optimization: an unknown
    suffix, a folder in its place, or a folder we may not write in (its nearest existing folder is tested by
    creating and removing a file there, as `save_image` would)."""
    if output is None:
        return
    check_image_name("output", output)
    p = Path(output)
    if p.is_dir():
        raise SettingError("output", f"{output!r} is a folder; give an image file name")
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SettingError("output", f"{output!r} cannot be written: {str(parent)!r} is not a folder")
    try:
        probe_write(parent)
    except OSError as e:
        raise SettingError("output", f"{output!r} cannot be written: folder {str(parent)!r} is not writable "
                                     f"({e.strerror or e})") from None
