"""TransformerCaptioner: a small Transformer decoder that captions from image features (nanoGPT-sized, torch).

    memory  = cells @ W_memory + cell_pos[l]        the image: one token per feature cell (spatial features,
                                                     `caption train --attention`), or one token for a pooled vector
    x       = W_embed[word_t] * sqrt(E) + sinusoid(t)   the caption so far (the course's positional encoding)
    x      += SelfAttention(LN(x), causal)          each position sees itself and the words before it
    x      += CrossAttention(LN(x), memory)         ... and looks among the image's cells
    x      += MLP(LN(x))                            per block, `layers` blocks (pre-norm, as nanoGPT)
    scores  = LN(x) @ W_vocab + b_vocab

The course's 2021 `CaptioningTransformer` (vislab.cs231n) attends to one projected vector; this one attends to the
same feature grid as the attention LSTM, with a learnt vector per cell so it knows where each cell lies. Width E is
`wordvec_dim` (a multiple of `HEADS`), the MLP's hidden layer `hidden_dim`. No dropout: the runs are small, and
training is then a pure function of the seed and the batches (exact resume).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .model import check_word_to_idx
from .torch_model import greedy_captions, grounding_term, teacher_forced_loss

HEADS = 4
LAYERS = 2
INIT_STD = 0.02  # nanoGPT's: small enough that every block starts near the identity


class Attention(nn.Module):
    """Multi-head scaled dot-product attention of `x` (N, T, E) over `source` (N, S, E); also returns the
    weights (N, heads, T, S), which the attention maps draw."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, source: torch.Tensor, causal: bool = False) -> tuple[torch.Tensor,
                                                                                           torch.Tensor]:
        N, T, E = x.shape
        S, H = source.shape[1], self.heads
        q = self.query(x).view(N, T, H, E // H).transpose(1, 2)
        k = self.key(source).view(N, S, H, E // H).transpose(1, 2)
        v = self.value(source).view(N, S, H, E // H).transpose(1, 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(E // H)
        if causal:  # position t may not look at the words after it
            later = torch.ones(T, S, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(later, -math.inf)
        weights = scores.softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(N, T, E)), weights


class Block(nn.Module):
    """Masked self-attention, cross-attention to the image, MLP; each on a layer-normed input, added back."""

    def __init__(self, dim: int, hidden: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn, self.cross_attn = Attention(dim, heads), Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.ln1(x)
        x = x + self.self_attn(h, h, causal=True)[0]
        out, weights = self.cross_attn(self.ln2(x), memory)
        x = x + out
        return x + self.mlp(self.ln3(x)), weights


def check_transformer(input_dim: int, wordvec_dim: int, hidden_dim: int, cells: int, layers: int,
                      heads: int) -> int:
    """Reject sizes no transformer captioner can have; returns the channels per cell."""
    for name, v in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim),
                    ("cells", cells), ("layers", layers), ("heads", heads)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    if wordvec_dim % heads:
        raise ConfigError(f"wordvec_dim must be a multiple of {heads} (the attention heads), got {wordvec_dim}")
    if input_dim % cells:
        raise ConfigError(f"input_dim {input_dim} is not {cells} cells of equal size")
    return input_dim // cells


def transformer_param_shapes(vocab_size: int, input_dim: int, wordvec_dim: int, hidden_dim: int, cells: int = 1,
                             layers: int = LAYERS) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape (what a checkpoint must hold), without building the model."""
    V, E, Hd, C = vocab_size, wordvec_dim, hidden_dim, input_dim // cells
    shapes = {"memory.weight": (E, C), "memory.bias": (E,), "cell_pos": (cells, E), "embed.weight": (V, E)}
    for i in range(layers):
        b = f"blocks.{i}."
        for ln in ("ln1", "ln2", "ln3"):
            shapes.update({b + ln + ".weight": (E,), b + ln + ".bias": (E,)})
        for att in ("self_attn", "cross_attn"):
            for lin in ("query", "key", "value", "proj"):
                shapes.update({f"{b}{att}.{lin}.weight": (E, E), f"{b}{att}.{lin}.bias": (E,)})
        shapes.update({b + "mlp.0.weight": (Hd, E), b + "mlp.0.bias": (Hd,), b + "mlp.2.weight": (E, Hd),
                       b + "mlp.2.bias": (E,)})
    shapes.update({"ln_f.weight": (E,), "ln_f.bias": (E,), "head.weight": (V, E), "head.bias": (V,)})
    return shapes


def sinusoids(T: int, E: int, like: torch.Tensor) -> torch.Tensor:
    """The course's positional encoding (T, E): sin at even, cos at odd channels, wavelengths up to 10000."""
    pos = torch.arange(T, dtype=torch.float64, device=like.device)[:, None]
    freq = torch.pow(10000.0, -torch.arange(0, E, 2, dtype=torch.float64, device=like.device) / E)
    pe = torch.zeros(T, E, dtype=torch.float64, device=like.device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)  # E is even (a multiple of HEADS)
    return pe.to(like.dtype)


class TransformerCaptioner(nn.Module):
    """`model(features, captions_in)` returns the teacher-forced scores (N, T, V); `loss` the masked loss (the
    RNN's: summed over time, averaged over the batch); `sample` greedy captions; `decode` scores and the last
    block's cross-attention. Features are (N, cells * channels), cell by cell, as the attention LSTM takes them."""

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int, wordvec_dim: int = 128,
                 hidden_dim: int = 256, cells: int = 1, layers: int = LAYERS, heads: int = HEADS,
                 dtype: torch.dtype = torch.float32, seed: int | None = None, grounding: float = 0.0) -> None:
        super().__init__()
        self.grounding = grounding  # training only: forward then also returns the drawn attention (see `penalty`)
        self.channels = check_transformer(input_dim, wordvec_dim, hidden_dim, cells, layers, heads)
        self.vocab_size = check_word_to_idx(word_to_idx)
        self.word_to_idx = dict(word_to_idx)
        self.input_dim, self.wordvec_dim, self.hidden_dim = input_dim, wordvec_dim, hidden_dim
        self.cells, self.layers, self.heads = cells, layers, heads
        self._null = self.word_to_idx["<NULL>"]
        self._start, self._end = self.word_to_idx.get("<START>"), self.word_to_idx.get("<END>")
        self.memory = nn.Linear(self.channels, wordvec_dim)
        self.cell_pos = nn.Parameter(torch.empty(cells, wordvec_dim))  # device: cpu-ok (set by _init, moved by .to)
        self.embed = nn.Embedding(self.vocab_size, wordvec_dim)
        self.blocks = nn.ModuleList(Block(wordvec_dim, hidden_dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(wordvec_dim)
        self.head = nn.Linear(wordvec_dim, self.vocab_size)
        self._init(seed)
        self.to(dtype)

    def _init(self, seed: int | None) -> None:
        """Weights ~ N(0, 0.02), biases 0, layer norms the identity: drawn from a generator seeded by `seed`
        (numpy's global generator picks one without), so one seed gives one model on every device."""
        g = torch.Generator().manual_seed(seed if seed is not None else int(np.random.randint(2**31 - 1)))
        with torch.no_grad():
            for name, p in self.named_parameters():
                if ".ln" in name or name.startswith("ln_"):
                    p.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(p) * INIT_STD)

    def record(self) -> dict[str, int]:
        """What a checkpoint needs, beside the model record, to rebuild this model."""
        return {"cells": self.cells, "layers": self.layers, "heads": self.heads}

    # -- moving weights (the torch engine's interface) ------------------------------------------------------

    def to_numpy_params(self) -> dict[str, np.ndarray]:
        return {k: p.detach().cpu().numpy().copy() for k, p in self.named_parameters()}

    def from_numpy_params(self, params: Mapping[str, np.ndarray]) -> TransformerCaptioner:
        """Copy numpy parameters (names as `to_numpy_params`) into this module, in place; returns self."""
        for name, p in self.named_parameters():
            value = np.asarray(params[name]) if name in params else None
            if value is None or value.shape != tuple(p.shape):
                raise ConfigError(f"parameter {name} is missing or not of shape {tuple(p.shape)}")
            with torch.no_grad():
                p.copy_(torch.tensor(value, device=p.device))
        return self

    # -- the network ----------------------------------------------------------------------------------------

    def image_tokens(self, features: torch.Tensor) -> torch.Tensor:
        """(N, cells * channels) -> (N, cells, E): the memory every block attends to."""
        cells = features.reshape(features.shape[0], self.cells, self.channels)
        return self.memory(cells) + self.cell_pos

    def decode(self, memory: torch.Tensor, captions_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (N, T, V) for the word after each of captions_in (N, T), and the last block's cross-attention
        (N, heads, T, cells)."""
        T, E = captions_in.shape[1], self.wordvec_dim
        x = self.embed(captions_in) * math.sqrt(E) + sinusoids(T, E, memory)
        weights = memory.new_zeros(0)
        for block in self.blocks:
            x, weights = block(x, memory)
        return self.head(self.ln_f(x)), weights

    def forward(self, features: torch.Tensor, captions_in: torch.Tensor):
        """Scores (N, T, V); while grounding, (scores, the last block's cross-attention averaged over heads
        (N, T, cells): the map `vislab caption --attention` draws, which grounding teaches)."""
        scores, weights = self.decode(self.image_tokens(features), captions_in)
        return (scores, weights.mean(dim=1)) if self.grounding else scores

    def penalty(self, alphas: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor | None = None):
        """The grounding term on the drawn attention, not yet averaged over the batch (0 without targets)."""
        return grounding_term(alphas, targets, self.grounding)

    def check_features(self, features) -> torch.Tensor:
        p = self.head.weight
        features = torch.as_tensor(features, dtype=p.dtype, device=p.device)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ConfigError(f"features must be (N, {self.input_dim}) for this model, got shape "
                              f"{tuple(features.shape)} (were they made with another backbone?)")
        return features

    def loss(self, features, captions, targets=None) -> torch.Tensor:
        """Cross-entropy of every non-<NULL> next word, summed over time, averaged over the batch (plus the
        grounding term, given its targets (N, T, cells))."""
        return teacher_forced_loss(self, self.check_features(features), captions, targets)

    @torch.no_grad()
    def sample(self, features, max_length: int = 30) -> torch.Tensor:
        """Greedy decoding with `CaptioningRNN.sample`'s contract: a LongTensor (N, max_length), <NULL> after
        <END>; <NULL> and <START> are never generated. Re-reads the whole prefix every step (captions are short)."""
        memory = self.image_tokens(self.check_features(features))
        prefix = memory.new_empty((memory.shape[0], 0), dtype=torch.long)

        def next_scores(words: torch.Tensor) -> torch.Tensor:
            nonlocal prefix
            prefix = torch.cat([prefix, words[:, None]], dim=1)
            return self.decode(memory, prefix)[0][:, -1]

        return greedy_captions(self, next_scores, memory.shape[0], max_length, memory.device)
