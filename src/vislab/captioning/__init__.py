"""Image captioning: a recurrent network (rnn, lstm or gru) that turns image features into words.

The names below load on first use, so that importing ``vislab.captioning.settings`` (every ``vislab`` command
does, to build its parser) does not load the numpy layers and scipy. Data, features, training and evaluation
import torch; reach them as vislab.captioning.data / .train / .evaluate / ...
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"CaptioningRNN": "model", "Vocabulary": "vocab", "tokenize": "tokenize", "corpus_bleu": "metrics",
          "cider_d": "metrics", "caption_scores": "metrics"}

__all__ = ["CaptioningRNN", "Vocabulary", "tokenize", "corpus_bleu", "cider_d", "caption_scores"]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
