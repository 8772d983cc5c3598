"""Which data a run learnt from, in words: a GAN trained on MNIST looks nothing like one trained on the 8x8
digits that stand in for MNIST offline, so the page says which it was."""

from __future__ import annotations

from typing import Any

DATASETS = {"mnist": "MNIST", "digits": "scikit-learn 8x8 digits, not MNIST"}
"""config.json ``dataset`` (gan train; gan sample and eval record their generator's) -> what the page says."""


def data_line(config: dict[str, Any]) -> str:
    """"Data: MNIST (60000 training images)", "Generator trained on: scikit-learn 8x8 digits, not MNIST", or ""
    for runs that record no data set of these."""
    name = DATASETS.get(config.get("dataset")) if isinstance(config.get("dataset"), str) else None
    if name is None:
        return ""
    count = config.get("train_images")
    size = f" ({count} training images)" if isinstance(count, int) and not isinstance(count, bool) else ""
    if "checkpoint_file" in config:  # gan sample / gan eval: the data of the generator they used
        shipped = " (the generator shipped with vislab)" if config.get("checkpoint") == "shipped" else ""
        return f"Generator trained on: {name}{shipped}"
    return f"Data: {name}{size}"
