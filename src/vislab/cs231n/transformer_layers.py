"""The course's ``cs231n/transformer_layers.py`` (2021 assignment 3): positional encoding and multi-head attention
in torch, with the assignment's signatures and layer names.

    PositionalEncoding(embed_dim, dropout=0.1, max_len=5000)(x)            x (N, S, D) -> x + PE, then dropout
    MultiHeadAttention(embed_dim, num_heads=2, dropout=0.1)(query, key, value, attn_mask=None)

attn_mask (S, T): where it is 0 (False), query position i may not look at key position j; a row with every key
masked gives zeros instead of NaN. The notebook's seeded check values depend on the dropout masks and weight draws
of the torch it ran on: the positional encoding matches them wherever that dropout kept an element
(tests/cs231n/test_transformer.py); multi-head attention is checked against torch.nn.MultiheadAttention instead
(its notebook values are not reproduced with this torch).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class PositionalEncoding(nn.Module):
    """Sinusoids added to the word vectors: PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(...)."""

    # device: cpu-ok (the table is a registered buffer: it moves with the module's .to(device))
    def __init__(self, embed_dim: int, dropout: float = 0.1, max_len: int = 5000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        assert embed_dim % 2 == 0
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.pow(10000.0, -torch.arange(0, embed_dim, 2, dtype=torch.float32) / embed_dim)
        pe = torch.zeros(1, max_len, embed_dim)
        pe[0, :, 0::2] = torch.sin(pos * freq)
        pe[0, :, 1::2] = torch.cos(pos * freq)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[:, :x.shape[1]].to(x.dtype))


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention in `num_heads` heads of embed_dim / num_heads dimensions each, then a linear
    projection; dropout on the attention weights."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        assert embed_dim % num_heads == 0
        # Created in the assignment's order: the seeded checks depend on it.
        self.key = nn.Linear(embed_dim, embed_dim)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.attn_drop = nn.Dropout(dropout)
        self.n_head = num_heads
        self.emb_dim = embed_dim
        self.head_dim = embed_dim // num_heads

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        N, S, E = query.shape
        T = value.shape[1]
        H, d = self.n_head, self.head_dim
        q = self.query(query).view(N, S, H, d).transpose(1, 2)  # (N, H, S, d)
        k = self.key(key).view(N, T, H, d).transpose(1, 2)
        v = self.value(value).view(N, T, H, d).transpose(1, 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(d)  # (N, H, S, T)
        if attn_mask is not None:
            scores = scores.masked_fill(attn_mask == 0, -math.inf)
        attn = torch.nan_to_num(F.softmax(scores, dim=-1))  # a fully masked row: no weight anywhere
        out = self.attn_drop(attn) @ v
        return self.proj(out.transpose(1, 2).reshape(N, S, E))
