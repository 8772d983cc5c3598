"""Settings shared by every job that runs a pretrained classifier (classify, saliency, fool, dream): which
network, its weights, the device; and the checks those jobs' settings share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import jobs
from ..jobs import JobSettings, SettingError, check_text

DEFAULT_MODEL = "efficientnet_lite0"  # the same as `vislab.backbones.DEFAULT` (tested)
PAGE_MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
"""The built-in classifiers the web page offers (never ``module:factory``: a request must not import code)."""
MAX_COUNT = 1_000_000  # the most steps, samples or views a visualization job takes
"""A sanity bound for counts (steps, samples, iterations): far beyond any useful run, small enough that a typo
such as 1e20 is refused instead of overflowing a tensor size."""


IMAGES_FIELD = {"help": "image files, or sample:NAME for a built-in photo", "metavar": "IMAGE", "input": "images"}
"""The field metadata of a job's `images` (classify, saliency, attack ...)."""


@dataclass(kw_only=True)
class ModelSettings(JobSettings):
    """The classifier a job runs: a built-in name or ``module:factory``, an optional weights file, a device."""

    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "backbone: efficientnet_lite0 (default, offline), efficientnet_lite1 / efficientnet_lite2 (240 / "
                "260 px, more accurate; pip install 'vislab[models]'), squeezenet1_1, or module:factory for your "
                "own classifier",
        "metavar": "NAME",
        "page_choices": PAGE_MODELS})
    weights: str | None = field(default=None, metadata={
        "help": "weights file for the backbone (state dict); default: the backbone's own source",
        "metavar": "FILE",
        "page": False})
    device: str = field(default="auto", metadata={
        "help": "auto|cpu|cuda|mps (default auto: GPU when present)",
        "page": False})

    def validate(self) -> None:
        check_text("model", self.model)
        if self.weights is not None:
            check_text("weights", self.weights)
        check_text("device", self.device)

    def load_backbone(self):  # -> Backbone (imported lazily: loading a network needs torch)
        from . import load

        return load(self.model, device=self.device, weights=self.weights)






def check_texts(name: str, values: Any) -> list[str]:
    """A non-empty list of non-empty texts (image paths or specs)."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise SettingError(name, f"must be a non-empty list, got {values!r}")
    for v in values:
        check_text(name, v)
    return list(values)


def check_count(name: str, value: Any, *, lo: int = 1, hi: int = MAX_COUNT) -> None:
    """`jobs.check_count` with the visualization jobs' ceiling."""
    jobs.check_count(name, value, lo=lo, hi=hi)
