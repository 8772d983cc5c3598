"""Tokenization and the vocabulary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vislab.captioning.tokenize import tokenize
from vislab.captioning.vocab import SPECIALS, Vocabulary
from vislab.errors import DataError


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("A Man's dog, jumping.") == ["a", "man", "s", "dog", "jumping"]
    assert tokenize("  Two  cats\n-- on a mat!! ") == ["two", "cats", "on", "a", "mat"]
    assert tokenize("café 3 d_o") == ["café", "3", "d", "o"]
    assert tokenize("...") == []


def test_build_orders_by_count_and_applies_min_count():
    v = Vocabulary.build([["a", "dog"], ["a", "cat"], ["a", "dog", "zebra"]], min_count=2)
    assert v.idx_to_word == [*SPECIALS, "a", "dog"]
    assert v.word_to_idx["dog"] == 5
    # Ties are alphabetical, so the same captions always give the same ids.
    assert Vocabulary.build([["b", "a"]]).idx_to_word[4:] == ["a", "b"]


def test_encode_decode_roundtrip_truncation_and_unknown_words():
    v = Vocabulary.build([["a", "red", "circle"]])
    enc = v.encode(["a", "red", "square"], max_length=5)
    assert enc.dtype == np.int32 and enc.shape == (7,)
    assert enc.tolist() == [1, v.word_to_idx["a"], v.word_to_idx["red"], 3, 2, 0, 0]
    assert v.decode(enc) == "a red <UNK>"
    cut = v.encode(["a", "red", "circle", "a"], max_length=2)
    assert cut.tolist() == [1, v.word_to_idx["a"], v.word_to_idx["red"], 2]
    # Decoding stops at <END> and ignores what follows.
    assert v.decode([v.word_to_idx["red"], 2, v.word_to_idx["a"]]) == "red"


def test_the_cs231n_vocabulary_file_has_our_layout(shared_data):
    d = json.loads((shared_data / "captioning" / "cs231n" / "coco2014_vocab.json").read_text())
    v = Vocabulary(d["idx_to_word"])
    assert len(v) == 1004
    assert all(v.word_to_idx[w] == i for w, i in d["word_to_idx"].items())


def test_a_vocabulary_without_the_specials_is_refused():
    with pytest.raises(DataError, match="<NULL>"):
        Vocabulary(["a", "b", "c", "d"])
