"""`cs231n.classifiers.rnn.CaptioningRNN` over `vislab.captioning.model.CaptioningRNN`.

The course's constructor, `params` names and shapes, and initialisation; the loss and its gradients are
vislab's model's (`loss` is inherited unchanged). What the course allows and vislab's own model refuses:

* a vocabulary without <START>/<END> (the course's loss checks use ``{'<NULL>': 0, 'cat': 2, 'dog': 3}``):
  V is ``len(word_to_idx)`` and the indices need not be 0..V-1; only <NULL> is required. `sample` needs
  <START> (and stops nothing at <END>, as in the course) and says so when it is missing;
* ``cell_type`` is 'rnn' or 'lstm' only, as in the course (vislab's own model also has 'gru').

`sample` is the course's greedy decoding: every step takes the argmax over the whole vocabulary and the
(N, max_length) result holds every generated word, including anything after <END> (the course's
`decode_captions` stops at <END>). vislab's own `sample` never emits <NULL>/<START> and pads after <END>.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ... import nn
from ...captioning import model as _model
from ...errors import ConfigError

__all__ = ["CaptioningRNN"]


class CaptioningRNN(_model.CaptioningRNN):
    """CaptioningRNN(word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type='rnn',
    dtype=np.float32): the course's model (no regularization)."""

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", dtype: type = np.float32) -> None:
        if cell_type not in ("rnn", "lstm"):
            raise ValueError(f'Invalid cell_type "{cell_type}"')
        _model.check_config(cell_type, input_dim, wordvec_dim, hidden_dim)
        if "<NULL>" not in word_to_idx:
            raise ConfigError("word_to_idx has no <NULL> token (the loss masks <NULL> targets out)")
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.params: dict[str, np.ndarray] = {}
        self.vocab_size = vocab_size = len(word_to_idx)
        self.input_dim, self.wordvec_dim, self.hidden_dim = input_dim, wordvec_dim, hidden_dim
        self._null = self.word_to_idx["<NULL>"]
        self._start = self.word_to_idx.get("<START>", None)
        self._end = self.word_to_idx.get("<END>", None)
        # The course's initialisation (scales 1/sqrt(fan_in), word vectors /100, zero biases), from numpy's
        # global generator as in the course, so np.random.seed makes it repeatable.
        self.params = {k: v.astype(dtype) for k, v in _model.init_params(
            vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type).items()}

    # loss(features, captions) -> (loss, grads): vislab's CaptioningRNN.loss, unchanged.

    def sample(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy test-time sampling: (N, max_length) int32 word indices, the first generated word first.

        The first input word is <START>; each later input is the previous step's argmax word."""
        if self._start is None:
            raise ConfigError("sample needs a <START> token in word_to_idx (this vocabulary has none); "
                              "the loss works without it")
        if max_length < 1:
            raise ConfigError(f"max_length must be >= 1, got {max_length}")
        p = self.params
        features = self._check_features(features)
        N = features.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int32)
        h, _ = nn.affine_forward(features, p["W_proj"], p["b_proj"])
        c = np.zeros_like(h)
        words = np.full(N, self._start, dtype=np.int64)
        for t in range(max_length):
            x = p["W_embed"][words]
            if self.cell_type == "rnn":
                h, _ = nn.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            else:
                h, c, _ = nn.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            scores, _ = nn.affine_forward(h, p["W_vocab"], p["b_vocab"])
            words = scores.argmax(axis=1)
            captions[:, t] = words
        return captions

    def beam_search(self, features: np.ndarray, beam_size: int = 3, max_length: int = 30,
                    length_penalty: float = 0.0, return_beams: bool = False):
        """vislab's beam search (not in the course); needs <START> and <END>."""
        if self._start is None or self._end is None:
            raise ConfigError("beam_search needs <START> and <END> tokens in word_to_idx")
        return super().beam_search(features, beam_size, max_length, length_penalty, return_beams)
