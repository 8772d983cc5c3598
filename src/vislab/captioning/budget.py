"""Peak-memory estimates of the captioning jobs, so a size that cannot fit is refused before any work, with the
estimate in the message (`vislab.machine.check_memory`) instead of a crash or a swapping machine."""

from __future__ import annotations

import math

from ..machine import check_memory
from .model import param_shapes

GATES = {"rnn": 1, "lstm": 4, "gru": 3, "transformer": 8}  # transformer: about 8 vectors per word and block
DECODE_CHUNK = 64  # images decoded together when evaluating or captioning (progress is reported per chunk)
VALIDATION_CHUNK = 512  # images (and captions) scored together by training's validation


def param_count(vocab: int, input_dim: int, wordvec: int, hidden: int, cell: str) -> int:
    if cell == "transformer":
        from .transformer import transformer_param_shapes

        return sum(math.prod(s) for s in transformer_param_shapes(vocab, input_dim, wordvec, hidden).values())
    return sum(math.prod(s) for s in param_shapes(vocab, input_dim, wordvec, hidden, cell).values())


def train_bytes(*, vocab: int, input_dim: int, wordvec: int, hidden: int, cell: str, itemsize: int, batch: int,
                steps: int, features: int = 0, fit: int = 0) -> int:
    """Training: parameters with their gradients, Adam moments and the updated copy (5x); per caption and time
    step the word vector, gate activations and caches, states, and scores with softmax and its gradient (3V);
    `features` float32 values still to be made (the transformed features) and `fit` float64 values that fitting
    the feature transform holds (the training features, three copies with PCA); greedy validation decoding."""
    g = GATES[cell]
    model = 5 * param_count(vocab, input_dim, wordvec, hidden, cell) * itemsize
    activations = batch * steps * (2 * wordvec + (3 * g + 4) * hidden + 3 * vocab) * itemsize
    return model + activations + 4 * features + 8 * fit + decode_bytes(
        rows=VALIDATION_CHUNK, beam=1, vocab=vocab, hidden=hidden, cell=cell, steps=steps, itemsize=itemsize)


def decode_bytes(*, rows: int, beam: int, vocab: int, hidden: int, cell: str, steps: int, itemsize: int,
                 carried: int = 0) -> int:
    """Decoding `rows` images together with `beam` beams: the float64 candidate scores of every beam and word
    (about five (rows, beam, vocab) arrays at once in `beam_search`), the states and the partial captions.
    `carried`: numbers more that every beam row holds (a Transformer's image tokens and its prefix's
    activations, `carried_per_row`); beam search keeps about two copies of the state while it reorders."""
    b = rows * beam
    scores = (5 * 8 if beam > 1 else 2 * itemsize) * b * vocab
    states = b * ((GATES[cell] + 3) * hidden + 2 * carried) * itemsize
    return scores + states + 2 * b * steps * 8


def carried_per_row(*, cells: int, width: int, layers: int, steps: int) -> int:
    """What a Transformer beam row carries besides an RNN's state: its image tokens (cells x width) and, at the
    last step, the activations of its whole prefix in every block (it re-reads the prefix each step)."""
    return cells * width + steps * width * GATES["transformer"] * layers


def check_training(*, vocab: int, input_dim: int, wordvec: int, hidden: int, cell: str, itemsize: int,
                   batch: int, max_length: int, features: int = 0, fit: int = 0) -> None:
    """Refuse a training run whose estimated peak memory exceeds what this machine has left."""
    need = train_bytes(vocab=vocab, input_dim=input_dim, wordvec=wordvec, hidden=hidden, cell=cell,
                       itemsize=itemsize, batch=batch, steps=max_length + 1, features=features, fit=fit)
    check_memory(need, f"training (hidden_dim {hidden}, wordvec_dim {wordvec}, batch_size {batch}, max_length "
                       f"{max_length}, {vocab} words, {input_dim}-d features)",
                 hint="lower hidden_dim, wordvec_dim, batch_size or max_length")


def check_decoding(*, rows: int, beam: int, vocab: int, hidden: int, cell: str, steps: int, itemsize: int,
                   carried: int = 0) -> None:
    need = decode_bytes(rows=rows, beam=beam, vocab=vocab, hidden=hidden, cell=cell, steps=steps,
                        itemsize=itemsize, carried=carried)
    check_memory(need, f"decoding {rows} image(s) with beam {beam} over {vocab} words", hint="lower beam")
