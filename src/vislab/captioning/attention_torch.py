"""TorchAttentionCaptioner: `AttentionCaptioner` in torch (autograd), for the torch engine and GPUs.

Same parameters, names, shapes and formulas as the numpy model (`vislab.nn.attention`), so weights move
between the engines and the two agree to rounding error (tests: loss and every gradient in float64).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .attention import (
    ATTENTION_DIM,
    ATTENTION_PARAMS,
    DEFAULT_REG,
    AttentionCaptioner,
    attention_param_shapes,
    check_positions,
    init_attention_params,
)
from .model import check_config, check_word_to_idx
from .torch_model import BeamByNumpy, greedy_captions, grounding_term, teacher_forced_loss


class TorchAttentionCaptioner(BeamByNumpy, nn.Module):
    """`model(features, captions_in)` returns (scores (N, T, V), alphas (N, T, L)); `loss` the regularized
    loss, a scalar tensor."""

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int, wordvec_dim: int = 128,
                 hidden_dim: int = 128, positions: int = 1, attention_dim: int = ATTENTION_DIM,
                 reg: float = DEFAULT_REG, dtype: torch.dtype = torch.float32, seed: int | None = None,
                 grounding: float = 0.0) -> None:
        super().__init__()
        self.channels = check_positions(input_dim, positions)
        check_config("lstm", self.channels, wordvec_dim, hidden_dim)
        self.vocab_size = check_word_to_idx(word_to_idx)
        self.word_to_idx = dict(word_to_idx)
        self.cell_type = "lstm"
        self.input_dim, self.wordvec_dim, self.hidden_dim = input_dim, wordvec_dim, hidden_dim
        self.positions, self.attention_dim, self.reg = positions, attention_dim, reg
        self.grounding = grounding
        self._null = self.word_to_idx["<NULL>"]
        self._start, self._end = self.word_to_idx.get("<START>"), self.word_to_idx.get("<END>")
        init = init_attention_params(self.vocab_size, self.channels, wordvec_dim, hidden_dim, attention_dim, seed,
                                     positions)
        for name in ATTENTION_PARAMS:
            self.register_parameter(name, nn.Parameter(torch.from_numpy(init[name]).to(dtype)))

    def from_numpy_params(self, params: Mapping[str, np.ndarray]) -> TorchAttentionCaptioner:
        shapes = attention_param_shapes(self.vocab_size, self.channels, self.wordvec_dim, self.hidden_dim,
                                        self.attention_dim, self.positions)
        for name in ATTENTION_PARAMS:
            value = np.asarray(params[name]) if name in params else None
            if value is None or value.shape != shapes[name]:
                raise ConfigError(f"parameter {name} is missing or not of shape {shapes[name]}")
            p = getattr(self, name)
            with torch.no_grad():
                p.copy_(torch.tensor(value, device=p.device))
        return self

    def to_numpy_params(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name).detach().cpu().numpy().copy() for name in ATTENTION_PARAMS}

    def to_numpy(self) -> AttentionCaptioner:
        params = self.to_numpy_params()
        model = AttentionCaptioner(self.word_to_idx, self.input_dim, self.wordvec_dim, self.hidden_dim,
                                   self.positions, self.attention_dim, self.reg, dtype=params["Wx"].dtype.type,
                                   seed=0, grounding=self.grounding)
        model.params = params
        return model

    def forward(self, features: torch.Tensor, captions_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = features.reshape(features.shape[0], self.positions, self.channels) + self.W_pos
        h = feats.mean(dim=1) @ self.W_proj + self.b_proj
        c = torch.zeros_like(h)
        proj = feats @ self.Wf + self.bf
        xw = F.embedding(captions_in, self.W_embed) @ self.Wx + self.b
        hs, alphas = [], []
        for t in range(captions_in.shape[1]):
            h, c, alpha = self._step(xw[:, t], h, c, feats, proj)
            hs.append(h)
            alphas.append(alpha)
        return torch.stack(hs, 1) @ self.W_vocab + self.b_vocab, torch.stack(alphas, 1)

    def _step(self, xw, h, c, feats, proj):
        e = torch.tanh(proj + (h @ self.Wa)[:, None]) @ self.wa
        alpha = torch.softmax(e, dim=1)
        z = (alpha[:, :, None] * feats).sum(dim=1)
        H = self.hidden_dim
        a = xw + h @ self.Wh + z @ self.Wz
        i, f, o = torch.sigmoid(a[:, :3 * H]).chunk(3, dim=1)
        c = f * c + i * torch.tanh(a[:, 3 * H:])
        return o * torch.tanh(c), c, alpha

    def penalty(self, alphas: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        """reg * sum over the batch and cells of (1 - sum_t alpha)^2, plus with targets (N, T, L) grounding *
        sum over grounded words of -log(mass on the box): the terms on the weights, not yet averaged."""
        gap = 1 - (alphas * mask[:, :, None].to(alphas.dtype)).sum(dim=1)
        return self.reg * (gap * gap).sum() + grounding_term(alphas, targets, self.grounding)

    def loss(self, features, captions, targets=None) -> torch.Tensor:
        features = torch.as_tensor(features, dtype=self.W_proj.dtype, device=self.W_proj.device)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ConfigError(f"features must be (N, {self.input_dim}) for this model, got {tuple(features.shape)}")
        return teacher_forced_loss(self, features, captions, targets)

    @torch.no_grad()
    def sample(self, features, max_length: int = 30) -> torch.Tensor:
        """Greedy decoding (`CaptioningRNN.sample`'s contract), a LongTensor (N, max_length)."""
        features = torch.as_tensor(features, dtype=self.W_proj.dtype, device=self.W_proj.device)
        N = features.shape[0]
        feats = features.reshape(N, self.positions, self.channels) + self.W_pos
        h = feats.mean(dim=1) @ self.W_proj + self.b_proj
        c, proj = torch.zeros_like(h), feats @ self.Wf + self.bf

        def next_scores(words: torch.Tensor) -> torch.Tensor:
            nonlocal h, c
            h, c, _ = self._step(F.embedding(words, self.W_embed) @ self.Wx + self.b, h, c, feats, proj)
            return h @ self.W_vocab + self.b_vocab

        return greedy_captions(self, next_scores, N, max_length, features.device)
