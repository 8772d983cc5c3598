"""The Transformer captioner against independent references: torch's scaled_dot_product_attention, its causal
mask (a word's scores never depend on later words), teacher-forced log-probabilities for beam scores, and
learning (it memorises a tiny set)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vislab.captioning.model import CaptioningRNN
from vislab.captioning.transformer import Attention, TransformerCaptioner, transformer_param_shapes
from vislab.captioning.transformer_decode import TransformerDecoding
from vislab.errors import ConfigError

WORDS = ["<NULL>", "<START>", "<END>", "a", "red", "blue", "circle", "square", "left", "of"]
W2I = {w: i for i, w in enumerate(WORDS)}


def _model(cells: int = 4, dtype=torch.float64, seed: int = 0) -> TransformerCaptioner:
    return TransformerCaptioner(W2I, input_dim=cells * 6, wordvec_dim=16, hidden_dim=24, cells=cells, dtype=dtype,
                                seed=seed)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_torch_sdpa(causal):
    torch.manual_seed(0)
    att = Attention(16, 4).double()
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    source = x if causal else torch.randn(3, 7, 16, dtype=torch.float64)
    out, weights = att(x, source, causal=causal)

    def heads(t):
        return t.view(3, t.shape[1], 4, 4).transpose(1, 2)

    ref = F.scaled_dot_product_attention(heads(att.query(x)), heads(att.key(source)), heads(att.value(source)),
                                         is_causal=causal)
    ref = att.proj(ref.transpose(1, 2).reshape(3, 5, 16))
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 5, dtype=torch.float64))
    if causal:  # by hand: no weight on a later position
        assert float(weights.detach().triu(1).abs().max()) == 0.0


def test_scores_at_step_t_ignore_later_words():
    m = _model()
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, m.input_dim, generator=g, dtype=torch.float64)
    words = torch.randint(3, len(WORDS), (2, 8), generator=g)
    changed = words.clone()
    changed[:, 5:] = torch.randint(3, len(WORDS), (2, 3), generator=g)
    a, b = m(feats, words), m(feats, changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], rtol=0, atol=0)
    assert not torch.allclose(a[:, 5:], b[:, 5:])
    # the image matters: other features, other scores at every step
    assert (m(feats.flip(0), words) - a).abs().amax(dim=2).min() > 0


def test_parameters_are_seeded_and_named_as_the_checkpoint_check_expects():
    a, b, c = _model(seed=3), _model(seed=3), _model(seed=4)
    shapes = {k: tuple(p.shape) for k, p in a.named_parameters()}
    assert shapes == transformer_param_shapes(len(WORDS), a.input_dim, 16, 24, cells=4)
    for k, p in a.named_parameters():
        assert torch.equal(p, dict(b.named_parameters())[k])
    assert not torch.equal(a.embed.weight, c.embed.weight)
    with pytest.raises(ConfigError, match="wordvec_dim"):
        TransformerCaptioner(W2I, input_dim=8, wordvec_dim=10)
    with pytest.raises(ConfigError, match="features must be"):
        a.loss(np.zeros((1, 5)), np.array([[1, 3, 2]]))


def _tiny_set():
    captions = np.array([[1, 3, 4, 6, 8, 9, 3, 5, 7, 2], [1, 3, 5, 7, 8, 9, 3, 4, 6, 2],
                         [1, 3, 4, 7, 2, 0, 0, 0, 0, 0], [1, 3, 5, 6, 2, 0, 0, 0, 0, 0]])
    feats = np.random.default_rng(0).standard_normal((4, 4 * 6))
    return feats, captions


def test_memorises_a_tiny_set_and_every_decoder_agrees():
    torch.manual_seed(0)
    m = _model()
    feats, captions = _tiny_set()
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    first = float(m.loss(feats, captions).detach())
    for _ in range(150):
        loss = m.loss(feats, captions)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.05 < first  # first: about 9 words x ln(10)
    want = np.where(captions[:, 1:] == 0, 0, captions[:, 1:])
    np.testing.assert_array_equal(m.sample(feats, 9).numpy(), want)
    dec = TransformerDecoding(m)
    np.testing.assert_array_equal(dec.sample(feats, 9), want)  # CaptioningRNN.sample through _step
    np.testing.assert_array_equal(dec.beam_search(feats, beam_size=1, max_length=9), want)
    np.testing.assert_array_equal(dec.beam_search(feats, beam_size=3, max_length=9), want)


def test_beam_scores_are_teacher_forced_log_probabilities():
    """Every beam's score is the sum of its words' log-probabilities (over the whole vocabulary, as the numpy
    models score them), recomputed here from one teacher-forced pass of the full caption (an independent path
    from the step-by-step decoding)."""
    m = _model(seed=5)
    dec = TransformerDecoding(m)
    feats = np.random.default_rng(1).standard_normal((2, m.input_dim))
    seqs, scores = dec.beam_search(feats, beam_size=3, max_length=6, return_beams=True)
    banned = [W2I["<NULL>"], W2I["<START>"]]
    for i in range(2):
        for b in range(3):
            words = [int(w) for w in seqs[i, b]]
            n = words.index(2) + 1 if 2 in words else len(words)
            inp = torch.tensor([[1, *words[:n - 1]]])
            logp = torch.log_softmax(m(torch.as_tensor(feats[i:i + 1]), inp)[0], dim=1)
            assert all(float(logp[t, words[t]]) > -math.inf and words[t] not in banned for t in range(n))
            want = sum(float(logp[t, words[t]]) for t in range(n))
            assert scores[i, b] == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_attend_gives_the_last_blocks_cross_attention():
    m = _model()
    dec = TransformerDecoding(m)
    feats = np.random.default_rng(2).standard_normal((2, m.input_dim))
    ids = dec.sample(feats, 5)
    maps = dec.attend(feats, ids)
    assert maps.shape == (2, 5, 4) and dec.positions == 4
    np.testing.assert_allclose(maps.sum(axis=2), 1, rtol=1e-12)
    # by hand: the last block's query/key on its layer-normed input, softmax, averaged over the 4 heads
    captured = {}
    blk = m.blocks[-1]
    hook = blk.ln2.register_forward_hook(lambda mod, inp, out: captured.setdefault("x", out))
    memory = m.image_tokens(torch.as_tensor(feats))
    m.decode(memory, torch.cat([torch.full((2, 1), 1), torch.as_tensor(ids[:, :-1])], 1))
    hook.remove()
    q = blk.cross_attn.query(captured["x"]).view(2, 5, 4, 4).transpose(1, 2)
    k = blk.cross_attn.key(memory).view(2, 4, 4, 4).transpose(1, 2)
    want = torch.softmax(q @ k.transpose(2, 3) / 2.0, dim=-1).mean(1)
    np.testing.assert_allclose(maps, want.detach().numpy(), rtol=1e-10)
    assert TransformerDecoding(_model(cells=1)).positions == 0  # pooled: one token, no map to draw


def test_decoding_interface_is_the_numpy_models():
    """The shared decoders come from CaptioningRNN itself, not a copy."""
    assert TransformerDecoding.beam_search is CaptioningRNN.beam_search
    assert TransformerDecoding.sample is CaptioningRNN.sample
