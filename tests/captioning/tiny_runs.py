"""Tiny captioning runs for the job-contract tests: shapes:40 through the tiny backbone, a few-unit LSTM."""

from __future__ import annotations

from pathlib import Path

from vislab.captioning.settings import CaptionTrainSettings
from vislab.captioning.train import CaptionTrainResult, run

from .conftest import TINY

SMALL = dict(data="shapes:40", epochs=1, hidden_dim=16, wordvec_dim=8, batch_size=9, model=TINY, image_size=32,
             eval_images=4, log_every=1)
SMALL_FLAGS = ["--data", "shapes:40", "--epochs", "1", "--hidden-dim", "16", "--wordvec-dim", "8", "--batch-size",
               "9", "--model", TINY, "--image-size", "32", "--eval-images", "4"]


def settings(**kw) -> CaptionTrainSettings:
    return CaptionTrainSettings(**{**SMALL, **kw})


def train_tiny(out: Path, **kw) -> CaptionTrainResult:
    return run(settings(**kw), out, command="pytest")


def nothing_written(out: Path) -> bool:
    """The run folder a refused command was given was not made, or was left empty."""
    return not out.exists() or not any(out.iterdir())
