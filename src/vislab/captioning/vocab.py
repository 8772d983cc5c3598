"""The captioning vocabulary: words <-> integer ids, with the four special tokens of the cs231n layout."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import DataError

NULL, START, END, UNK = "<NULL>", "<START>", "<END>", "<UNK>"
SPECIALS = (NULL, START, END, UNK)  # ids 0..3, as in cs231n's coco2014_vocab.json


class Vocabulary:
    """Word list with ids; ``<NULL>`` (padding) is 0, then ``<START>``, ``<END>``, ``<UNK>``."""

    def __init__(self, idx_to_word: Sequence[str]) -> None:
        words = list(idx_to_word)
        if tuple(words[:4]) != SPECIALS:
            raise DataError(f"a vocabulary must start with {', '.join(SPECIALS)}; got {words[:4]}")
        if len(set(words)) != len(words):
            raise DataError("vocabulary has duplicate words")
        self.idx_to_word = words
        self.word_to_idx = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(cls, captions: Iterable[Sequence[str]], min_count: int = 1) -> Vocabulary:
        """Every word seen at least `min_count` times, most frequent first (ties alphabetical: stable)."""
        counts = Counter(w for tokens in captions for w in tokens)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                      key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.idx_to_word)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.idx_to_word == other.idx_to_word

    @property
    def null(self) -> int:
        return 0

    @property
    def start(self) -> int:
        return 1

    @property
    def end(self) -> int:
        return 2

    @property
    def unk(self) -> int:
        return 3

    def encode(self, tokens: Sequence[str], max_length: int) -> np.ndarray:
        """``<START> w1 .. wL <END> <NULL>...`` as int32 of length ``max_length + 2``; longer captions are cut
        to `max_length` words, unknown words become ``<UNK>``."""
        ids = [self.word_to_idx.get(w, self.unk) for w in tokens[:max_length]]
        out = np.full(max_length + 2, self.null, dtype=np.int32)
        out[0] = self.start
        out[1:len(ids) + 1] = ids
        out[len(ids) + 1] = self.end
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> caption text: stops at ``<END>``, skips ``<NULL>`` and ``<START>``."""
        words = []
        for i in ids:
            i = int(i)
            if i == self.end:
                break
            if i in (self.null, self.start):
                continue
            words.append(self.idx_to_word[i] if 0 <= i < len(self) else UNK)
        return " ".join(words)

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        return [self.decode(row) for row in np.asarray(ids)]
