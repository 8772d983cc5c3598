"""The attack job: adversarial versions of images, with the contract's settings, ``run`` and result.

    result = run(AttackSettings(images=["sample:chelsea"], attack="pgd", eps=4), "runs/attack-1")
    result.numbers["success_rate"], result.files["table"]

Each image is attacked in the classifier's view (its 224 px center crop, rounded to 8 bits: the clean image
the table compares with). Writes per image NN_NAME_clean.png, NN_NAME_adv.png (8-bit, still adversarial: see
`quantize.to_8bit`) and NN_NAME_perturbation.png; figure.png (clean | adversarial | change), attack.csv and
result.json (before/after class and probability, L-inf in levels, L2 in [0, 1] units, success before and after
8-bit rounding).
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
from .base import fooled
from .plots import attack_figure, perturbation_picture
from .quantize import quantize, to_8bit
from .runner import adversarial
from .settings import BUDGET_ATTACKS, AttackSettings, eps_unit
from .table import write_csv

PICTURE_ROWS = 7
"""Images whose clean view, adversarial and change are named in the result's files (with the figure, the 22
pictures the page shows at most); every image's PNGs are written."""


@dataclass
class AttackResult(jobs.JobResult):
    """`rows`: one dict per image (the table's columns); `adversarial`: (N, 3, S, S) on the 8-bit grid."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    adversarial: torch.Tensor | None = None


def run(settings: AttackSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> AttackResult:
    """Attack `settings.images`; inputs are read and checked before the run folder is made."""
    settings.validate()
    imgs = load_images(settings.images)
    bb = settings.load_backbone()
    target = None if settings.target is None else bb.class_index(settings.target)
    x0 = quantize(torch.cat([bb.prepare(img) for img in imgs]))  # the 8-bit classifier views
    check_memory(network_bytes(len(x0) * _passes(settings), bb.input_size, grad=True),
                 f"attacking {len(x0)} images", hint="attack fewer images at a time")
    seed_everything(settings.seed)
    run_dir = jobs.start_run("attack", settings, out, command=command, overwrite=overwrite,
                             extra={"target_index": target, "eps_01": _eps01(settings)})
    started = time.perf_counter()
    report, stop = jobs.reporter(progress), jobs.stopper(should_stop)
    with torch.no_grad():
        clean = bb.logits(x0).softmax(dim=1)
    labels = clean.argmax(dim=1) if target is None else torch.full_like(clean[:, 0], target, dtype=torch.long)
    adv = adversarial(bb, x0, labels, settings, eps=_eps01(settings), targeted=target is not None,
                      early_stop=settings.early_stop, seed=settings.seed, should_stop=stop,
                      on_step=lambda k, total: report(k, total))
    norm = settings.norm if settings.attack in BUDGET_ATTACKS else "l2"
    eps = _eps01(settings) if settings.attack in BUDGET_ATTACKS else float("inf")
    saved, ok = to_8bit(bb.logits, adv, x0, labels, targeted=target is not None, eps=eps, norm=norm)
    with torch.no_grad():
        ok_float = fooled(bb.logits(adv), labels, target is not None)
        after = bb.logits(saved).softmax(dim=1)
    rows = _rows(settings, bb, clean, after, x0, saved, ok, ok_float, target)
    res = _write(run_dir, settings, x0, saved, rows, cancelled=stop())
    return jobs.finish_run(res, started)


def _eps01(s: AttackSettings) -> float:
    return eps_unit(s.budget, s.norm)


def _passes(s: AttackSettings) -> int:
    """Network passes held at once per image (deepfool keeps one gradient per candidate class)."""
    return s.candidates if s.attack == "deepfool" else 1


def _rows(s: AttackSettings, bb: Backbone, clean: torch.Tensor, after: torch.Tensor, x0: torch.Tensor,
          saved: torch.Tensor, ok: torch.Tensor, ok_float: torch.Tensor, target: int | None) -> list[dict[str, Any]]:
    d = (saved - x0).flatten(1).cpu()
    rows = []
    for i, spec in enumerate(s.images):
        b, a = int(clean[i].argmax()), int(after[i].argmax())
        rows.append({"image": spec, "attack": s.attack, "before_class": b, "before_name": bb.class_name(b),
                     "before_prob": round(float(clean[i, b]), 6), "after_class": a, "after_name": bb.class_name(a),
                     "after_prob": round(float(after[i, a]), 6), "target": target,
                     "success": bool(ok[i]), "success_before_rounding": bool(ok_float[i]),
                     "linf_levels": round(float(d[i].abs().max()) * 255, 3), "l2": round(float(d[i].norm()), 6)})
    return rows


def _pictures(run_dir: Path, s: AttackSettings, x0: torch.Tensor, saved: torch.Tensor) -> dict[str, Path]:
    """Per image NN_NAME_clean.png, NN_NAME_adv.png and NN_NAME_perturbation.png; the files named for the first
    `PICTURE_ROWS` images ("NN_NAME: original" ...), then "image": the first adversarial (what the tour shows)."""
    files: dict[str, Path] = {}
    stems = [f"{i:02d}_{Path(spec.split(':')[-1]).stem}" for i, spec in enumerate(s.images)]
    for i, stem in enumerate(stems):
        save_image(x0[i], run_dir / f"{stem}_clean.png")
        save_image(saved[i], run_dir / f"{stem}_adv.png")
        save_image(perturbation_picture((saved[i] - x0[i]).cpu()), run_dir / f"{stem}_perturbation.png")
        if i < PICTURE_ROWS:  # the page shows the pictures in this order
            for suffix, role in (("clean", "original"), ("adv", "adversarial"), ("perturbation", "change")):
                files[f"{stem}: {role}"] = run_dir / f"{stem}_{suffix}.png"
    files["image"] = run_dir / f"{stems[0]}_adv.png"
    return files


def _write(run_dir: Path, s: AttackSettings, x0: torch.Tensor, saved: torch.Tensor, rows: list[dict[str, Any]], *,
           cancelled: bool) -> AttackResult:
    files = _pictures(run_dir, s, x0, saved)
    titles = [(f"clean: {r['before_name']} ({r['before_prob']:.1%})",
               f"{r['attack']}: {r['after_name']} ({r['after_prob']:.1%})"
               + ("" if r["success"] else " - not fooled")) for r in rows]
    files["figure"] = attack_figure(x0, saved, titles, run_dir / "figure.png")
    files["table"] = write_csv(run_dir / "attack.csv", rows)
    write_json(run_dir / "result.json", {"rows": rows, "units": {"linf_levels": "0-255 levels",
                                                                 "l2": "[0, 1] pixel units"}})
    files["result"] = run_dir / "result.json"
    log = runs.MetricsLog(run_dir)  # one row per image: the report shows them as a table, like classify's
    for k, r in enumerate(rows):
        log.log(k, image=r["image"], before_name=r["before_name"], before_prob=r["before_prob"],
                after_name=r["after_name"], after_prob=r["after_prob"], success=r["success"],
                linf_levels=r["linf_levels"], l2=r["l2"])
    n = len(rows)
    numbers = {"images": float(n), "success_rate": sum(r["success"] for r in rows) / n,
               "success_rate_before_rounding": sum(r["success_before_rounding"] for r in rows) / n,
               "mean_linf_levels": sum(r["linf_levels"] for r in rows) / n,
               "mean_l2": sum(r["l2"] for r in rows) / n}
    return AttackResult(run_dir, status="cancelled" if cancelled else "ok", files=files, numbers=numbers, rows=rows,
                        adversarial=saved.cpu())
