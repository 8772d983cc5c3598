"""The robustness job: accuracy under attack for a list of budgets, with the contract's settings, ``run`` and
result.

    result = run(RobustnessSettings(folder="data/imagenet_samples", eps=(0, 1, 2, 4)), "runs/robust-1")
    result.curve  # [{"eps": 0, "accuracy": 0.84, ...}, ...]

Images are attacked in the classifier's view (224 px center crop, on the 8-bit grid), only those classified
correctly when clean (the others count as wrong at every budget). fgsm/pgd run once per budget; cw and deepfool
(smallest-change attacks) run once, and an image counts as robust at eps when the L2 change found is larger
(or none was found). `accuracy_8bit` measures the adversarials rounded to 8 bits as `vislab attack` saves them.

Resume: each finished budget is kept in ``eps/<eps>.json`` with the settings that made it; a run started again
with ``resume`` in the same folder skips those (progress counts images x budgets).
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
from ..errors import DataError
from ..fileio import write_json
from ..jobs import SettingError
from ..machine import check_memory
from .curve import CurveState, minimal_norms, robust_flags
from .folder import labelled_images
from .plots import curve_figure
from .quantize import quantize
from .settings import BUDGET_ATTACKS, RobustnessSettings
from .table import write_csv


@dataclass
class RobustnessResult(jobs.JobResult):
    """`curve`: one row per finished budget (eps, accuracy, accuracy_8bit, correct, images)."""

    curve: list[dict[str, Any]] = field(default_factory=list)


def run(settings: RobustnessSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> RobustnessResult:
    """Measure the curve of `settings`; with `settings.resume`, continue the robustness run in `out`."""
    settings.validate()
    resume = settings.resume
    if resume and out is None:
        raise SettingError("out", "is needed to resume: the folder of the run to continue")
    items = (labelled_images(settings.folder) if settings.folder  # images: unlabelled, like a plain folder
             else [(Path(x), None) for x in settings.images])[: settings.limit]
    bb = settings.load_backbone()
    x0 = quantize(torch.cat([bb.prepare(img) for img in load_images([str(p) for p, _ in items])]))
    labels = _labels(bb, x0, [lab for _, lab in items])
    check_memory(network_bytes(settings.batch_size * (settings.candidates if settings.attack == "deepfool" else 1),
                               bb.input_size, grad=True), "the attack", hint="lower batch_size")
    seed_everything(settings.seed)
    run_dir = jobs.start_run("robustness", settings, out, command=command, overwrite=overwrite, resume=resume,
                             extra={"images_used": len(items), "labels": "labels.json" if items[0][1] is not None
                                    else "clean predictions"})
    started = time.perf_counter()
    state = CurveState(run_dir, settings, names=[str(p) for p, _ in items])
    stop = jobs.stopper(should_stop)
    flags = robust_flags if settings.attack in BUDGET_ATTACKS else minimal_norms
    cancelled = flags(bb, x0, labels, settings, state, jobs.reporter(progress), stop)
    return jobs.finish_run(_write(run_dir, settings, state, cancelled), started)


def _labels(bb: Backbone, x0: torch.Tensor, given: list[int | None]) -> torch.Tensor:
    """The labels.json classes (checked against the model), or the clean predictions."""
    if given[0] is None:
        with torch.no_grad():
            return torch.cat([bb.logits(x0[i:i + 16]).argmax(dim=1) for i in range(0, len(x0), 16)])
    bad = [g for g in given if g >= len(bb.classes)]
    if bad:
        raise DataError(f"labels.json has class {bad[0]}, but {bb.name} has classes 0..{len(bb.classes) - 1}")
    return torch.tensor(given, dtype=torch.long, device=x0.device)


def _write(run_dir: Path, s: RobustnessSettings, state: CurveState, cancelled: bool) -> RobustnessResult:
    curve = state.curve()
    units = "0-255 levels (L-inf)" if s.curve_norm == "linf" else "L2 norm, [0, 1] pixel units"
    write_json(run_dir / "robustness.json", {"attack": s.attack, "norm": s.curve_norm, "eps_units": units,
                                             "steps": s.n_steps, "curve": curve})
    files = {"result": run_dir / "robustness.json", "table": write_csv(run_dir / "robustness.csv", curve)}
    if curve:
        xlabel = "eps (0-255 levels, L-inf)" if s.curve_norm == "linf" else "eps (L2, [0, 1] pixel units)"
        title = f"{s.attack} ({s.n_steps} steps) on {s.model}, {curve[0]['images']} images"
        files["figure"] = curve_figure([r["eps"] for r in curve], [r["accuracy"] for r in curve],
                                       run_dir / "robustness.png", xlabel=xlabel, title=title,
                                       accuracy_8bit=[r["accuracy_8bit"] for r in curve])
    log = runs.MetricsLog(run_dir)  # the whole curve again (a resumed run's too): the report's table per budget
    for k, r in enumerate(curve):
        log.log(k, budget=f"{r['eps']:g}/255" if s.curve_norm == "linf" else f"L2 {r['eps']:g}", eps=r["eps"],
                accuracy=r["accuracy"], accuracy_8bit=r["accuracy_8bit"], correct=r["correct"], images=r["images"])
    numbers = {f"accuracy_at_{r['eps']:g}": r["accuracy"] for r in curve}
    return RobustnessResult(run_dir, status="cancelled" if cancelled else "ok", files=files, numbers=numbers,
                            curve=curve)
