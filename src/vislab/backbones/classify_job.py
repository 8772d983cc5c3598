"""The classify job: top-k classes of images, with the contract's settings, ``run`` and result.

    result = run(ClassifySettings(images=["sample:coffee"], topk=3))
    result.predictions[0][0].name  # 'espresso'

Unlike the other jobs it writes a run folder only when one is asked for (``out``): classifying is a question
asked at the terminal, its answer printed, and a folder per question would pile up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import jobs, runs
from ..fileio import write_json
from ..machine import check_memory
from .inputs import load_images, network_bytes
from .predict import Prediction, classify
from .settings import IMAGES_FIELD, ModelSettings, check_count, check_texts


@dataclass(kw_only=True)
class ClassifySettings(ModelSettings):
    images: list[str] = field(metadata=IMAGES_FIELD)
    topk: int = field(default=5, metadata={"help": "classes to show per image", "min": 1})
    batch_size: int = field(default=32, metadata={"help": "images per forward pass", "min": 1})

    def validate(self) -> None:
        super().validate()
        check_texts("images", self.images)
        check_count("topk", self.topk)
        check_count("batch_size", self.batch_size)


@dataclass
class ClassifyResult(jobs.JobResult):
    """`run_dir` is None when no folder was asked for; `predictions[i]` are image i's top classes."""

    images: list[str] = field(default_factory=list)
    predictions: list[list[Prediction]] = field(default_factory=list)

    def as_json(self) -> list[dict]:
        return [{"image": path, "top": [{"index": p.index, "name": p.name, "prob": round(p.prob, 6)} for p in top]}
                for path, top in zip(self.images, self.predictions)]


def run(settings: ClassifySettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
        should_stop: jobs.StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> ClassifyResult:
    """Classify `settings.images`; with `out`, also write a run folder with predictions.json."""
    settings.validate()
    images = load_images(settings.images)  # every image is read before any work or output
    bb = settings.load_backbone()
    batch = min(settings.batch_size, len(images))
    check_memory(network_bytes(batch, bb.input_size, grad=False), f"classifying {batch} images at a time",
                 hint="lower batch_size")
    run_dir = None
    if out is not None:
        run_dir = jobs.start_run("classify", settings, out, command=command, overwrite=overwrite)
    started = time.perf_counter()
    stop, report = jobs.stopper(should_stop), jobs.reporter(progress)
    result = ClassifyResult(run_dir)  # type: ignore[arg-type]
    for start in range(0, len(images), batch):
        if stop():
            result.status = "cancelled"
            break
        result.predictions += classify(bb, images[start:start + batch], topk=settings.topk, batch_size=batch)
        report(len(result.predictions), len(images))
    result.images = settings.images[:len(result.predictions)]
    result.numbers = {"images": len(result.predictions)}
    if run_dir is None:
        result.seconds = time.perf_counter() - started
        return result
    log = runs.MetricsLog(run_dir)
    for k, (spec, top) in enumerate(zip(result.images, result.predictions)):
        log.log(k, image=spec, top1=top[0].name, top1_prob=round(top[0].prob, 6))
    write_json(run_dir / "predictions.json", result.as_json())
    result.files["predictions"] = run_dir / "predictions.json"
    return jobs.finish_run(result, started)
