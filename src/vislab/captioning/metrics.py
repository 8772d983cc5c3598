"""Corpus BLEU-1..4 and CIDEr-D, computed exactly as the COCO caption evaluation (pycocoevalcap) does.

Scores are on the 0-1 scale that pycocoevalcap returns (papers print them x100: BLEU-4 0.312 is "31.2",
CIDEr-D 1.05 is "105"). Inputs are tokenized captions: a hypothesis is a list of words (or a string, split on
spaces) and each image has a list of references. Both metrics follow the reference code operation by
operation, so the floating-point results are identical, not just close; tests check that on the COCO minis.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

Tokens = Sequence[str] | str

# pycocoevalcap's smoothing: a corpus with no n-gram matches gets ~0, not a division by zero.
_TINY = 1e-15
_SMALL = 1e-9


def _words(caption: Tokens) -> list[str]:
    return caption.split() if isinstance(caption, str) else list(caption)


def ngram_counts(words: Sequence[str], n: int = 4) -> Counter:
    """Counts of every 1..n-gram (as tuples), in order of first appearance."""
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i:i + k])] += 1
    return counts


def _check(references: Sequence[Sequence[Tokens]], hypotheses: Sequence[Tokens]) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every image needs at least one reference caption")


def corpus_bleu(references: Sequence[Sequence[Tokens]], hypotheses: Sequence[Tokens],
                n: int = 4) -> list[float]:
    """BLEU-1..n of the whole corpus (Papineni et al. 2002), as pycocoevalcap's ``Bleu(n)`` scores it.

    Clipped n-gram matches and candidate n-grams are summed over all images before dividing; the brevity
    penalty compares the total hypothesis length with the sum of, per image, the reference length closest to
    the hypothesis length (ties go to the shorter reference).
    """
    _check(references, hypotheses)
    correct, guess = [0] * n, [0] * n
    hyp_len = ref_len = 0
    for refs, hyp in zip(references, hypotheses):
        h = _words(hyp)
        ref_words = [_words(r) for r in refs]
        max_ref_counts: dict[tuple, int] = {}
        for r in ref_words:
            for g, c in ngram_counts(r, n).items():
                max_ref_counts[g] = max(max_ref_counts.get(g, 0), c)
        for g, c in ngram_counts(h, n).items():
            # Clipping: an n-gram counts at most as often as it appears in one reference.
            correct[len(g) - 1] += min(max_ref_counts.get(g, 0), c)
        for k in range(1, n + 1):
            guess[k - 1] += max(0, len(h) - k + 1)
        hyp_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in ref_words)[1]

    # BLEU-k is the geometric mean of the precisions p_1..p_k, built up as a running product.
    scores, product = [], 1.0
    for k in range(n):
        product *= float(correct[k] + _TINY) / (guess[k] + _SMALL)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (hyp_len + _TINY) / (ref_len + _SMALL)
    if ratio < 1:  # brevity penalty, only for corpora shorter than their references
        scores = [s * math.exp(1 - 1 / ratio) for s in scores]
    return scores


def cider_d(references: Sequence[Sequence[Tokens]], hypotheses: Sequence[Tokens], n: int = 4,
            sigma: float = 6.0) -> tuple[float, np.ndarray]:
    """CIDEr-D (Vedantam et al. 2015) of the corpus and per image, as pycocoevalcap's ``Cider`` scores it.

    Each caption becomes TF-IDF vectors of its 1..n-grams (document frequency counted over the *references* of
    this corpus, one document per image); an image's score is the cosine similarity of the hypothesis with
    each reference, with the hypothesis weights clipped at the reference's ("-D": no gaming by repetition)
    and a Gaussian penalty on the length difference, averaged over n-gram orders and references, times 10.
    """
    _check(references, hypotheses)
    ref_counts = [[ngram_counts(_words(r), n) for r in refs] for refs in references]
    hyp_counts = [ngram_counts(_words(h), n) for h in hypotheses]

    doc_freq: defaultdict[tuple, float] = defaultdict(float)
    for counts in ref_counts:
        for g in {g for c in counts for g in c}:
            doc_freq[g] += 1
    log_num_docs = np.log(float(len(references)))

    def tfidf(counts: Counter) -> tuple[list[dict], list[float], int]:
        vec: list[dict] = [defaultdict(float) for _ in range(n)]
        norm = [0.0] * n
        length = 0
        for g, tf in counts.items():
            k = len(g) - 1
            vec[k][g] = float(tf) * (log_num_docs - np.log(max(1.0, doc_freq[g])))
            norm[k] += pow(vec[k][g], 2)
            if k == 1:  # pycocoevalcap measures length in bigrams; kept so scores stay identical
                length += tf
        return vec, [np.sqrt(v) for v in norm], length

    def similarity(hyp, ref) -> np.ndarray:
        (vh, nh, lh), (vr, nr, lr) = hyp, ref
        delta = float(lh - lr)
        val = np.array([0.0] * n)
        for k in range(n):
            for g in vh[k]:
                val[k] += min(vh[k][g], vr[k][g]) * vr[k][g]
            if nh[k] != 0 and nr[k] != 0:
                val[k] /= nh[k] * nr[k]
            val[k] *= np.e ** (-(delta ** 2) / (2 * sigma ** 2))
        return val

    scores = []
    for hc, rcs in zip(hyp_counts, ref_counts):
        hyp = tfidf(hc)
        total = np.array([0.0] * n)
        for rc in rcs:
            total += similarity(hyp, tfidf(rc))
        scores.append(np.mean(total) / len(rcs) * 10.0)
    per_image = np.array(scores)
    return float(np.mean(per_image)), per_image


def caption_scores(references: Sequence[Sequence[Tokens]], hypotheses: Sequence[Tokens]) -> dict[str, float]:
    """``{"BLEU-1": .., "BLEU-2": .., "BLEU-3": .., "BLEU-4": .., "CIDEr-D": ..}`` on the 0-1 scale."""
    bleu = corpus_bleu(references, hypotheses, 4)
    out = {f"BLEU-{k + 1}": float(b) for k, b in enumerate(bleu)}
    out["CIDEr-D"] = cider_d(references, hypotheses)[0]
    return out
