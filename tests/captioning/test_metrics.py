"""BLEU-1..4 and CIDEr-D against the COCO caption evaluation code (pycocoevalcap) and nltk."""

from __future__ import annotations

import json
import math

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from vislab.captioning.metrics import caption_scores, cider_d, corpus_bleu
from vislab.captioning.tokenize import tokenize


@pytest.fixture(scope="module")
def coco_refs(coco_val) -> dict[int, list[str]]:
    """Image id -> its 5 COCO captions, tokenized and space-joined (the form pycocoevalcap scores)."""
    ann = json.loads(coco_val[0].read_text())["annotations"]
    refs: dict[int, list[str]] = {}
    for a in ann:
        refs.setdefault(a["image_id"], []).append(" ".join(tokenize(a["caption"])))
    return refs


def _hypothesis_sets(refs: dict[int, list[str]]) -> dict[str, dict[int, str]]:
    ids = sorted(refs)
    return {
        # A human caption of the image: high scores.
        "own caption": {i: refs[i][0] for i in ids},
        # Another image's caption every third image: mixed scores.
        "mixed": {i: refs[ids[(k + 1) % len(ids)]][0] if k % 3 == 0 else refs[i][0]
                  for k, i in enumerate(ids)},
        # Truncated captions trigger the brevity penalty and the CIDEr-D length penalty.
        "short": {i: " ".join(refs[i][1].split()[:4]) for i in ids},
        # Repeating words is what CIDEr-D's clipping and BLEU's clipping are for; one empty caption too.
        "degenerate": {i: ("" if k == 0 else "a a a a man man on the the the") for k, i in enumerate(ids)},
    }


@pytest.mark.parametrize("which", ["own caption", "mixed", "short", "degenerate"])
def test_identical_to_pycocoevalcap(coco_refs, which):
    hyps = _hypothesis_sets(coco_refs)[which]
    ids = sorted(coco_refs)
    # The image's own caption is the hypothesis, so it is left out of its references.
    gts = {i: coco_refs[i][1:] for i in ids}
    res = {i: [hyps[i]] for i in ids}
    ref_bleu, ref_bleu_per_image = Bleu(4).compute_score(gts, res, verbose=0)
    ref_cider, ref_cider_per_image = Cider().compute_score(gts, res)

    bleu = corpus_bleu([gts[i] for i in ids], [hyps[i] for i in ids])
    cider, per_image = cider_d([gts[i] for i in ids], [hyps[i] for i in ids])
    assert bleu == ref_bleu  # bitwise: the same numbers papers report
    assert cider == ref_cider
    assert per_image.tolist() == list(ref_cider_per_image)
    assert 0 < bleu[3] < bleu[0] <= 1


def test_token_lists_and_strings_agree(coco_refs):
    ids = sorted(coco_refs)[:20]
    refs_str = [coco_refs[i][1:] for i in ids]
    hyps_str = [coco_refs[i][0] for i in ids]
    refs_tok = [[r.split() for r in rs] for rs in refs_str]
    hyps_tok = [h.split() for h in hyps_str]
    assert caption_scores(refs_str, hyps_str) == caption_scores(refs_tok, hyps_tok)


def test_bleu_matches_nltk_corpus_bleu(coco_refs):
    """nltk defines corpus BLEU the same way (clipped counts summed over the corpus, closest reference length,
    shorter on ties); without zero counts no smoothing is involved, so the two agree to rounding."""
    from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

    ids = sorted(coco_refs)
    refs = [[r.split() for r in coco_refs[i][1:]] for i in ids]
    hyps = [coco_refs[ids[(k + 2) % len(ids)]][0].split() if k % 4 == 0 else coco_refs[i][0].split()
            for k, i in enumerate(ids)]
    ours = corpus_bleu(refs, hyps)
    for n in range(1, 5):
        expected = nltk_corpus_bleu(refs, hyps, weights=tuple([1.0 / n] * n))
        assert ours[n - 1] == pytest.approx(expected, rel=1e-9)


def test_bleu_closed_forms():
    # A perfect match scores 1 at every order (up to the 1e-9 smoothing of the reference code).
    perfect = corpus_bleu([["a red circle left of a square"]], ["a red circle left of a square"])
    assert perfect == pytest.approx([1.0] * 4, abs=1e-9)
    # Hypothesis "the the the the" vs reference "the cat": clipped unigram precision 1/4; no brevity penalty.
    b = corpus_bleu([["the cat"]], ["the the the the"])
    assert b[0] == pytest.approx(0.25)
    # Hypothesis shorter than its reference: BP = exp(1 - r/c) with c=2, r=4; p1 = 1, p2 = 1.
    b = corpus_bleu([["a red circle here"]], ["a red"])
    assert b[1] == pytest.approx(math.exp(1 - 4 / 2))


def test_cider_d_perfect_and_zero():
    refs = [["a red circle"], ["a blue square"], ["a green triangle"]]
    perfect, _ = cider_d(refs, ["a red circle", "a blue square", "a green triangle"])
    wrong, _ = cider_d(refs, ["x y z", "x y z", "x y z"])
    assert wrong == 0.0
    # Identical captions have cosine 1 at every n-gram order that exists; with length penalty 1 (same length)
    # the image score is 10 * mean over n of [1, 1, 1, 0] (no 4-grams in 3 words) = 7.5.
    assert perfect == pytest.approx(7.5)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], ["a", "b"])
    with pytest.raises(ValueError):
        cider_d([[]], ["a"])
