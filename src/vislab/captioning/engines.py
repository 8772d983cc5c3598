"""The two training engines behind one small interface, so the training loop is written once.

``numpy``: `CaptioningRNN` with hand-written backprop and `vislab.nn.optim.adam`, one process, CPU.
``torch``: `TorchCaptioningRNN` with autograd and torch.optim.Adam, any device, and several processes under
torchrun (DDP). Both start from the same initial weights for the same seed. The torch engine also trains
`TransformerCaptioner` (cell "transformer"; its checkpoint state adds a "transformer" record).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from ..distributed import DistInfo
from ..errors import CheckpointError
from ..jobs import SettingError
from ..nn.optim import adam
from .attention import AttentionCaptioner
from .attention_torch import TorchAttentionCaptioner
from .averaging import WeightAverage
from .model import CaptioningRNN
from .torch_model import TorchCaptioningRNN, summed_loss
from .transformer import TransformerCaptioner

DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


class NumpyEngine:
    def __init__(self, word_to_idx: dict, input_dim: int, wordvec_dim: int, hidden_dim: int, cell: str,
                 dtype: str, seed: int, positions: int = 0, grounding: float = 0.0, average: float = 0.0) -> None:
        if cell == "transformer":
            raise SettingError("engine", "must be torch for cell transformer (it has no hand-written backprop)")
        if positions:  # attention over `positions` cells of input_dim / positions channels (an lstm)
            self.model = AttentionCaptioner(word_to_idx, input_dim, wordvec_dim, hidden_dim, positions,
                                            dtype=DTYPES[dtype][0], seed=seed, grounding=grounding)
        else:
            self.model = CaptioningRNN(word_to_idx, input_dim, wordvec_dim, hidden_dim, cell,
                                       dtype=DTYPES[dtype][0], seed=seed)
        self.opt: dict[str, dict] = {k: {} for k in self.model.params}  # one Adam config (m, v, t) per parameter
        self.average = WeightAverage(average) if average else None

    def train_step(self, features: np.ndarray, captions: np.ndarray, lr: float, global_n: int,
                   targets: np.ndarray | None = None) -> float:
        loss, grads = self.model.loss(features, captions, *_grounded(targets))
        new = {}
        for k in self.model.params:
            self.opt[k]["learning_rate"] = lr
            new[k], self.opt[k] = adam(self.model.params[k], grads[k], self.opt[k])
        self.model.params.update(new)  # all at once: params never hold half an update
        if self.average is not None:
            self.average.update(self.model.params)
        return float(loss)

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """The averaged weights in the model for the block (the trained ones when not averaging)."""
        trained, self.model.params = self.model.params, self.numpy_params()
        try:
            yield
        finally:
            self.model.params = trained

    def eval_loss(self, features: np.ndarray, captions: np.ndarray, targets: np.ndarray | None = None) -> float:
        with self.averaged():
            return float(self.model.loss(features, captions, *_grounded(targets))[0])

    def sample(self, features: np.ndarray, max_length: int) -> np.ndarray:
        with self.averaged():
            return self.model.sample(features, max_length)

    def numpy_params(self) -> dict[str, np.ndarray]:
        """The weights to caption with: the average, when there is one."""
        return _average_or(self.average, self.model.params)

    def state(self) -> dict:
        # device: cpu-ok (numpy state for a checkpoint)
        opt = {k: {"m": torch.from_numpy(c["m"].copy()), "v": torch.from_numpy(c["v"].copy()),
                   "t": int(c["t"])} for k, c in self.opt.items() if "m" in c}
        # device: cpu-ok (numpy state for a checkpoint)
        params = {k: torch.from_numpy(v.copy()) for k, v in self.numpy_params().items()}
        # device: cpu-ok (numpy state for a checkpoint)
        train = {k: torch.from_numpy(v.copy()) for k, v in self.model.params.items()}
        return {"params": params, "optimizer": opt, **({"train_params": train} if self.average else {})}

    def load_state(self, state: dict) -> None:
        self.model.params = _numpy_params(state, self.model.params, _trained_key(state, self.average))
        if self.average is not None:
            self.average.values = _numpy_params(state, self.model.params)
        self.opt = {k: {} for k in self.model.params}
        for k, c in state.get("optimizer", {}).items():
            self.opt[k] = {"m": c["m"].numpy().copy(), "v": c["v"].numpy().copy(), "t": int(c["t"])}


class TorchEngine:
    def __init__(self, word_to_idx: dict, input_dim: int, wordvec_dim: int, hidden_dim: int, cell: str,
                 dtype: str, seed: int, dist: DistInfo, positions: int = 0, grounding: float = 0.0,
                 average: float = 0.0) -> None:
        self.dist = dist
        self.dtype = DTYPES[dtype][1]
        if cell == "transformer":  # over `positions` cells, or the pooled vector as one memory token
            self.model = TransformerCaptioner(word_to_idx, input_dim, wordvec_dim, hidden_dim, positions or 1,
                                              dtype=self.dtype, seed=seed, grounding=grounding).to(dist.device)
        elif positions:
            self.model = TorchAttentionCaptioner(word_to_idx, input_dim, wordvec_dim, hidden_dim, positions,
                                                 dtype=self.dtype, seed=seed, grounding=grounding).to(dist.device)
        else:
            self.model = TorchCaptioningRNN(word_to_idx, input_dim, wordvec_dim, hidden_dim, cell,
                                            dtype=self.dtype, seed=seed).to(dist.device)
        self.net = self.model
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            # On a GPU, this process's own (cuda:LOCAL_RANK); DDP would otherwise assume the current device.
            gpu = [dist.device.index] if dist.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=gpu, output_device=gpu[0] if gpu else None)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        self.average = WeightAverage(average) if average else None

    def _tensors(self, features: np.ndarray, captions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        f = torch.as_tensor(features, dtype=self.dtype).to(self.dist.device)
        c = torch.as_tensor(captions, dtype=torch.long).to(self.dist.device)
        return f, c

    def train_step(self, features: np.ndarray, captions: np.ndarray, lr: float, global_n: int,
                   targets: np.ndarray | None = None) -> float:
        """One Adam step on this process's share of a global batch of `global_n` captions (targets: the
        grounding's boxes, (n, T, L), or None)."""
        for g in self.opt.param_groups:
            g["lr"] = lr
        n = len(captions)
        if n == 0:  # a last batch smaller than the number of processes: join the gradient sync with weight 0
            features = np.zeros((1, self.model.input_dim))
            captions = np.array([[self.model.word_to_idx["<START>"], self.model.word_to_idx["<END>"]]])
            targets = None
        f, c = self._tensors(features, captions)
        # through the DDP wrapper, so backward averages gradients over processes
        total = summed_loss(self.net, self.model, f, c, targets) * (n > 0)
        # DDP averages gradients over processes; scaling each process's sum by world / global_n makes that
        # average the gradient of (sum over the global batch) / global_n, the one-process loss, whatever the
        # size of each share.
        loss = total * (self.dist.world_size / global_n)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.average is not None:
            with torch.no_grad():
                self.average.update(dict(self.model.named_parameters()))
        return self.dist.all_sum(float(total.detach())) / global_n

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """The averaged weights in the model for the block (the trained ones when not averaging)."""
        params = dict(self.model.named_parameters())
        if _average_or(self.average, params) is params:
            yield
            return
        with torch.no_grad():
            trained = {k: p.detach().clone() for k, p in params.items()}
            for k, p in params.items():
                p.copy_(self.average.values[k])
        try:
            yield
        finally:
            with torch.no_grad():
                for k, p in params.items():
                    p.copy_(trained[k])

    @torch.no_grad()
    def eval_loss(self, features: np.ndarray, captions: np.ndarray, targets: np.ndarray | None = None) -> float:
        f, c = self._tensors(features, captions)
        with self.averaged():
            return float(self.model.loss(f, c, *_grounded(targets)))

    def sample(self, features: np.ndarray, max_length: int) -> np.ndarray:
        f = torch.as_tensor(features, dtype=self.dtype).to(self.dist.device)
        with self.averaged():
            return self.model.sample(f, max_length).cpu().numpy()

    def numpy_params(self) -> dict[str, np.ndarray]:
        with self.averaged():
            return self.model.to_numpy_params()

    def state(self) -> dict:
        record = {"transformer": self.model.record()} if isinstance(self.model, TransformerCaptioner) else {}
        train = {k: v.detach().cpu().clone() for k, v in self.model.named_parameters()}
        params = {k: v.detach().cpu().clone() for k, v in _average_or(self.average, train).items()}
        return {"params": params, "optimizer": self.opt.state_dict(), **record,
                **({"train_params": train} if self.average else {})}

    def load_state(self, state: dict) -> None:
        like = self.model.to_numpy_params()
        if self.average is not None:
            device = next(self.model.parameters()).device
            self.average.values = {k: torch.from_numpy(v).to(device)
                                   for k, v in _numpy_params(state, like).items()}
        self.model.from_numpy_params(_numpy_params(state, like, _trained_key(state, self.average)))
        if state.get("optimizer"):
            self.opt.load_state_dict(state["optimizer"])


def _average_or(average: WeightAverage | None, trained: dict) -> dict:
    """The running average's weights once it has any, else `trained`."""
    return trained if average is None or average.values is None else average.values


def _grounded(targets: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """`loss`'s extra argument: the grounding targets when there are any (only attention models take them)."""
    return () if targets is None else (targets,)


def _trained_key(state: dict, average: WeightAverage | None) -> str:
    """Where a checkpoint keeps the weights being trained: `params`, unless they are an average."""
    if average is not None and "train_params" not in state:
        raise CheckpointError("the checkpoint has no train_params: it was not trained with weight averaging")
    return "train_params" if average is not None else "params"


def _numpy_params(state: dict, like: dict[str, np.ndarray], key: str = "params") -> dict[str, np.ndarray]:
    """Checkpoint tensors -> numpy arrays of the model's dtypes, refusing shapes of another model."""
    params = state.get(key, {})
    out = {}
    for k, ref in like.items():
        if k not in params:
            raise CheckpointError(f"checkpoint has no parameter {k!r}")
        v = params[k].detach().cpu().numpy()
        if v.shape != ref.shape:
            raise CheckpointError(f"checkpoint parameter {k} has shape {v.shape}, this model needs "
                                  f"{ref.shape}")
        out[k] = v.astype(ref.dtype, copy=True)
    return out
