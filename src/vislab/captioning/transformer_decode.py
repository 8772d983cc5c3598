"""A trained `TransformerCaptioner` behind the numpy captioners' decoding interface, so `Captioner` (caption,
caption eval, attention maps) uses it unchanged: numpy features in, numpy word indices out.

Greedy decoding and beam search are `CaptioningRNN`'s own (`sample`, `beam_search`): they only need `_step`
(feed one word per row, get the next word's log-probabilities and the new state). Here the state is the image's
memory tokens (flattened, so beam search reorders them with the beams) and the words so far; every step re-reads
the whole prefix (captions are short), on the CPU like the numpy models.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError
from .model import CaptioningRNN
from .transformer import TransformerCaptioner


class TransformerDecoding:
    """`sample`, `beam_search` and `attend` of a transformer (`Captioner.model` for a transformer checkpoint)."""

    cell_type = "transformer"
    sample = CaptioningRNN.sample
    beam_search = CaptioningRNN.beam_search
    _check_can_sample = CaptioningRNN._check_can_sample

    def __init__(self, net: TransformerCaptioner) -> None:
        self.net = net.eval()
        self.word_to_idx, self.vocab_size = net.word_to_idx, net.vocab_size
        self._null, self._start, self._end = net._null, net._start, net._end
        self.input_dim, self.wordvec_dim, self.hidden_dim = net.input_dim, net.wordvec_dim, net.hidden_dim
        self.dtype = np.float64 if net.head.weight.dtype == torch.float64 else np.float32
        # Attention maps need a grid of cells: pooled features make one memory token, nothing to draw.
        self.positions = net.cells if net.cells > 1 else 0

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        return self.net.check_features(features).cpu().numpy()

    @torch.no_grad()
    def _initial_state(self, features: np.ndarray) -> tuple[np.ndarray, ...]:
        memory = self.net.image_tokens(self.net.check_features(features))
        return memory.reshape(len(features), -1).cpu().numpy(), np.zeros((len(features), 0), dtype=np.int64)

    @torch.no_grad()
    def _step(self, words: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple]:
        """Append one word per row; the log-probabilities of the next word (rows, V), <NULL> and <START> -inf."""
        flat, prefix = state
        prefix = np.concatenate([prefix, np.asarray(words, dtype=np.int64)[:, None]], axis=1)
        p = self.net.head.weight
        memory = torch.as_tensor(flat, device=p.device).reshape(len(flat), self.net.cells, -1)
        scores = self.net.decode(memory, torch.as_tensor(prefix, device=p.device))[0][:, -1]
        log_probs = torch.log_softmax(scores.double(), dim=1).cpu().numpy()
        log_probs[:, [self._null, self._start]] = -np.inf
        return log_probs, (flat, prefix)

    @torch.no_grad()
    def attend(self, features: np.ndarray, words: np.ndarray) -> np.ndarray:
        """(N, T, cells): the last block's cross-attention, averaged over heads, behind each word of `words`
        (N, T), as it was generated (the input at step t is <START> then the words before t)."""
        p = self.net.head.weight
        words = torch.as_tensor(np.asarray(words, dtype=np.int64), device=p.device)
        start = words.new_full((len(words), 1), self._start)
        memory = self.net.image_tokens(self.net.check_features(features))
        weights = self.net.decode(memory, torch.cat([start, words[:, :-1]], dim=1))[1]
        return weights.mean(dim=1).cpu().numpy()


def from_state(state: dict, word_to_idx: dict[str, int]) -> TransformerDecoding:
    """The decoder of a checked transformer checkpoint (on the CPU, in the checkpoint's dtype)."""
    m, t = state["model"], state["transformer"]
    dtype = torch.float64 if m["dtype"] == "float64" else torch.float32
    net = TransformerCaptioner(word_to_idx, m["input_dim"], m["wordvec_dim"], m["hidden_dim"], t["cells"],
                               t["layers"], t["heads"], dtype=dtype, seed=0)
    try:
        net.from_numpy_params({k: v.detach().cpu().numpy() for k, v in state["params"].items()})
    except ConfigError as e:  # `read` checked the shapes; this is damage it cannot see
        raise CheckpointError(f"the transformer's parameters cannot be loaded ({e})") from None
    return TransformerDecoding(net)


def check_record(state: dict) -> dict[str, int]:
    """The checkpoint's transformer record ({"cells", "layers", "heads"}), checked; CheckpointError naming it."""
    t = state.get("transformer")
    if not isinstance(t, dict) or set(t) != {"cells", "layers", "heads"} or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1 << 20 for v in t.values()):
        raise CheckpointError(f"transformer record {str(t)[:80]} is missing or malformed (cells, layers and heads: "
                              "whole numbers)")
    m = state["model"]
    if m["input_dim"] % t["cells"] or m["wordvec_dim"] % t["heads"]:
        raise CheckpointError(f"model input_dim {m['input_dim']} / wordvec_dim {m['wordvec_dim']} do not divide "
                              f"into {t['cells']} cells / {t['heads']} heads")
    return t
