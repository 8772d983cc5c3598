"""`vislab caption eval` as one job: caption every image of a dataset split with a trained model and score it
the way papers do (BLEU-1..4, CIDEr-D, on pycocoevalcap's 0-1 scale).

    result = run(CaptionEvalSettings(checkpoint="runs/cap", split="test"), "runs/cap-eval")
    result.scores["CIDEr-D"], result.files["captions"]
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import jobs, runs
from ..errors import CheckpointError, DataError
from ..fileio import write_json
from ..jobs import JobResult, Progress, StopCheck
from .budget import DECODE_CHUNK, carried_per_row, check_decoding
from .checkpoint import Captioner, read
from .dataset import CaptionData
from .features import file_features
from .metrics import caption_scores
from .settings import CaptionEvalSettings
from .sources import parse_data_spec

KIND = "caption-eval"


@dataclass
class Evaluation:
    scores: dict[str, float]
    records: list[dict]  # {"image", "generated", "references"} per image (+ "distance", "warning": `annotate`)

    @property
    def unfamiliar(self) -> int:
        """Images unlike the training images (`familiarity`)."""
        return sum("warning" in r for r in self.records)


@dataclass
class CaptionEvalResult(JobResult):
    """`scores` of the `images` captioned (all of the split unless cancelled) from the data spec `data`."""

    scores: dict[str, float] = field(default_factory=dict)
    images: int = 0
    data: str = ""
    unfamiliar: int = 0  # of `images`, those unlike the training images (see `familiarity`)


def run(settings: CaptionEvalSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> CaptionEvalResult:
    """Caption and score a split into the run folder `out` (default runs/caption-eval-<time>): captions.json
    (generated next to the references, per image), scores.json, metrics.jsonl. Cancelled runs score the
    images captioned so far."""
    started = time.perf_counter()
    settings.validate()
    state = read(settings.checkpoint)
    captioner = Captioner.from_state(state)
    spec = settings.data or state["config"].get("data")
    parse_data_spec(spec, "data")  # the training data may have moved since
    check_decoding_fits(captioner, settings.beam)
    data = load_for(captioner, spec, device=settings.device, cache=not settings.no_cache,
                    progress=progress is not None)
    images = data.split_images(settings.split)
    run_dir = jobs.start_run(KIND, settings, out, command=command, overwrite=overwrite, extra={"data_used": spec})
    hyps = decode(captioner, data.features[images], settings.beam, progress=progress, should_stop=should_stop)
    ev = annotate(score(data, images[:len(hyps)], hyps), captioner, data.features[images[:len(hyps)]])
    write_evaluation(ev, run_dir)
    runs.MetricsLog(run_dir).log(0, images=len(ev.records), **ev.scores)
    result = CaptionEvalResult(run_dir, status="ok" if len(hyps) == len(images) else "cancelled",
                               files={"captions": run_dir / "captions.json", "scores": run_dir / "scores.json"},
                               numbers={"images": len(hyps), **ev.scores}, scores=ev.scores, images=len(hyps),
                               data=spec, unfamiliar=ev.unfamiliar)
    if captioner.familiarity is not None:
        result.numbers["unfamiliar_images"] = ev.unfamiliar
    parts = [] if result.status == "ok" else [f"stopped after {len(hyps)} of {len(images)} images; scores are of "
                                              "those"]
    if ev.unfamiliar:
        parts.append(unfamiliar_summary(ev.unfamiliar, len(ev.records)))
    return jobs.finish_run(result, started, "; ".join(parts))


def unfamiliar_summary(count: int, total: int) -> str:
    """The one line that says how many images were unlike the training images."""
    return (f"{count} of {total} images are unlike the images the model was trained on (see \"warning\" in "
            "captions.json); their captions are likely meaningless")


def annotate(ev: Evaluation, captioner: Captioner, raw_features: np.ndarray) -> Evaluation:
    """Each record gets its image's distance from the training images, and a warning when it is unlike them."""
    for record, note in zip(ev.records, captioner.notes(raw_features)):
        record.update(note)
    return ev


def check_decoding_fits(captioner: Captioner, beam: int, rows: int = DECODE_CHUNK) -> None:
    m, steps = captioner.model, captioner.max_length + 1
    net = getattr(m, "net", None)  # a Transformer behind the decoding interface
    carried = carried_per_row(cells=net.cells, width=net.wordvec_dim, layers=net.layers, steps=steps) \
        if net is not None else 0
    check_decoding(rows=rows, beam=beam, vocab=captioner.vocab_size, hidden=m.hidden_dim, cell=m.cell_type,
                   steps=steps, itemsize=np.dtype(m.dtype).itemsize, carried=carried)


def load_for(captioner: Captioner, spec: str, **kw) -> CaptionData:
    """A dataset read the way `captioner` was trained (its backbone, vocabulary and caption length)."""
    from .data import load_data

    data = load_data(spec, feature_spec=captioner.feature_spec, vocab=captioner.vocab,
                     max_length=captioner.max_length, **kw)
    check_same_kind(captioner, data)
    return data


def check_same_kind(captioner: Captioner, data: CaptionData) -> None:
    """Features from a backbone for a model trained on a backbone's, precomputed ones for precomputed ones."""
    if (captioner.feature_spec is None) != (data.feature_spec is None):
        raise DataError(f"{data.source}: its features are not the kind this model was trained on "
                        f"({captioner.source}); evaluate on data of the same kind")


def decode(captioner: Captioner, raw_features: np.ndarray, beam: int = 1, *, progress: Progress | None = None,
           should_stop: StopCheck | None = None) -> list[str]:
    """One caption per feature row, `DECODE_CHUNK` rows at a time; fewer when `should_stop()` ends it early."""
    report, stop = jobs.reporter(progress), jobs.stopper(should_stop)
    hyps: list[str] = []
    for start in range(0, len(raw_features), DECODE_CHUNK):
        if stop():
            break
        hyps += captioner.caption_features(raw_features[start:start + DECODE_CHUNK], beam=beam)
        report(len(hyps), len(raw_features))
    return hyps


def score(data: CaptionData, images: np.ndarray, hyps: list[str]) -> Evaluation:
    refs = [data.references[i] for i in images]
    records = [{"image": data.image_names[i], "generated": h, "references": r}
               for i, h, r in zip(images, hyps, refs)]
    return Evaluation(caption_scores(refs, hyps) if hyps else {}, records)


def evaluate(captioner: Captioner, data: CaptionData, split: str = "test", *, beam: int = 1) -> Evaluation:
    """Greedy (or beam) captions for every image of a split, scored with BLEU-1..4 and CIDEr-D against all of
    each image's reference captions."""
    check_same_kind(captioner, data)
    images = data.split_images(split)
    return annotate(score(data, images, decode(captioner, data.features[images], beam)), captioner,
                    data.features[images])


def write_evaluation(ev: Evaluation, out_dir: str | os.PathLike) -> Path:
    """``captions.json`` (generated next to references, per image) and ``scores.json`` in `out_dir`."""
    out = Path(out_dir)
    write_json(out / "scores.json", {"scale": "0-1 (papers print x100)", **ev.scores})
    write_json(out / "captions.json", ev.records)
    return out / "captions.json"


def caption_images(captioner: Captioner, paths: Sequence[str | os.PathLike], *, beam: int = 1,
                   device: str = "cpu", batch_size: int = 32, progress: bool = False) -> list[str]:
    """One caption per image file, through the backbone and feature transform the model was trained with."""
    feats = image_features(captioner, paths, device=device, batch_size=batch_size, progress=progress)
    return decode(captioner, feats, beam)


def image_features(captioner: Captioner, paths: Sequence[str | os.PathLike], *, device: str = "cpu",
                   batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """Raw features of image files as `captioner` was trained to see them (a missing or unreadable image is an
    error naming it)."""
    if captioner.feature_spec is None:
        raise CheckpointError(f"this model was trained on precomputed features ({captioner.source}); it can "
                              "be evaluated on that data with `vislab caption eval`, but cannot read images")
    return file_features(paths, captioner.feature_spec, device=device, batch_size=batch_size, cache=False,
                         progress=progress)
