"""Device selection and seeding shared by every command (nothing assumes CUDA)."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from .errors import ConfigError, SettingError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device that is missing is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SettingError("device", f"{name}: CUDA is not available here (use cpu or auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SettingError("device", "mps: MPS is not available here (use cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda or mps") from e


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so a run is reproducible from its config."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


DETERMINISTIC_HELP = ("deterministic kernels (no atomics, fixed cuBLAS workspace, no cuDNN autotuning), so a run "
                      "resumed on a GPU ends bitwise like an uninterrupted one; slower on GPUs, no effect on "
                      "results on the CPU")
"""The help of every job's ``deterministic`` setting."""


@contextlib.contextmanager
def deterministic(enabled: bool = True) -> Iterator[None]:
    """Run the body with torch's deterministic algorithms (GPU results independent of scheduling), then restore
    the previous mode, so one job's choice does not leak into the next one in a server or a tour.

    On CUDA that means: ``torch.use_deterministic_algorithms`` (scatter/index_add without atomics, cuDNN's
    deterministic convolutions), cuDNN autotuning off (it may pick another algorithm after a resume), and the
    cuBLAS workspace fixed by ``CUBLAS_WORKSPACE_CONFIG=:4096:8``, which cuBLAS reads when its handle is made:
    set here before any CUDA work of the job (a process that already ran CUDA matmuls keeps its handle: set
    the variable before starting it). An op without a deterministic kernel warns (`warn_only`) rather than
    failing a long run. On the CPU vislab's kernels are deterministic already; nothing changes."""
    if not enabled:
        yield
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


def rng_state() -> dict:
    """All global RNG states, in a form `torch.save` stores and `torch.load(weights_only=True)` reads."""
    np_state = np.random.get_state()
    state = {
        "python": _python_state_to_tensor(),
        "python_gauss": _python_gauss(),
        # device: cpu-ok (RNG state for a checkpoint)
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "numpy_has_gauss": int(np_state[3]),
        "numpy_gauss": float(np_state[4]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # This process's GPU only: `get_rng_state_all` would start a CUDA context on every GPU of the machine
        # (under torchrun, in every process), and a CPU run on a GPU machine would start one for nothing.
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` returned."""
    _python_state_from_tensor(state["python"], state.get("python_gauss", float("nan")))
    np.random.set_state(
        ("MT19937", state["numpy_keys"].numpy().astype(np.uint32), int(state["numpy_pos"]),
         int(state["numpy_has_gauss"]), float(state["numpy_gauss"]))
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if isinstance(cuda, (list, tuple)):  # checkpoints before issue 21: every GPU's state
            torch.cuda.set_rng_state_all(cuda)
        else:
            torch.cuda.set_rng_state(cuda)


def _python_state_to_tensor() -> torch.Tensor:
    # weights_only loading accepts tensors, not tuples of Python ints: the 625 state words as int64.
    # device: cpu-ok (RNG state for a checkpoint)
    return torch.tensor(list(random.getstate()[1]), dtype=torch.int64)


def _python_gauss() -> float:
    gauss = random.getstate()[2]
    return float("nan") if gauss is None else float(gauss)


def _python_state_from_tensor(t: torch.Tensor, gauss: float) -> None:
    random.setstate((3, tuple(int(v) for v in t.tolist()), None if gauss != gauss else gauss))
