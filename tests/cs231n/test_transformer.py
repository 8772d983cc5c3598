"""The 2021 assignment's transformer layers: positional encoding against the notebook's check values, multi-head
attention against torch.nn.MultiheadAttention with the same weights.

The notebook's seeded check values include dropout masks drawn by the torch of 2021; this torch draws other masks
from the same seed, so the positional-encoding check compares the elements the notebook's dropout kept (all but
one, which it zeroed) with dropout off, scaled by 1 / (1 - p) as dropout scales what it keeps."""

from __future__ import annotations

import numpy as np
import torch

from vislab.cs231n.transformer_layers import MultiHeadAttention, PositionalEncoding

EXPECTED_PE = np.asarray([[[-1.2340, 1.1127, 1.6978, -0.0865, -0.0000, 1.2728],
                           [0.9028, -0.4781, 0.5535, 0.8133, 1.2644, 1.7034]]])


def rel_error(x, y):
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def test_positional_encoding_matches_the_notebook():
    torch.manual_seed(231)
    data = torch.randn(1, 2, 6)
    out = PositionalEncoding(6, dropout=0.0)(data).numpy() / 0.9
    kept = EXPECTED_PE != 0
    assert kept.sum() == 11
    assert rel_error(EXPECTED_PE[kept], out[kept]) < 1e-3  # the notebook's tolerance


def test_multi_head_attention_is_torchs():
    torch.manual_seed(0)
    E, H = 8, 2
    ours = MultiHeadAttention(E, H, dropout=0.0)
    ref = torch.nn.MultiheadAttention(E, H, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.query.weight, ours.key.weight, ours.value.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.query.bias, ours.key.bias, ours.value.bias]))
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
    q, kv = torch.randn(3, 4, E), torch.randn(3, 5, E)
    torch.testing.assert_close(ours(q, kv, kv), ref(q, kv, kv, need_weights=False)[0])
    mask = torch.tril(torch.ones(4, 4))  # ours: 0 = may not look; torch's bool mask: True = may not look
    torch.testing.assert_close(ours(q, q, q, attn_mask=mask), ref(q, q, q, attn_mask=mask == 0, need_weights=False)[0])


def test_captioning_transformer_matches_the_notebook_where_dropout_left_it_alone():
    """The notebook's check (all weights linspace(-1.4, 1.3)) ran in training mode, so most of its scores carry
    that torch's dropout masks; two of them (image 2, words 0 and 2) equal the scores without dropout, which this
    model gives everywhere (the weights saturate the LayerNorms). Also: position t never sees later words."""
    from vislab.cs231n.classifiers.transformer import CaptioningTransformer

    torch.manual_seed(231)
    N, D, W, T = 4, 20, 30, 3
    model = CaptioningTransformer({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=D, wordvec_dim=W, num_heads=2,
                                  num_layers=2, max_length=30)
    for p in model.parameters():
        p.data = torch.tensor(np.linspace(-1.4, 1.3, num=p.numel()).reshape(*p.shape))
    model.eval()
    features = torch.tensor(np.linspace(-1.5, 0.3, num=N * D).reshape(N, D))
    captions = torch.tensor((np.arange(N * T) % 3).reshape(N, T))
    scores = model(features, captions).detach().numpy()
    notebook = np.asarray([[-17.2172, 4.7701, 26.7574], [-17.2172, 4.7701, 26.7574]])  # expected_scores[2, [0, 2]]
    assert rel_error(notebook, scores[2, [0, 2]]) < 1e-4
    # causality, with ordinary weights: changing the last word changes no earlier position's scores
    torch.manual_seed(0)
    fresh = CaptioningTransformer({"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3}, 5, 8, num_heads=2).eval()
    a, b = torch.tensor([[1, 3, 3]]), torch.tensor([[1, 3, 2]])
    f = torch.randn(1, 5)
    torch.testing.assert_close(fresh(f, a)[:, :2], fresh(f, b)[:, :2])
    assert not torch.allclose(fresh(f, a)[:, 2], fresh(f, b)[:, 2])
    assert fresh.sample(f, max_length=4).shape == (1, 4)
