"""CaptioningRNN: image features -> words, in numpy with `vislab.nn`'s layers (cs231n constructor and names).

    h0       = features @ W_proj + b_proj                    the image sets the first hidden state
    x_t      = W_embed[word_t]                               word vectors
    h_t      = cell(x_t, h_{t-1})                            rnn | lstm | gru
    scores_t = h_t @ W_vocab + b_vocab                       a score for every word of the vocabulary

Training (`loss`) feeds the true caption shifted by one (teacher forcing); decoding (`sample`, `beam_search`)
feeds back the model's own words, starting from <START>.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import nn
from ..errors import ConfigError

CELL_TYPES = ("rnn", "lstm", "gru")
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_SEQUENCE = {"rnn": (nn.rnn_forward, nn.rnn_backward), "lstm": (nn.lstm_forward, nn.lstm_backward),
             "gru": (nn.gru_forward, nn.gru_backward)}
PARAM_NAMES = ("W_proj", "b_proj", "W_embed", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def param_shapes(vocab_size: int, input_dim: int, wordvec_dim: int, hidden_dim: int,
                 cell_type: str) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter (shared with the torch twin, so both agree by construction)."""
    V, D, W, H, g = vocab_size, input_dim, wordvec_dim, hidden_dim, _GATES[cell_type]
    return {
        "W_proj": (D, H), "b_proj": (H,), "W_embed": (V, W),
        "Wx": (W, g * H), "Wh": (H, g * H), "b": (4 * H if cell_type == "gru" else g * H,),
        "W_vocab": (H, V), "b_vocab": (V,),
    }


def init_params(vocab_size: int, input_dim: int, wordvec_dim: int, hidden_dim: int, cell_type: str,
                seed: int | None = None) -> dict[str, np.ndarray]:
    """Initial float64 parameters; both engines start from these, so one seed gives one model.

    Without a seed they are drawn from numpy's global generator, so `vislab.devices.seed_everything` makes
    a run repeatable. Weights are scaled by 1/sqrt(fan_in) so pre-activations start with variance ~1; word
    vectors start small and biases at zero.
    """
    rng = np.random.default_rng(seed if seed is not None else np.random.randint(2**31 - 1))
    scale = {"W_proj": input_dim ** -0.5, "W_embed": 1e-2, "Wx": wordvec_dim ** -0.5,
             "Wh": hidden_dim ** -0.5, "W_vocab": hidden_dim ** -0.5}
    shapes = param_shapes(vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type)
    return {name: rng.standard_normal(shape) * scale[name] if name in scale else np.zeros(shape)
            for name, shape in shapes.items()}


def check_word_to_idx(word_to_idx: Mapping[str, int]) -> int:
    """Validate the vocabulary mapping and return its size V = len(word_to_idx).

    Only <NULL> is needed to train (its targets are masked out); <START> and <END> only to sample (`sample` and
    `beam_search` say so). Indices must be distinct and >= 0; as in the course, they need not be exactly 0..V-1
    (its loss check uses ``{'<NULL>': 0, 'cat': 2, 'dog': 3}``), though only indices below V can be predicted."""
    if "<NULL>" not in word_to_idx:
        raise ConfigError("the vocabulary has no <NULL> token (the loss masks <NULL> targets out)")
    idx = list(word_to_idx.values())
    if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0 for i in idx) or \
            len(set(idx)) != len(idx):
        raise ConfigError("word_to_idx must map its words to distinct indices >= 0")
    return len(idx)


def check_captions(captions, n_features: int, vocab_size: int) -> None:
    """Captions (numpy or torch) must be integer word indices, (N, T + 1) with N >= 1 rows, one per feature
    vector, and T >= 1."""
    shape = tuple(captions.shape)
    if len(shape) != 2 or shape[1] < 2 or shape[0] != n_features or n_features < 1:
        raise ConfigError(f"captions must be (N, T+1) with T >= 1 and N = {n_features} >= 1 like the "
                          f"features, got shape {shape}")
    if "int" not in str(captions.dtype):
        raise ConfigError(f"captions must be integer word indices, got dtype {captions.dtype}")
    lo, hi = int(captions.min()), int(captions.max())
    if lo < 0 or hi >= vocab_size:
        raise ConfigError(f"captions hold word indices in [{lo}, {hi}], outside the vocabulary "
                          f"[0, {vocab_size})")


def check_config(cell_type: str, input_dim: int, wordvec_dim: int, hidden_dim: int) -> None:
    """Reject settings no model can have, naming the one at fault."""
    if cell_type not in CELL_TYPES:
        raise ConfigError(f"unknown cell_type {cell_type!r}: use one of {', '.join(CELL_TYPES)}")
    for name, v in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the `k` largest entries of every row of `scores`, best first (ties: lower index)."""
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
    return np.take_along_axis(top, order, 1)


class CaptioningRNN:
    """A recurrent captioning model in numpy.

    `params` is one dict (W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab) that every method reads
    afresh, so assigning to it (e.g. an optimizer step, or loading a checkpoint) takes effect immediately.
    Wx/Wh/b hold the gates side by side: (.., H) for rnn, (.., 4H) for lstm (i, f, o, g), (.., 3H) for gru
    (r, z, n; its b has 4H entries, see `vislab.nn.gru`).
    """

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", dtype: type = np.float32,
                 seed: int | None = None) -> None:
        check_config(cell_type, input_dim, wordvec_dim, hidden_dim)
        self.vocab_size = check_word_to_idx(word_to_idx)
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.cell_type = cell_type
        self.input_dim, self.wordvec_dim, self.hidden_dim = input_dim, wordvec_dim, hidden_dim
        self.dtype = dtype
        self._null = self.word_to_idx["<NULL>"]
        self._start = self.word_to_idx.get("<START>")
        self._end = self.word_to_idx.get("<END>")

        self.params = {k: v.astype(dtype) for k, v in init_params(
            self.vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type, seed).items()}

    # -- training -----------------------------------------------------------------------------------------

    def loss(self, features: np.ndarray, captions: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Teacher-forced loss and gradients.

        features (N, input_dim); captions (N, T + 1) word indices starting with <START>, padded with <NULL>.
        The model reads captions[:, :-1] and is scored on predicting captions[:, 1:]; <NULL> targets are
        masked out. The loss is summed over time and averaged over the batch. Returns (loss, grads), grads
        with the keys of `params`.
        """
        p = self.params
        features = self._check_features(features)
        captions = np.asarray(captions)
        check_captions(captions, features.shape[0], self.vocab_size)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        forward, backward = _SEQUENCE[self.cell_type]

        h0, proj_cache = nn.affine_forward(features, p["W_proj"], p["b_proj"])
        x, embed_cache = nn.word_embedding_forward(captions_in, p["W_embed"])
        h, rnn_cache = forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, out_cache = nn.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = nn.temporal_softmax_loss(scores, captions_out, mask)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = nn.temporal_affine_backward(dscores, out_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, rnn_cache)
        grads["W_embed"] = nn.word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = nn.affine_backward(dh0, proj_cache)
        return loss, grads

    # -- decoding -----------------------------------------------------------------------------------------

    def sample(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy decoding: at every step feed back the most likely word.

        Returns (N, max_length) word indices: column 0 is the first generated word (the <START> input is not
        included), an <END> is kept, and every position after it is <NULL>. <NULL> and <START> are never
        generated (they are not words; a trained model gives them almost no probability anyway).
        """
        if max_length < 1:
            raise ConfigError(f"max_length must be >= 1, got {max_length}")
        self._check_can_sample()
        features = self._check_features(features)
        N = features.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        state = self._initial_state(features)
        words = np.full(N, self._start, dtype=np.int64)
        done = np.zeros(N, dtype=bool)
        for t in range(max_length):
            log_probs, state = self._step(words, state)
            words = log_probs.argmax(axis=1)
            captions[~done, t] = words[~done]
            done |= words == self._end
            if done.all():
                break
        return captions

    def beam_search(self, features: np.ndarray, beam_size: int = 3, max_length: int = 30,
                    length_penalty: float = 0.0, return_beams: bool = False):
        """Keep the `beam_size` best partial captions of every image instead of only the best one.

        All images and beams advance together as one batch of N * beam_size rows (no loop over images).
        A caption is ranked by its total log-probability divided by len ** length_penalty, where len counts
        its words including <END>: 0 (default) ranks by probability, which favours short captions; 1 by the
        mean log-probability per word. A caption ends with <END> or at max_length words. As in `sample`,
        <NULL> and <START> are never generated, and beam_size 1 is greedy decoding.

        Returns (N, max_length) word indices of the best caption of each image, in `sample`'s format; with
        return_beams=True, (captions (N, beam_size, max_length), scores (N, beam_size)): every beam, best
        first, with the score it was ranked by.
        """
        if beam_size < 1 or max_length < 1:
            raise ConfigError(f"beam_size and max_length must be >= 1, got {beam_size} and {max_length}")
        self._check_can_sample()
        features = self._check_features(features)
        N, B, V = features.shape[0], beam_size, self.vocab_size
        rows = np.arange(N)[:, None]

        # Every image starts with B copies of the same state; only beam 0 is "alive" at first (the others
        # score -inf), so the first step does not pick the same word B times.
        state = tuple(np.repeat(s, B, axis=0) for s in self._initial_state(features))
        words = np.full(N * B, self._start, dtype=np.int64)
        logp = np.full((N, B), -np.inf)
        logp[:, 0] = 0.0
        seqs = np.full((N, B, max_length), self._null, dtype=np.int64)
        lengths = np.zeros((N, B), dtype=np.int64)
        done = np.zeros((N, B), dtype=bool)
        for t in range(max_length):
            step_logp, state = self._step(words, state)
            step_logp = step_logp.reshape(N, B, V).astype(np.float64)
            # A finished caption continues only with <NULL>, at no cost, so it stays in the running unchanged.
            step_logp[done] = -np.inf
            step_logp[done, self._null] = 0.0
            cand = logp[:, :, None] + step_logp  # (N, B, V) total log-probability of every extension
            new_len = np.where(done, lengths, t + 1)[:, :, None]
            rank = cand / new_len.astype(np.float64) ** length_penalty if length_penalty else cand
            top = _best(rank.reshape(N, B * V), B)  # the B best of the B * V candidates of every image
            parent, word = top // V, top % V

            logp = np.take_along_axis(cand.reshape(N, B * V), top, 1)
            lengths = np.take_along_axis(np.broadcast_to(new_len, (N, B, V)).reshape(N, B * V), top, 1)
            seqs = seqs[rows, parent]
            was_done = done[rows, parent]
            seqs[:, :, t] = np.where(was_done, self._null, word)
            done = was_done | (word == self._end)
            state = tuple(s.reshape(N, B, -1)[rows, parent].reshape(N * B, -1) for s in state)
            words = word.reshape(N * B)
            if done.all():
                break

        scores = logp / lengths.astype(np.float64) ** length_penalty if length_penalty else logp
        order = np.argsort(-scores, axis=1, kind="stable")
        seqs, scores = seqs[rows, order], np.take_along_axis(scores, order, 1)
        if return_beams:
            return seqs, scores
        return seqs[:, 0]

    # -- helpers ------------------------------------------------------------------------------------------

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        """Features in the parameters' dtype (float64 input must not silently make a float32 model slow)."""
        features = np.asarray(features, dtype=self.params["W_proj"].dtype)
        if features.ndim != 2 or features.shape[1] != self.params["W_proj"].shape[0]:
            raise ConfigError(f"features must be (N, {self.params['W_proj'].shape[0]}) for this model, got "
                              f"shape {features.shape} (were they made with another backbone?)")
        return features

    def _initial_state(self, features: np.ndarray) -> tuple[np.ndarray, ...]:
        h0 = features @ self.params["W_proj"] + self.params["b_proj"]
        return (h0, np.zeros_like(h0)) if self.cell_type == "lstm" else (h0,)

    def _check_can_sample(self) -> None:
        missing = [t for t, i in (("<START>", self._start), ("<END>", self._end)) if i is None]
        if missing:
            raise ConfigError(f"the vocabulary has no {' or '.join(missing)} token: a model can be trained "
                              "without them, but sampling starts from <START> and stops at <END>")

    def _step(self, words: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple]:
        """Feed one word per row; return the log-probabilities of the next word (rows, V) and the new state.
        <NULL> and <START> get -inf, so no decoder ever picks them."""
        p = self.params
        x = p["W_embed"][words]
        if self.cell_type == "rnn":
            h, _ = nn.rnn_step_forward(x, state[0], p["Wx"], p["Wh"], p["b"])
            state = (h,)
        elif self.cell_type == "lstm":
            h, c, _ = nn.lstm_step_forward(x, state[0], state[1], p["Wx"], p["Wh"], p["b"])
            state = (h, c)
        else:
            h, _ = nn.gru_step_forward(x, state[0], p["Wx"], p["Wh"], p["b"])
            state = (h,)
        scores = h @ p["W_vocab"] + p["b_vocab"]
        scores = scores - scores.max(axis=1, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        log_probs[:, [self._null, self._start]] = -np.inf
        return log_probs, state
