"""The dream job: a class or feature visualization, with the contract's settings, ``run`` and result.

    result = run(DreamSettings(class_="tarantula", steps=100), "runs/dream-1")
    result.files["image"], result.numbers["target_prob"]
    run(DreamSettings(channel="block5:17", batch=4, diversity=10), "runs/dream-2").numbers["objective"]

Writes dream.png (with `batch` > 1: the images side by side, and each as dream_<i>.png), figure.png (the
image and the target's probability, or the objective, over the optimization) and metrics.jsonl.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import jobs, runs
from ..backbones.inputs import network_bytes
from ..devices import seed_everything
from ..images import make_grid, save_image
from ..jobs import SettingError
from ..machine import check_memory
from .class_viz import create_class_visualization, create_visualization
from .objectives import Objective, capture, layer_names
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
    if settings.objective_setting() != "class_":
        return _run_objective(settings, bb, out, progress=progress, should_stop=should_stop, command=command,
                              overwrite=overwrite)
    target = bb.class_index(settings.class_)
    views = param.views_per_step()
    _check_memory(settings, views)
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


def _check_memory(settings: DreamSettings, views: int) -> None:
    n = views * settings.batch
    check_memory(network_bytes(n, settings.size, grad=True),
                 f"a {settings.size}x{settings.size} dream with {views} view(s) per step"
                 + (f" of each of {settings.batch} images" if settings.batch > 1 else ""),
                 hint="lower size" + (" or views" if views > 1 else "") + (" or batch" if settings.batch > 1 else ""))


def check_objective(settings: DreamSettings, objective: Objective, bb) -> None:  # noqa: ANN001 (a Backbone)
    """The layer, channel index and neuron position of `objective` exist in `bb` at the dream's size (one
    forward of a gray image); a SettingError names the objective's setting and lists what is valid."""
    kind = settings.objective_setting()
    unit = next(o for _, o in objective.terms())
    names = layer_names(bb)
    if unit.layer not in names:
        raise SettingError(kind, f"names the layer {unit.layer!r}, which {bb.name} does not have; layers: "
                                 f"{', '.join(names)}")
    with torch.no_grad():
        gray = torch.full((1, 3, settings.size, settings.size), 0.5, device=bb.device)
        act = capture(bb, gray, [unit.layer])[unit.layer]
    if kind == "deepdream":
        return
    if act.dim() != 4:
        raise SettingError(kind, f"needs a layer with channels and positions; {unit.layer} gives shape "
                                 f"{tuple(act.shape)}")
    if unit.channel >= act.shape[1]:
        raise SettingError(kind, f"channel {unit.channel} is out of range: {unit.layer} has channels "
                                 f"0..{act.shape[1] - 1}")
    if kind == "neuron":
        x, y = unit.position(act)
        if x >= act.shape[3] or y >= act.shape[2]:
            raise SettingError(kind, f"position {x},{y} is outside {unit.layer}'s {act.shape[3]}x{act.shape[2]} "
                                     f"grid at size {settings.size}")


def _run_objective(settings: DreamSettings, bb, out: str | Path | None, *,  # noqa: ANN001 (a Backbone)
                   progress: jobs.Progress | None, should_stop: jobs.StopCheck | None, command: str | None,
                   overwrite: bool) -> DreamResult:
    """A channel, neuron or DeepDream visualization of `settings.batch` images."""
    param = settings.parameterization()
    objective = settings.objective()
    check_objective(settings, objective, bb)
    _check_memory(settings, param.views_per_step())
    seed_everything(settings.seed)
    run_dir = jobs.start_run("dream", settings, out, command=command, overwrite=overwrite,
                             extra={**parameterization_settings(param), "objective": objective.name})
    started = time.perf_counter()
    log = runs.MetricsLog(run_dir)
    curve: tuple[list[int], list[float]] = ([], [])

    def on_step(step: int, row: dict[str, float]) -> None:
        log.log(step, **row)
        curve[0].append(step)
        curve[1].append(row["objective"])

    viz = create_visualization(objective, bb, param, size=settings.size, steps=settings.steps, seed=settings.seed,
                               batch=settings.batch, log_every=max(1, settings.steps // LOG_POINTS),
                               on_step=on_step, progress=progress, should_stop=should_stop)
    log.log(viz.steps, objective=viz.value, final=True)
    images = viz.images.cpu()
    files = {"image": run_dir / "dream.png", "figure": run_dir / "figure.png"}
    if len(images) > 1:
        for i, img in enumerate(images):
            files[f"image_{i}"] = save_image(img, run_dir / f"dream_{i}.png")
    shown = images[0] if len(images) == 1 else make_grid(images, nrow=math.ceil(math.sqrt(len(images))), padding=2)
    save_image(shown, files["image"])
    title = f"{objective.name} = {viz.value:.3g}\n{bb.name}, {param.name}, {viz.steps} steps"
    dream_figure(shown, files["figure"], title=title, steps=curve[0], probs=curve[1], ylabel="objective")
    result = DreamResult(run_dir, status="cancelled" if viz.stopped else "ok", files=files,
                         numbers={"objective": viz.value, "steps": viz.steps}, target_name=objective.name,
                         image=shown)
    return jobs.finish_run(result, started)
