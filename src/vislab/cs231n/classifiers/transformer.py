"""The course's ``cs231n/classifiers/transformer.py`` (2021 assignment 3): `CaptioningTransformer`, a Transformer
decoder that reads the caption so far (masked self-attention) and the image (attention to its projected feature
vector), in torch, with the assignment's constructor, layer names and `sample`.

    model = CaptioningTransformer(word_to_idx, input_dim=D, wordvec_dim=W, num_heads=4, num_layers=2)
    scores = model(features, captions)        # (N, T, V) for captions (N, T)
    words = model.sample(features, max_length=30)     # numpy (N, max_length), greedy
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..transformer_layers import MultiHeadAttention, PositionalEncoding


class CaptioningTransformer(nn.Module):
    """Word embedding + positional encoding -> `num_layers` decoder layers attending to the image -> scores."""

    def __init__(self, word_to_idx: dict, input_dim: int, wordvec_dim: int, num_heads: int = 4,
                 num_layers: int = 2, max_length: int = 50) -> None:
        super().__init__()
        vocab_size = len(word_to_idx)
        self.vocab_size = vocab_size
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        self.visual_projection = nn.Linear(input_dim, wordvec_dim)
        self.embedding = nn.Embedding(vocab_size, wordvec_dim, padding_idx=self._null)
        self.positional_encoding = PositionalEncoding(wordvec_dim, max_len=max_length)
        decoder_layer = TransformerDecoderLayer(input_dim=wordvec_dim, num_heads=num_heads)
        self.transformer = TransformerDecoder(decoder_layer, num_layers=num_layers)
        self.apply(self._init_weights)
        self.output = nn.Linear(wordvec_dim, vocab_size)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    def forward(self, features: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        """features (N, D), captions (N, T) -> scores (N, T, V); position t sees words 0..t only."""
        T = captions.shape[1]
        words = self.positional_encoding(self.embedding(captions))
        memory = self.visual_projection(features).unsqueeze(1)  # (N, 1, W): the image as one token
        tgt_mask = torch.tril(torch.ones(T, T, device=captions.device, dtype=words.dtype))
        return self.output(self.transformer(words, memory, tgt_mask))

    @torch.no_grad()
    def sample(self, features: np.ndarray | torch.Tensor, max_length: int = 30) -> np.ndarray:
        """Greedy captions (N, max_length) word indices, <NULL> after <END> (in eval mode: no dropout)."""
        was_training = self.training
        self.eval()
        p = next(self.parameters())
        features = torch.as_tensor(features, dtype=p.dtype, device=p.device)
        N = features.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        partial = torch.full((N, 1), self._start, dtype=torch.long, device=p.device)
        done = np.zeros(N, dtype=bool)
        for t in range(max_length):
            word = self(features, partial)[:, -1].argmax(dim=1)
            captions[~done, t] = word.cpu().numpy()[~done]
            done |= captions[:, t] == self._end
            if done.all():
                break
            partial = torch.cat([partial, word[:, None]], dim=1)
        self.train(was_training)
        return captions


class TransformerDecoderLayer(nn.Module):
    """Masked self-attention, attention to the image, a feed-forward block; each with dropout, a residual and
    LayerNorm (post-norm, as the assignment)."""

    def __init__(self, input_dim: int, num_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.multihead_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.linear1 = nn.Linear(input_dim, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, input_dim)
        self.norm1 = nn.LayerNorm(input_dim)
        self.norm2 = nn.LayerNorm(input_dim)
        self.norm3 = nn.LayerNorm(input_dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = nn.ReLU()

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None) -> torch.Tensor:
        tgt = self.norm1(tgt + self.dropout1(self.self_attn(query=tgt, key=tgt, value=tgt, attn_mask=tgt_mask)))
        tgt = self.norm2(tgt + self.dropout2(self.multihead_attn(query=tgt, key=memory, value=memory)))
        ff = self.linear2(self.dropout(self.activation(self.linear1(tgt))))
        return self.norm3(tgt + self.dropout3(ff))


class TransformerDecoder(nn.Module):
    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            tgt = layer(tgt, memory, tgt_mask=tgt_mask)
        return tgt
