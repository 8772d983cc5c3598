"""Captioning new images or a dataset split with a trained model, and scoring it the way papers do."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError, DataError
from ..fileio import write_json
from .checkpoint import Captioner
from .data import CaptionData
from .features import file_features
from .metrics import caption_scores


def caption_images(captioner: Captioner, paths: Sequence[str | os.PathLike], *, beam: int = 1,
                   device: str = "cpu", batch_size: int = 32, progress: bool = False) -> list[str]:
    """One caption per image file, through the backbone and feature transform the model was trained with."""
    if captioner.feature_spec is None:
        raise CheckpointError(f"this model was trained on precomputed features ({captioner.source}); it can "
                              "be evaluated on that data with `vislab caption eval`, but cannot read images")
    feats = file_features(paths, captioner.feature_spec, device=device, batch_size=batch_size, cache=False,
                          progress=progress)
    return captioner.caption_features(feats, beam=beam)


@dataclass
class Evaluation:
    scores: dict[str, float]
    records: list[dict]  # {"image", "generated", "references"} per image


def evaluate(captioner: Captioner, data: CaptionData, split: str = "test", *, beam: int = 1) -> Evaluation:
    """Greedy (or beam) captions for every image of a split, scored with BLEU-1..4 and CIDEr-D against all of
    each image's reference captions."""
    if (captioner.feature_spec is None) != (data.feature_spec is None):
        raise DataError(f"{data.source}: its features are not the kind this model was trained on "
                        f"({captioner.source}); evaluate on data of the same kind")
    images = data.split_images(split)
    hyps = []
    for start in range(0, len(images), 512):
        hyps += captioner.caption_features(data.features[images[start:start + 512]], beam=beam)
    refs = [data.references[i] for i in images]
    records = [{"image": data.image_names[i], "generated": h, "references": r}
               for i, h, r in zip(images, hyps, refs)]
    return Evaluation(caption_scores(refs, hyps), records)


def write_evaluation(ev: Evaluation, out_dir: str | os.PathLike) -> Path:
    """``captions.json`` (generated next to references, per image) and ``scores.json`` in `out_dir`."""
    out = Path(out_dir)
    write_json(out / "scores.json", {"scale": "0-1 (papers print x100)", **ev.scores})
    write_json(out / "captions.json", ev.records)
    return out / "captions.json"
