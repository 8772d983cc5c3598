"""TorchCaptioningRNN: `CaptioningRNN` in torch, for GPUs and multi-process training.

Same parameters under the same names and shapes (W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab), the
same gate layouts (lstm i, f, o, g; gru r, z, n with a 4H bias, see `vislab.nn.gru`) and the same loss, so
weights move between the engines with `from_numpy_params` / `to_numpy_params` and the two agree to rounding
error (the tests check loss and every gradient in float64). The recurrence is written out step by step, like
the numpy code, rather than calling nn.LSTM, whose gate order and bias layout differ; autograd does backward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nn.attention import MASS_FLOOR
from .model import (
    PARAM_NAMES,
    CaptioningRNN,
    check_captions,
    check_config,
    check_word_to_idx,
    init_params,
    param_shapes,
)


class BeamByNumpy:
    """Beam search of a torch captioner by its numpy twin (`to_numpy()`): same arguments, numpy results. Beam
    search is bookkeeping over few hypotheses, so the numpy model's one implementation serves both engines."""

    def beam_search(self, features, beam_size: int = 3, max_length: int = 30, length_penalty: float = 0.0,
                    return_beams: bool = False):
        if isinstance(features, torch.Tensor):
            features = features.detach().cpu().numpy()
        return self.to_numpy().beam_search(features, beam_size, max_length, length_penalty, return_beams)


class TorchCaptioningRNN(BeamByNumpy, nn.Module):
    """The captioning model as an nn.Module: `loss(features, captions)` returns a scalar tensor to backprop;
    `model(features, captions_in)` (forward) returns the teacher-forced scores.

    With the same `seed` it starts from exactly the numpy model's initial weights.
    """

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", dtype: torch.dtype = torch.float32,
                 seed: int | None = None) -> None:
        super().__init__()
        check_config(cell_type, input_dim, wordvec_dim, hidden_dim)
        self.vocab_size = check_word_to_idx(word_to_idx)
        self.word_to_idx = dict(word_to_idx)
        self.cell_type = cell_type
        self.input_dim, self.wordvec_dim, self.hidden_dim = input_dim, wordvec_dim, hidden_dim
        self._null = self.word_to_idx["<NULL>"]
        self._start = self.word_to_idx.get("<START>")  # needed only to sample, as in the numpy model
        self._end = self.word_to_idx.get("<END>")
        init = init_params(self.vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type, seed)
        for name in PARAM_NAMES:
            self.register_parameter(name, nn.Parameter(torch.from_numpy(init[name]).to(dtype)))

    # -- moving weights between the engines -----------------------------------------------------------------

    @classmethod
    def from_numpy(cls, model: CaptioningRNN, dtype: torch.dtype = torch.float32) -> TorchCaptioningRNN:
        """A torch twin of a numpy `CaptioningRNN`, with a copy of its weights."""
        twin = cls(model.word_to_idx, model.input_dim, model.wordvec_dim, model.hidden_dim, model.cell_type,
                   dtype=dtype, seed=0)
        return twin.from_numpy_params(model.params)

    def from_numpy_params(self, params: Mapping[str, np.ndarray]) -> TorchCaptioningRNN:
        """Copy numpy parameters (a `CaptioningRNN.params` dict) into this module, in place; returns self."""
        shapes = param_shapes(self.vocab_size, self.input_dim, self.wordvec_dim, self.hidden_dim,
                              self.cell_type)
        missing = [k for k in PARAM_NAMES if k not in params]
        if missing:
            raise ConfigError(f"parameters missing: {', '.join(missing)}")
        for name in PARAM_NAMES:
            value = np.asarray(params[name])
            if value.shape != shapes[name]:
                raise ConfigError(f"parameter {name} has shape {value.shape}, this model needs "
                                  f"{shapes[name]}")
            p = getattr(self, name)
            with torch.no_grad():
                p.copy_(torch.tensor(value, device=p.device))
        return self

    def to_numpy_params(self) -> dict[str, np.ndarray]:
        """The parameters as a dict of numpy arrays (copies, on the CPU), ready for `CaptioningRNN.params`."""
        return {name: getattr(self, name).detach().cpu().numpy().copy() for name in PARAM_NAMES}

    def to_numpy(self) -> CaptioningRNN:
        """A numpy `CaptioningRNN` with a copy of these weights (in float64 if this module is float64)."""
        params = self.to_numpy_params()
        model = CaptioningRNN(self.word_to_idx, self.input_dim, self.wordvec_dim, self.hidden_dim,
                              self.cell_type, dtype=params["Wx"].dtype.type, seed=0)
        model.params = params
        return model

    # -- training -----------------------------------------------------------------------------------------

    def forward(self, features: torch.Tensor, captions_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced scores (N, T, V) for the word after each word of captions_in (N, T).

        Being `forward`, this is what DistributedDataParallel(model)(features, captions_in) runs; put the
        masked loss on top as `loss` does."""
        h0 = features @ self.W_proj + self.b_proj
        x = F.embedding(captions_in, self.W_embed)
        h = self._recur(x, h0)
        return h @ self.W_vocab + self.b_vocab

    def loss(self, features, captions) -> torch.Tensor:
        """Same as `CaptioningRNN.loss` (summed over time, averaged over the batch, <NULL> targets masked),
        but only the loss, a scalar tensor: call .backward() on it. Accepts numpy arrays or tensors."""
        return teacher_forced_loss(self, self._features(features), captions)

    # -- decoding -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, features, max_length: int = 30) -> torch.Tensor:
        """Greedy decoding with `CaptioningRNN.sample`'s contract; returns a LongTensor (N, max_length)."""
        check_sampling(self, max_length)
        features = self._features(features)
        h = features @ self.W_proj + self.b_proj
        state = (h, torch.zeros_like(h)) if self.cell_type == "lstm" else (h,)

        def next_scores(words: torch.Tensor) -> torch.Tensor:
            nonlocal state
            state = self._cell(F.embedding(words, self.W_embed) @ self.Wx + self._input_bias(), state)
            return state[0] @ self.W_vocab + self.b_vocab

        return greedy_captions(self, next_scores, features.shape[0], max_length, features.device)

    # -- the recurrence -----------------------------------------------------------------------------------

    def _features(self, features) -> torch.Tensor:
        features = torch.as_tensor(features, dtype=self.W_proj.dtype, device=self.W_proj.device)
        if features.ndim != 2 or features.shape[1] != self.W_proj.shape[0]:
            raise ConfigError(f"features must be (N, {self.W_proj.shape[0]}) for this model, got shape "
                              f"{tuple(features.shape)} (were they made with another backbone?)")
        return features

    def _input_bias(self) -> torch.Tensor:
        """The part of b added to x @ Wx (for the gru, b[3H:] belongs to the hidden side of n)."""
        return self.b[:3 * self.hidden_dim] if self.cell_type == "gru" else self.b

    def _recur(self, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        """All hidden states (N, T, H) for inputs x (N, T, W); the input projection is one product."""
        xw = x @ self.Wx + self._input_bias()
        state = (h0, torch.zeros_like(h0)) if self.cell_type == "lstm" else (h0,)
        hs = []
        for t in range(x.shape[1]):
            state = self._cell(xw[:, t], state)
            hs.append(state[0])
        return torch.stack(hs, dim=1)

    def _cell(self, xw: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """One step given the input projection xw = x @ Wx + input bias; the formulas of `vislab.nn`."""
        H = self.hidden_dim
        h = state[0]
        if self.cell_type == "rnn":
            return (torch.tanh(xw + h @ self.Wh),)
        if self.cell_type == "lstm":
            a = xw + h @ self.Wh
            i, f, o = torch.sigmoid(a[:, :3 * H]).chunk(3, dim=1)
            g = torch.tanh(a[:, 3 * H:])
            c = f * state[1] + i * g
            return o * torch.tanh(c), c
        ah = h @ self.Wh
        r, z = torch.sigmoid(xw[:, :2 * H] + ah[:, :2 * H]).chunk(2, dim=1)
        n = torch.tanh(xw[:, 2 * H:] + r * (ah[:, 2 * H:] + self.b[3 * H:]))
        return (n + z * (h - n),)


def grounding_term(alphas: torch.Tensor, targets: torch.Tensor | None, weight: float) -> torch.Tensor | float:
    """weight * sum over grounded words of -log(attention mass on the box): `nn.attention.grounding_forward`
    before its average over the batch; alphas and targets (N, T, L), a row of zero targets: not grounded."""
    if targets is None or not weight:
        return 0.0
    targets = targets.to(alphas.dtype)
    grounded = targets.sum(dim=2) > 0
    mass = (alphas * targets).sum(dim=2)[grounded].clamp_min(MASS_FLOOR)
    return -weight * torch.log(mass).sum()


def summed_loss(net: nn.Module, model: nn.Module, features: torch.Tensor, captions: torch.Tensor,
                targets=None) -> torch.Tensor:
    """Cross-entropy of every non-<NULL> next word of `captions` (N, T + 1, <START> first) given the true words
    before it, summed over the batch and time. `net(features, words_in)` (the model, or its DDP wrapper) gives the
    scores, or (scores, attention weights) for a model whose `penalty(weights, mask, targets)` is added
    (the doubly stochastic term, grounding)."""
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    mask = captions_out != model._null
    scores, extra = net(features, captions_in), 0.0
    if isinstance(scores, tuple):
        scores, weights = scores
        extra = model.penalty(weights, mask, None if targets is None else torch.as_tensor(targets,
                                                                                           device=features.device))
    return F.cross_entropy(scores[mask], captions_out[mask], reduction="sum") + extra


def teacher_forced_loss(model: nn.Module, features: torch.Tensor, captions, targets=None) -> torch.Tensor:
    """The captioners' loss (`CaptioningRNN.loss`): `summed_loss` averaged over the batch, after checking the
    captions."""
    captions = torch.as_tensor(captions, device=features.device)
    check_captions(captions, features.shape[0], model.vocab_size)
    return summed_loss(model, model, features, captions.long(), targets) / features.shape[0]


def greedy_captions(model: nn.Module, next_scores: Callable[[torch.Tensor], torch.Tensor], n: int, max_length: int,
                    device: torch.device) -> torch.Tensor:
    """The torch captioners' greedy loop: `next_scores(words)` gives the scores (n, V) of the word after `words`
    (n,), the model keeping its own state. Returns (n, max_length) word indices, <NULL> after <END>; <NULL> and
    <START> are never generated, as in the numpy model. Stops early once every caption has ended."""
    check_sampling(model, max_length)
    out = torch.full((n, max_length), model._null, dtype=torch.long, device=device)
    words = torch.full((n,), model._start, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(max_length):
        scores = next_scores(words)
        scores[:, [model._null, model._start]] = -torch.inf
        words = scores.argmax(dim=1)
        out[:, t] = torch.where(done, model._null, words)
        done |= words == model._end
        if bool(done.all()):
            break
    return out


def check_sampling(model: nn.Module, max_length: int) -> None:
    """Greedy decoding needs a length and the <START> and <END> tokens (a model can be trained without them)."""
    if max_length < 1:
        raise ConfigError(f"max_length must be >= 1, got {max_length}")
    if model._start is None or model._end is None:
        raise ConfigError("the vocabulary has no <START> or <END> token: a model can be trained without them, "
                          "but sampling starts from <START> and stops at <END>")
