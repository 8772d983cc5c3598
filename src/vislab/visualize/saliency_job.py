"""The saliency job: maps of which pixels a class score depends on, for each image, with the contract's
settings, ``run`` and result.

    result = run(SaliencySettings(images=["sample:coffee"], method="smoothgrad"), "runs/saliency-1")
    result.rows[0]["target_name"], result.files["00_coffee_figure"]

Writes, per image, a heatmap PNG, an overlay PNG and a figure with a colour bar, and one metrics row (the
explained and the predicted class with their probabilities; for integrated gradients how well it converged).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import jobs, runs
from ..backbones import Backbone
from ..backbones.inputs import load_images, network_bytes
from ..devices import seed_everything
from ..images import colorize, overlay, save_image
from ..machine import check_memory
from .cam import check_cam_layer
from .maps import LABELS, LAYER_METHODS, Explainer, make_explainer
from .plots import display_max, saliency_figure
from .settings import SaliencySettings


@dataclass
class SaliencyResult(jobs.JobResult):
    """`rows[i]`: image i's classes, probabilities and numbers (what metrics.jsonl holds) and its figure."""

    rows: list[dict[str, Any]] = field(default_factory=list)


def memory_needed(settings: SaliencySettings, side: int) -> float:
    """Peak bytes for one image: the network passes of one batch, plus the method's own buffers (SmoothGrad's
    noise, integrated gradients' per-interval integrals and one round of gradients)."""
    image = 3 * side * side * 4
    if settings.method == "vanilla":
        return network_bytes(1, side, grad=True)
    if settings.method == "smoothgrad":
        return network_bytes(min(settings.batch_size, settings.samples), side, grad=True) + settings.samples * image
    if settings.method in ("scorecam", "occlusion"):  # batches of masked images, forward passes only
        return network_bytes(settings.batch_size, side, grad=False) + settings.batch_size * image
    if settings.method != "ig":  # one gradient pass (guided-gradcam: two, one after the other)
        return network_bytes(1, side, grad=True)
    buffers = (2 * settings.steps + settings.baseline_samples) * image
    return network_bytes(min(settings.batch_size, settings.max_steps), side, grad=True) + buffers


def explainer(settings: SaliencySettings, bb: Backbone, progress: jobs.Progress | None = None) -> Explainer:
    return make_explainer(bb, settings.method, n_samples=settings.samples, stdev=settings.noise,
                          n_steps=settings.steps, ig_method="adaptive", tol=settings.tol,
                          max_steps=settings.max_steps, internal_batch_size=settings.batch_size, seed=settings.seed,
                          baseline=settings.baseline, baseline_samples=settings.baseline_samples,
                          progress=progress, layer=settings.layer, window=settings.window,
                          stride=settings.stride)


def gradient_budget(settings: SaliencySettings) -> int:
    """Integrated gradients' most gradients per image: the progress bar's unit, so it moves during each
    image (an image that converges early jumps to its end of the bar)."""
    return settings.max_steps * settings.baseline_samples


def run(settings: SaliencySettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> SaliencyResult:
    """Explain every image of `settings`; all of them are read, and the class checked, before the run folder is
    made."""
    settings.validate()
    images = load_images(settings.images)
    bb = settings.load_backbone()
    target = bb.class_index(settings.target) if settings.target is not None else None
    if settings.layer is not None and settings.method in LAYER_METHODS:
        check_cam_layer(bb, settings.layer, bb.prepare(images[0]))
    if settings.method == "occlusion" and settings.window > bb.input_size:
        raise jobs.SettingError("window", f"must be at most the model's input size ({bb.input_size} px), "
                                          f"got {settings.window}")
    check_memory(memory_needed(settings, bb.input_size), f"{settings.method} saliency",
                 hint="lower batch_size" + (", samples" if settings.method == "smoothgrad" else ""))
    seed_everything(settings.seed)
    run_dir = jobs.start_run("saliency", settings, out, command=command, overwrite=overwrite, checked=True)
    started = time.perf_counter()
    stop, report = jobs.stopper(should_stop), jobs.reporter(progress)
    # Progress counts images, or for integrated gradients the gradients taken (at most `unit` per image).
    unit, k = (gradient_budget(settings) if settings.method == "ig" else 1), 0
    log, result = runs.MetricsLog(run_dir), SaliencyResult(run_dir)
    method = explainer(settings, bb, progress=lambda n, _, **__: report(k * unit + min(n, unit), len(images) * unit))
    for k, (spec, img) in enumerate(zip(settings.images, images)):
        if stop():
            result.status = "cancelled"
            break
        row = _explain_one(run_dir, f"{k:02d}_{Path(spec.removeprefix('sample:')).stem}", bb, img, target,
                           method, settings, result)
        log.log(k, image=spec, **{key: v for key, v in row.items() if key not in ("figure", "title")})
        result.rows.append({"image": spec, **row})
        report((k + 1) * unit, len(images) * unit, target_prob=row["target_prob"])
    result.numbers = {"images": len(result.rows)}
    return jobs.finish_run(result, started)


def _explain_one(run_dir: Path, stem: str, bb: Backbone, img: torch.Tensor, target: int | None,
                 method: Explainer, settings: SaliencySettings, result: SaliencyResult) -> dict[str, Any]:
    """One image's map and pictures; returns its metrics row."""
    view = bb.prepare(img)
    with torch.no_grad():
        probs = bb(view).softmax(dim=1)[0]
    pred = int(probs.argmax())
    t = pred if target is None else target
    explanation = method.explain(view, t)
    name = settings.method + (f" from {settings.baseline}" if settings.method == "ig" else "")
    layer = getattr(method, "layer", None)  # the CAM methods' layer, chosen on the first image when not given
    name += f" at {layer}" if layer else ""
    heat, view_cpu = explanation.maps[0].cpu(), view[0].cpu()
    top = display_max(heat)  # the same colour scale as the figure's colour bar
    paths = {role: run_dir / f"{stem}_{role}.png" for role in ("heatmap", "overlay", "figure")}
    save_image(colorize(heat, "inferno", vmin=0.0, vmax=top), paths["heatmap"])
    save_image(overlay(view_cpu, heat.clamp(max=top)), paths["overlay"])
    title = f"target: {bb.class_name(t)} ({t}), p = {float(probs[t]):.1%}"
    if t != pred:
        title += f"\npredicted: {bb.class_name(pred)}, p = {float(probs[pred]):.1%}"
    saliency_figure(view_cpu, heat, paths["figure"], image_title=title,
                    map_title=f"{name} saliency ({bb.name})", colorbar_label=LABELS[settings.method])
    result.files.update({f"{stem}_{role}": path for role, path in paths.items()})
    return {"target": t, "target_name": bb.class_name(t), "target_prob": float(probs[t]), "predicted": pred,
            "predicted_name": bb.class_name(pred), "predicted_prob": float(probs[pred]),
            **explanation.numbers[0], **({"layer": layer} if layer else {}), "title": title,
            "figure": str(paths["figure"])}
