"""Caption tokenization: lowercase, punctuation splits words and is dropped.

This matches what captioning papers score on (the COCO evaluation's PTB tokenizer also removes
punctuation), so "A man's dog." becomes ``["a", "man", "s", "dog"]``. Every dataset loader uses this one
function.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")  # runs of letters/digits (any script); everything else separates words


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens of a caption, punctuation removed."""
    return _WORD.findall(str(text).lower())
