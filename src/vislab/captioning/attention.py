"""AttentionCaptioner: Show, Attend and Tell in numpy (`vislab.nn.attention`), a `CaptioningRNN` that looks.

    feats    = features reshaped (N, L, C) + W_pos           one vector per cell of the backbone's grid, plus a
                                                             learnt vector per cell: the context then says *where*
                                                             the model looked (is the shape it named left or right?)
    h0       = mean_l(feats) @ W_proj + b_proj
    h_t, alpha_t = attention LSTM(W_embed[word_t], h_{t-1}, feats)      alpha_t (N, L): where word t+1 comes from
    scores_t = h_t @ W_vocab + b_vocab

The loss adds the doubly stochastic regularizer (`reg`) and, given targets (boxes, `attention_shapes.grounding`),
the grounding loss (`grounding`). Greedy and beam decoding are `CaptioningRNN`'s (the
attention runs inside `_step`); `attend(features, words)` gives the attention behind each word of any caption
(decoding is deterministic, so re-reading a decoded caption repeats the weights it was decoded with).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import nn
from ..errors import ConfigError
from ..nn import attention as att
from .model import CaptioningRNN, check_captions, init_params

ATTENTION_DIM = 64  # A: the size of the space where the hidden state and the cells meet
DEFAULT_REG = 0.0  # the doubly stochastic term spreads attention evenly over the cells; off by default
ATTENTION_PARAMS = ("W_pos", "W_proj", "b_proj", "W_embed", "Wx", "Wh", "Wz", "b", "Wf", "bf", "Wa", "wa",
                    "W_vocab", "b_vocab")


def attention_param_shapes(vocab_size: int, channels: int, wordvec_dim: int, hidden_dim: int,
                           attention_dim: int = ATTENTION_DIM, positions: int = 1) -> dict[str, tuple[int, ...]]:
    """Every parameter's shape (shared with the torch twin): channels C per cell, not L * C."""
    V, C, W, H, A = vocab_size, channels, wordvec_dim, hidden_dim, attention_dim
    return {"W_pos": (positions, C), "W_proj": (C, H), "b_proj": (H,), "W_embed": (V, W), "Wx": (W, 4 * H),
            "Wh": (H, 4 * H), "Wz": (C, 4 * H), "b": (4 * H,), "Wf": (C, A), "bf": (A,), "Wa": (H, A), "wa": (A,),
            "W_vocab": (H, V), "b_vocab": (V,)}


def init_attention_params(vocab_size: int, channels: int, wordvec_dim: int, hidden_dim: int,
                          attention_dim: int = ATTENTION_DIM, seed: int | None = None,
                          positions: int = 1) -> dict[str, np.ndarray]:
    """float64 initial weights: the LSTM captioner's (same seed, same draws), plus the attention's, scaled by
    1/sqrt(fan_in) like them."""
    base = init_params(vocab_size, channels, wordvec_dim, hidden_dim, "lstm", seed)
    rng = np.random.default_rng([seed, 26] if seed is not None else np.random.randint(2**31 - 1))
    C, H, A = channels, hidden_dim, attention_dim
    extra = {"Wz": rng.standard_normal((C, 4 * H)) * C ** -0.5, "Wf": rng.standard_normal((C, A)) * C ** -0.5,
             "bf": np.zeros(A), "Wa": rng.standard_normal((H, A)) * H ** -0.5,
             "wa": rng.standard_normal(A) * A ** -0.5, "W_pos": np.zeros((positions, C))}
    return {k: (base | extra)[k] for k in ATTENTION_PARAMS}


def check_positions(input_dim: int, positions: int) -> int:
    """C, the channels per cell, from features of input_dim = positions * C."""
    if not isinstance(positions, (int, np.integer)) or positions < 1 or input_dim % positions:
        raise ConfigError(f"attention needs features of L x C values: {input_dim} is not a multiple of "
                          f"{positions} positions")
    return input_dim // positions


class AttentionCaptioner(CaptioningRNN):
    """An LSTM captioner with soft attention over `positions` feature vectors per image (features are
    (N, positions * C), cell by cell). `params` holds `ATTENTION_PARAMS`."""

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int, wordvec_dim: int = 128,
                 hidden_dim: int = 128, positions: int = 1, attention_dim: int = ATTENTION_DIM,
                 reg: float = DEFAULT_REG, dtype: type = np.float32, seed: int | None = None,
                 grounding: float = 0.0) -> None:
        channels = check_positions(input_dim, positions)
        super().__init__(word_to_idx, channels, wordvec_dim, hidden_dim, "lstm", dtype, seed=0)
        self.input_dim, self.positions, self.channels = input_dim, positions, channels
        self.attention_dim, self.reg, self.grounding = attention_dim, reg, grounding
        self.params = {k: v.astype(dtype) for k, v in init_attention_params(
            self.vocab_size, channels, wordvec_dim, hidden_dim, attention_dim, seed, positions).items()}

    def loss(self, features: np.ndarray, captions: np.ndarray,
             targets: np.ndarray | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """`CaptioningRNN.loss` plus the doubly stochastic regularizer over the unmasked steps, and with targets
        (N, T, L) (each output word's box as cell overlaps; zeros: none) the grounding loss."""
        p = self.params
        feats = self._cells(features)
        captions = np.asarray(captions)
        check_captions(captions, feats.shape[0], self.vocab_size)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null

        h0, proj_cache = nn.affine_forward(feats.mean(axis=1), p["W_proj"], p["b_proj"])
        x, embed_cache = nn.word_embedding_forward(captions_in, p["W_embed"])
        (h, alphas), cache = att.attention_lstm_forward(x, feats, h0, p["Wx"], p["Wh"], p["Wz"], p["b"], p["Wf"],
                                                        p["bf"], p["Wa"], p["wa"])
        scores, out_cache = nn.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = nn.temporal_softmax_loss(scores, captions_out, mask)
        reg, reg_cache = att.doubly_stochastic_forward(alphas, mask, self.reg)
        dalphas = att.doubly_stochastic_backward(reg_cache) if self.reg else None
        if targets is not None and self.grounding:
            ground, ground_cache = att.grounding_forward(alphas, targets, self.grounding)
            reg += ground
            dground = att.grounding_backward(ground_cache).astype(alphas.dtype, copy=False)
            dalphas = dground if dalphas is None else dalphas + dground

        g = {}
        dh, g["W_vocab"], g["b_vocab"] = nn.temporal_affine_backward(dscores, out_cache)
        (dx, dfeats, dh0, g["Wx"], g["Wh"], g["Wz"], g["b"], g["Wf"], g["bf"], g["Wa"],
         g["wa"]) = att.attention_lstm_backward(dh, dalphas, cache)
        g["W_embed"] = nn.word_embedding_backward(dx, embed_cache)
        dmean, g["W_proj"], g["b_proj"] = nn.affine_backward(dh0, proj_cache)
        g["W_pos"] = dfeats.sum(axis=0) + dmean.sum(axis=0) / self.positions  # W_pos is added to every image
        return loss + reg, {k: g[k].astype(p[k].dtype, copy=False) for k in p}

    def attend(self, features: np.ndarray, words: np.ndarray) -> np.ndarray:
        """The attention (N, T, L) behind each word of captions `words` (N, T) as `sample` returns them (first
        word first, no <START>): row t is where the model looked when it chose word t."""
        feats = self._cells(features)
        words = np.asarray(words, dtype=np.int64)
        x = self.params["W_embed"][np.concatenate([np.full((len(words), 1), self._start), words[:, :-1]], 1)]
        p = self.params
        h0 = feats.mean(axis=1) @ p["W_proj"] + p["b_proj"]
        (_, alphas), _ = att.attention_lstm_forward(x, feats, h0, p["Wx"], p["Wh"], p["Wz"], p["b"], p["Wf"],
                                                    p["bf"], p["Wa"], p["wa"])
        return alphas

    # -- CaptioningRNN's decoding hooks ---------------------------------------------------------------------

    def _cells(self, features: np.ndarray) -> np.ndarray:
        return self._check_features(features).reshape(-1, self.positions, self.channels) + self.params["W_pos"]

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=self.params["W_proj"].dtype)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ConfigError(f"features must be (N, {self.input_dim}) ({self.positions} cells of {self.channels}) "
                              f"for this model, got shape {features.shape} (were they made with another backbone?)")
        return features

    def _initial_state(self, features: np.ndarray) -> tuple[np.ndarray, ...]:
        # The cells travel in the state, flattened, so beam search reorders them with the beams.
        feats = features.reshape(-1, self.positions, self.channels) + self.params["W_pos"]
        h0 = feats.mean(axis=1) @ self.params["W_proj"] + self.params["b_proj"]
        proj = feats @ self.params["Wf"] + self.params["bf"]
        return h0, np.zeros_like(h0), feats.reshape(len(h0), -1), proj.reshape(len(h0), -1)

    def _step(self, words: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple]:
        p = self.params
        h, c, flat, proj = state
        feats = flat.reshape(-1, self.positions, self.channels)
        h, c, _, _ = att.attention_lstm_step_forward(p["W_embed"][words], h, c, proj.reshape(len(h), self.positions,
                                                                                            -1), feats, p["Wx"],
                                                     p["Wh"], p["Wz"], p["b"], p["Wa"], p["wa"])
        scores = h @ p["W_vocab"] + p["b_vocab"]
        scores = scores - scores.max(axis=1, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        log_probs[:, [self._null, self._start]] = -np.inf
        return log_probs, (h, c, flat, proj)
