"""The fool job: one image changed until the model calls it the target class, with the contract's settings,
``run`` and result.

    result = run(FoolSettings(image="sample:chelsea", target="tarantula"), "runs/fool-1")
    result.success, result.files["image"], result.numbers["target_prob_after"]

Writes fooling.png (lossless, at the input's resolution), figure.png (original | fooling | magnified
difference), result.json and metrics.jsonl (the target's probability at every scoring pass).
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
from ..fileio import write_json
from ..images import save_image
from ..machine import check_memory
from .fooling import FoolingResult, make_fooling_image
from .plots import fooling_figure
from .settings import FoolSettings

BYTES_PER_IMAGE_PIXEL = 150
"""About a dozen float32 RGB copies of the full-resolution image live at once (the original, the iterate, its
8-bit version, the gradient, the step, the classifier view's resize and its gradient)."""


@dataclass
class FoolResult(jobs.JobResult):
    """`summary`: the attack's numbers (changes in [0, 1] pixel units) and the class names."""

    summary: dict[str, Any] = field(default_factory=dict)
    image: torch.Tensor | None = None  # (3, H, W) the fooling image, on the 8-bit grid

    @property
    def success(self) -> bool:
        return bool(self.summary.get("success"))


def run(settings: FoolSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> FoolResult:
    """Make the fooling image of `settings`; inputs are read and checked before the run folder is made."""
    settings.validate()
    (img,) = load_images([settings.image])
    bb = settings.load_backbone()
    target = bb.class_index(settings.target)
    h, w = img.shape[-2:]
    check_memory(BYTES_PER_IMAGE_PIXEL * h * w + network_bytes(1, bb.input_size, grad=True),
                 f"fooling a {w}x{h} image", hint="use a smaller image")
    seed_everything(settings.seed)
    run_dir = jobs.start_run("fool", settings, out, command=command, overwrite=overwrite,
                             extra={"target_index": target}, checked=True)  # validated above, before any read
    started = time.perf_counter()
    log, report = runs.MetricsLog(run_dir), jobs.reporter(progress)

    def logged(step: int, total: int, **numbers: Any) -> None:  # metrics.jsonl: every scoring pass
        log.log(step, target_prob=numbers["target_prob"])
        report(step, total, **numbers)

    res = make_fooling_image(img, target, bb, lr=settings.lr, max_iters=settings.max_iters, linf=settings.linf,
                             margin=settings.margin, progress=logged, should_stop=should_stop)
    return jobs.finish_run(_write_outputs(run_dir, settings, bb, img, res), started)


def _write_outputs(run_dir: Path, settings: FoolSettings, bb: Backbone, img: torch.Tensor,
                   res: FoolingResult) -> FoolResult:
    s = res.summary(0)
    names = {"target_name": bb.class_name(s["target"]), "before_name": bb.class_name(s["before_class"]),
             "after_name": bb.class_name(s["after_class"])}
    image = res.image[0].cpu()
    save_image(image, run_dir / "fooling.png")
    fooling_figure(img, image, run_dir / "figure.png",
                   original_title=f"original: {names['before_name']} ({s['before_prob']:.1%})\n"
                                  f"p({names['target_name']}) = {s['target_prob_before']:.2%}",
                   fooling_title=f"fooling: {names['after_name']} ({s['after_prob']:.1%})\n"
                                 f"after {s['iterations']} steps", linf=s["linf"], l2=s["l2"])
    summary = {**s, **names, "image": settings.image, "model": bb.name, "units": "[0, 1] pixels"}
    write_json(run_dir / "result.json", summary)
    numbers = {k: float(s[k]) for k in ("success", "iterations", "l2", "linf", "target_prob_before",
                                        "target_prob_after")}
    files = {"image": run_dir / "fooling.png", "figure": run_dir / "figure.png", "result": run_dir / "result.json"}
    return FoolResult(run_dir, status="cancelled" if res.stopped else "ok", files=files, numbers=numbers,
                      summary=summary, image=image)
