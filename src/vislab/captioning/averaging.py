"""Weight averaging (Polyak-Ruppert, as an exponential moving average): the weights a short run ends with still
wander with its last batches; their running average sits nearer the middle of where they wandered.

    average = decay * average + (1 - decay) * weights          after every step, from the first step's weights

Both engines keep one (numpy arrays or torch tensors, the same arithmetic); with it on, validation, the
checkpoint's `params` (what captioning and export read) and the run's final weights are the average, and the
checkpoint keeps the weights being trained as `train_params`, so a resumed run continues exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class WeightAverage:
    """A running average of named arrays (numpy or torch; updated in place, never part of autograd)."""

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.values: dict[str, Any] | None = None  # None until the first step

    def update(self, weights: Mapping[str, Any]) -> None:
        if self.values is None:
            self.values = {k: _copy(v) for k, v in weights.items()}
            return
        for k, v in weights.items():
            avg = self.values[k]
            avg *= self.decay
            avg += (1 - self.decay) * _plain(v)


def _plain(v: Any) -> Any:
    return v.detach() if hasattr(v, "detach") else v


def _copy(v: Any) -> Any:
    return _plain(v).clone() if hasattr(v, "detach") else v.copy()
