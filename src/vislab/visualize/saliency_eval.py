"""The saliency-eval job: every saliency method side by side on labelled images, scored for faithfulness
(`faithfulness`: deletion / insertion AUC, ROAD, model randomization) with the time each map takes.

    result = run(SaliencyEvalSettings(images=["/data/imagenet_samples"], methods=("gradcam", "ig")), "runs/ev")
    result.table  # one row per method: the means over the images

A folder holding a ``labels.json`` ({"relative/path.png": class index}) is read as labelled images; other images
are explained for the class the model predicts. Writes faithfulness.md and faithfulness.csv (the table),
faithfulness.png (the first image's maps, one per method, with their scores) and one metrics row per image and
method.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import jobs, runs
from ..backbones import Backbone
from ..backbones.inputs import load_images
from ..backbones.settings import ModelSettings, check_count, check_texts
from ..devices import seed_everything
from ..errors import DataError
from ..fileio import write_text
from ..images import overlay, save_image
from ..jobs import SettingError, check_choice, check_seed
from . import faithfulness as fa
from .maps import METHODS
from .saliency_job import explainer
from .settings import SaliencySettings

DEFAULT_METHODS = tuple(m for m in METHODS if m != "scorecam")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
COLUMNS = {"deletion_auc": "deletion AUC (low)", "insertion_auc": "insertion AUC (high)",
           "road_morf": "ROAD MoRF (low)", "road_lerf": "ROAD LeRF (high)",
           "randomized_rank_corr": "rank corr. after randomization (low)", "seconds": "s / map"}


@dataclass(kw_only=True)
class SaliencyEvalSettings(ModelSettings):
    """Which saliency maps are faithful to the model, on labelled images."""

    images: list[str] = field(metadata={
        "help": "image files, sample:NAME, or folders (a folder's labels.json gives each image's class; an "
                "image without a label is explained for the model's top-1 prediction, which is not a ground truth)",
        "metavar": "IMAGE", "input": "images"})
    methods: tuple[str, ...] = field(default=DEFAULT_METHODS, metadata={
        "help": "the saliency methods to compare (default: all but scorecam, which takes one forward pass per "
                "channel of the layer)", "choices": tuple(METHODS)})
    steps: int = field(default=16, metadata={"help": "deletion/insertion: pixel chunks along each curve", "min": 2})
    road_fractions: tuple[float, ...] = field(default=(0.1, 0.3, 0.5, 0.7, 0.9), metadata={
        "help": "ROAD: fractions of the pixels removed (and refilled by noisy linear imputation)"})
    cascade: int = field(default=3, metadata={
        "help": "model randomization: re-initialize the weight layers top-down in this many steps (0: skip)",
        "min": 0})
    layer: str | None = field(default=None, metadata={
        "help": "CAM methods: the feature layer (default: the last spatial one)", "metavar": "NAME"})
    samples: int = field(default=25, metadata={"help": "smoothgrad: noisy copies", "min": 1})
    max_steps: int = field(default=512, metadata={"help": "ig: most gradient evaluations per image", "min": 1})
    window: int = field(default=32, metadata={"help": "occlusion: side of the gray square, pixels", "min": 1})
    stride: int = field(default=16, metadata={"help": "occlusion: pixels between square positions", "min": 1})
    batch_size: int = field(default=16, metadata={"help": "network inputs per forward pass", "min": 1})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})

    def method_settings(self, method: str) -> SaliencySettings:
        """The saliency job's settings for one method (its other options at their defaults)."""
        return SaliencySettings(images=list(self.images), method=method, model=self.model, weights=self.weights,
                                device=self.device, layer=self.layer, samples=self.samples, window=self.window,
                                max_steps=self.max_steps, steps=min(32, self.max_steps),
                                stride=self.stride, batch_size=self.batch_size, seed=self.seed)

    def validate(self) -> None:
        super().validate()
        check_texts("images", self.images)
        if not self.methods:
            raise SettingError("methods", "must name at least one method")
        for m in self.methods:
            check_choice("methods", m, METHODS)
        check_count("steps", self.steps, lo=2)
        if not self.road_fractions or not all(isinstance(f, (int, float)) and 0 < f < 1 for f in self.road_fractions):
            raise SettingError("road_fractions", f"must be numbers between 0 and 1, got {self.road_fractions!r}")
        check_count("cascade", self.cascade, lo=0)
        check_seed("seed", self.seed)
        self.method_settings(self.methods[0]).validate()


@dataclass
class SaliencyEvalResult(jobs.JobResult):
    """`table[i]`: method i's scores, means over the images; `rows`: one per image and method."""

    table: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def expand_inputs(specs: list[str]) -> tuple[list[str], list[int | None]]:
    """Image specs with a folder replaced by its images, and each image's class from its folder's labels.json."""
    out: list[str] = []
    labels: list[int | None] = []
    for spec in specs:
        folder = Path(spec)
        if not folder.is_dir():
            out.append(spec), labels.append(None)
            continue
        label_file = folder / "labels.json"
        if label_file.is_file():
            try:
                table = json.loads(label_file.read_text())
                items = [(str(folder / k), int(v)) for k, v in table.items()]
            except (ValueError, TypeError, AttributeError) as e:
                raise DataError(f"{label_file}: expected {{\"image path\": class index}}, could not read it "
                                f"({e})") from None
        else:
            items = [(str(p), None) for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not items:
            raise DataError(f"{folder}: no images in this folder")
        out += [p for p, _ in items]
        labels += [v for _, v in items]
    return out, labels


def run(settings: SaliencyEvalSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> SaliencyEvalResult:
    """Score every method on every image; all images are read, and the labels checked, before the run folder is
    made."""
    settings.validate()
    specs, labels = expand_inputs(list(settings.images))
    images = load_images(specs)
    bb = settings.load_backbone()
    for spec, label in zip(specs, labels):
        if label is not None and not 0 <= label < len(bb.classes):
            raise DataError(f"{spec}: label {label} is not a class of {bb.name} (0..{len(bb.classes) - 1})")
    seed_everything(settings.seed)
    run_dir = jobs.start_run("saliency-eval", settings, out, command=command, overwrite=overwrite)
    started = time.perf_counter()
    stop, report = jobs.stopper(should_stop), jobs.reporter(progress)
    result, log = SaliencyEvalResult(run_dir), runs.MetricsLog(run_dir)
    models = [bb] + [fa.randomized(bb, top, settings.seed) for top in cascade_tops(bb, settings.cascade)]
    methods = {m: [explainer(settings.method_settings(m), model) for model in models] for m in settings.methods}
    total, first = len(images) * len(methods), {}
    for i, (spec, img, label) in enumerate(zip(specs, images, labels)):
        view = bb.prepare(img)
        with torch.no_grad():
            target = label if label is not None else int(bb(view).argmax())
        for j, (name, explainers) in enumerate(methods.items()):
            if stop():
                result.status = "cancelled"
                break
            heat, row = score(bb, view, target, explainers, settings)
            if i == 0:
                first[name] = (heat, row)
            log.log(i * len(methods) + j, image=spec, method=name, target=target, **row)
            result.rows.append({"image": spec, "method": name, "target": target, "labelled": label is not None,
                                **row})
            report(i * len(methods) + j + 1, total, **{name.replace("-", "_") + "_deletion_auc": row["deletion_auc"]})
        if result.status == "cancelled":
            break
    result.table = summarize(result.rows, list(methods))
    write_outputs(run_dir, result, first, bb.prepare(images[0])[0].cpu(), settings)
    result.numbers = {"images": len({r["image"] for r in result.rows}), "methods": len(methods),
                      "labelled_images": sum(label is not None for label in labels)}
    return jobs.finish_run(result, started)


def cascade_tops(bb: Backbone, steps: int) -> list[int]:
    """How many weight layers (from the top) each randomization step re-initializes: evenly up to all of them."""
    n = len(fa.parameter_layers(bb))
    return sorted({max(1, round(n * k / steps)) for k in range(1, steps + 1)}) if steps else []


def score(bb: Backbone, view: torch.Tensor, target: int, explainers: list, settings: SaliencyEvalSettings
          ) -> tuple[torch.Tensor, dict[str, float]]:
    """One method's map of one image and its scores; `explainers[0]` explains `bb`, the rest its randomized
    copies."""
    t0 = time.perf_counter()
    heat = explainers[0].explain(view, target).maps[0].detach()
    seconds = time.perf_counter() - t0
    x, n = view[0], settings.batch_size
    row = {"deletion_auc": fa.auc(fa.deletion(bb, x, heat, target, settings.steps, n)),
           "insertion_auc": fa.auc(fa.insertion(bb, x, heat, target, settings.steps, n)),
           "road_morf": float(fa.road(bb, x, heat, target, settings.road_fractions, seed=settings.seed).mean()),
           "road_lerf": float(fa.road(bb, x, heat, target, settings.road_fractions, most_relevant_first=False,
                                      seed=settings.seed).mean())}
    if len(explainers) > 1:
        rhos = [fa.spearman(heat, e.explain(view, target).maps[0].detach()) for e in explainers[1:]]
        row["randomized_rank_corr"] = sum(rhos) / len(rhos)
    row["seconds"] = seconds
    return heat, row


def summarize(rows: list[dict[str, Any]], methods: list[str]) -> list[dict[str, Any]]:
    table = []
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        if mine:
            table.append({"method": m, "images": len(mine),
                          **{k: sum(r[k] for r in mine) / len(mine) for k in COLUMNS if k in mine[0]}})
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    keys = [k for k in COLUMNS if table and k in table[0]]
    lines = ["| method | " + " | ".join(COLUMNS[k] for k in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for r in table:
        lines.append(f"| {r['method']} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(run_dir: Path, result: SaliencyEvalResult, first: dict, image: torch.Tensor,
                  settings: SaliencyEvalSettings) -> None:
    """The table (markdown and CSV) and the first image's maps, one per method, labelled with their scores."""
    from ..tour.annotate import labeled_grid

    paths = {"table": run_dir / "faithfulness.md", "csv": run_dir / "faithfulness.csv",
             "figure": run_dir / "faithfulness.png"}
    guessed = len({r["image"] for r in result.rows if r.get("labelled") is False})
    note = (f"\n{guessed} of {len({r['image'] for r in result.rows})} images had no label: each was explained for "
            "the model's top-1 prediction, not a ground-truth class.\n" if guessed else "")
    write_text(paths["table"], markdown(result.table) + note)
    keys = ["method", "images", *[k for k in COLUMNS if result.table and k in result.table[0]]]
    write_text(paths["csv"], "\n".join([",".join(keys)] + [",".join(str(r[k]) for k in keys)
                                                          for r in result.table]) + "\n")
    if first:
        pics = [image] + [overlay(image, heat.cpu() / max(float(heat.max()), 1e-12)) for heat, _ in first.values()]
        labels = [["image"]] + [[m, f"del {r['deletion_auc']:.2f} ins {r['insertion_auc']:.2f}"]
                                for m, (_, r) in first.items()]
        save_image(labeled_grid(pics, labels, size=160, ncol=min(6, len(pics))), paths["figure"])
    result.files.update({k: v for k, v in paths.items() if v.exists()})
