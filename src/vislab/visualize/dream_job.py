"""The dream job: a class visualization, with the contract's settings, ``run`` and result.

    result = run(DreamSettings(class_="tarantula", steps=100), "runs/dream-1")
    result.files["image"], result.numbers["target_prob"]

Writes dream.png, figure.png (the image and the target's probability over the optimization) and
metrics.jsonl.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import jobs, runs
from ..backbones.inputs import network_bytes
from ..devices import seed_everything
from ..images import save_image
from ..machine import check_memory
from .class_viz import create_class_visualization
from .parameterizations import parameterization_settings
from .plots import dream_figure
from .settings import DreamSettings

LOG_POINTS = 50
"""About this many metrics rows per run, however many steps (every step for short runs)."""


@dataclass
class DreamResult(jobs.JobResult):
    target: int = -1
    target_name: str = ""
    image: torch.Tensor | None = None  # (3, size, size) in [0, 1], on the 8-bit grid


def run(settings: DreamSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> DreamResult:
    """Grow the image of `settings`; the model, the class and the memory needed are checked before the run
    folder is made."""
    settings.validate()
    param = settings.parameterization()
    bb = settings.load_backbone()
    target = bb.class_index(settings.class_)
    views = param.views_per_step()
    check_memory(network_bytes(views, settings.size, grad=True),
                 f"a {settings.size}x{settings.size} dream with {views} view(s) per step",
                 hint="lower size" + (" or views" if views > 1 else ""))
    seed_everything(settings.seed)
    run_dir = jobs.start_run("dream", settings, out, command=command, overwrite=overwrite,
                             extra={**parameterization_settings(param), "target": target})
    started = time.perf_counter()
    log = runs.MetricsLog(run_dir)
    curve: tuple[list[int], list[float]] = ([], [])

    def on_step(step: int, logit: float, prob: float) -> None:
        log.log(step, target_logit=logit, target_prob=prob)
        curve[0].append(step)
        curve[1].append(prob)

    viz = create_class_visualization(target, bb, param, size=settings.size, steps=settings.steps, seed=settings.seed,
                                     log_every=max(1, settings.steps // LOG_POINTS), on_step=on_step,
                                     progress=progress, should_stop=should_stop)
    log.log(viz.steps, target_prob=viz.prob, final=True)
    name = bb.class_name(target)
    save_image(viz.image, run_dir / "dream.png")
    title = f"{name} ({target}): p = {viz.prob:.1%}\n{bb.name}, {param.name}, {viz.steps} steps"
    dream_figure(viz.image.cpu(), run_dir / "figure.png", title=title, steps=curve[0], probs=curve[1],
                 target_name=name)
    result = DreamResult(run_dir, status="cancelled" if viz.stopped else "ok",
                         files={"image": run_dir / "dream.png", "figure": run_dir / "figure.png"},
                         numbers={"target_prob": viz.prob, "steps": viz.steps}, target=target, target_name=name,
                         image=viz.image.cpu())
    return jobs.finish_run(result, started)
