"""`vislab caption IMAGE...` as one job: caption image files with a trained model.

    pairs = caption(CaptionSettings(images=["a.jpg", "sample:coffee"], checkpoint="runs/cap"))  # no files
    result = run(CaptionSettings(...), "runs/cap-pics")     # also captions.json in a run folder
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import jobs, runs
from ..fileio import write_json
from ..images import load_image, resize, save_image
from ..jobs import JobResult, Progress, StopCheck
from .attention_maps import attention_strip, check_attention, word_attention
from .attention_shipped import resolve
from .checkpoint import Captioner
from .evaluate import check_decoding_fits, decode, image_features, unfamiliar_summary
from .settings import CaptionSettings

KIND = "caption"
THUMBNAIL = 256  # longer side of the pictures saved beside captions.json


@dataclass
class CaptionResult(JobResult):
    """`captions`: (image, caption) pairs, in the order of the settings' images (fewer when cancelled);
    `records`: per image ``{"image", "caption"}`` plus, for a checkpoint with the training features' statistics,
    ``"distance"`` and (for an image unlike the training images) ``"warning"`` (see `familiarity`)."""

    captions: list[tuple[str, str]] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return warning_lines(self.records)


def warning_lines(records: list[dict]) -> list[str]:
    """One line per unfamiliar image among caption records: ``IMAGE: warning``."""
    return [f"{r['image']}: {r['warning']}" for r in records if "warning" in r]


def read_inputs(settings: CaptionSettings) -> tuple[Captioner, np.ndarray]:
    """The checked settings' model and the features of their images (every image read, or an error naming the
    one that cannot be)."""
    settings.validate()
    captioner = Captioner.load(resolve(settings.checkpoint))  # None: the shipped captioner
    check_decoding_fits(captioner, settings.beam)
    if settings.attention:
        check_attention(captioner)
    return captioner, image_features(captioner, settings.images, device=settings.device)


def caption(settings: CaptionSettings, *, progress: Progress | None = None,
            should_stop: StopCheck | None = None) -> list[tuple[str, str]]:
    """(image, caption) pairs, without writing anything."""
    return [(r["image"], r["caption"]) for r in describe(settings, progress=progress, should_stop=should_stop)]


def describe(settings: CaptionSettings, *, progress: Progress | None = None,
             should_stop: StopCheck | None = None) -> list[dict]:
    """Per image ``{"image", "caption"}`` with the distance from the training images and, for an image unlike
    them, a ``"warning"`` (see `CaptionResult.records`); writes nothing."""
    captioner, feats = read_inputs(settings)
    return _records(settings, captioner, feats, progress, should_stop)


def _records(settings: CaptionSettings, captioner: Captioner, feats: np.ndarray, progress: Progress | None,
             should_stop: StopCheck | None) -> list[dict]:
    hyps = decode(captioner, feats, settings.beam, progress=progress, should_stop=should_stop)
    records = [{"image": p, "caption": c, **note}
               for p, c, note in zip(settings.images, hyps, captioner.notes(feats[:len(hyps)]))]
    if settings.attention:  # where it looked for each word: (words, rows, cols) weights, rounded for the json
        for r, (words, maps) in zip(records, word_attention(captioner, feats[:len(records)], settings.beam)):
            r["words"], r["attention_weights"] = words, np.round(maps.astype(np.float64), 4).tolist()
    return records


def run(settings: CaptionSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None, overwrite: bool = False) -> CaptionResult:
    """Caption the images into the run folder `out` (default runs/caption-<time>): captions.json lists
    `CaptionResult.records`, each with ``"picture"``, the thumbnail saved under ``pictures/`` (so a report
    shows each caption, and any warning, under its picture)."""
    started = time.perf_counter()
    captioner, feats = read_inputs(settings)
    run_dir = jobs.start_run(KIND, settings, out, command=command, overwrite=overwrite)
    records = _records(settings, captioner, feats, progress, should_stop)
    files = {"captions": run_dir / "captions.json"}
    for i, r in enumerate(records):
        r["picture"] = _thumbnail(r["image"], i, run_dir)
        if settings.attention:
            r["attention"] = _strip(r, captioner, i, run_dir)
            files[f"attention_{i:02d}"] = run_dir / r["attention"]
    write_json(run_dir / "captions.json", records)
    result = CaptionResult(run_dir, status="ok" if len(records) == len(feats) else "cancelled",
                           files=files,
                           numbers={"images": len(records)}, captions=[(r["image"], r["caption"]) for r in records],
                           records=records)
    if captioner.familiarity is not None:
        result.numbers["unfamiliar_images"] = len(result.warnings)
    runs.MetricsLog(run_dir).log(0, **result.numbers)
    return jobs.finish_run(result, started, _message(result, len(feats)))


def _thumbnail(image: str, i: int, run_dir: Path) -> str:
    """A small copy of the image in the run folder; its path relative to the folder."""
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(image.split(":")[-1]).stem)[:60]
    rel = f"pictures/{i:02d}_{stem or 'image'}.png"
    img = load_image(image)
    h, w = img.shape[-2:]
    scale = min(1.0, THUMBNAIL / max(h, w))  # the longer side: a long thin image stays small
    save_image(resize(img, (max(1, round(h * scale)), max(1, round(w * scale)))), run_dir / rel)
    return rel


def _strip(record: dict, captioner: Captioner, i: int, run_dir: Path) -> str:
    """The image's attention strip (view + each word's map) in the run folder; its path relative to the folder."""
    rel = f"attention_{i:02d}_{_stem(record['image'])}.png"
    maps = np.asarray(record["attention_weights"], dtype=np.float32).reshape(len(record["words"]),
                                                                            *captioner.feature_spec.grid)
    save_image(attention_strip(load_image(record["image"]), captioner.feature_spec.image_size, record["words"],
                               maps), run_dir / rel)
    return rel


def _stem(image: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(image.split(":")[-1]).stem)[:60] or "image"


def _message(result: CaptionResult, total: int) -> str:
    parts = [] if result.status == "ok" else [f"stopped after {len(result.records)} of {total} images"]
    if result.warnings:
        parts.append(unfamiliar_summary(len(result.warnings), len(result.records)))
    return "; ".join(parts)
