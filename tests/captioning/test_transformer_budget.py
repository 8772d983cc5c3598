"""The decoding memory estimate counts what a Transformer's beam rows carry (its image tokens and prefix): the
RNN-only estimate was far below what beam search really holds (numpy arrays, measured with tracemalloc)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import torch

from vislab.captioning.budget import carried_per_row, decode_bytes
from vislab.captioning.transformer import TransformerCaptioner
from vislab.captioning.transformer_decode import TransformerDecoding

W2I = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i + 3 for i in range(5)}}


def test_the_estimate_covers_a_transformer_beam_search():
    cells, width, rows, beam, steps = 64, 64, 16, 8, 17
    net = TransformerCaptioner(W2I, input_dim=cells * 6, wordvec_dim=width, hidden_dim=24, cells=cells,
                               dtype=torch.float32, seed=0)
    features = np.random.default_rng(0).standard_normal((rows, cells * 6)).astype(np.float32)
    tracemalloc.start()
    try:
        TransformerDecoding(net).beam_search(features, beam_size=beam, max_length=steps - 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sizes = dict(rows=rows, beam=beam, vocab=len(W2I), hidden=24, cell="transformer", steps=steps, itemsize=4)
    carried = carried_per_row(cells=cells, width=width, layers=net.layers, steps=steps)
    assert decode_bytes(**sizes) < peak <= decode_bytes(**sizes, carried=carried)
