"""The DCGAN MNIST generator that ships in vislab/assets: what `gan sample` and `gan eval` use with no checkpoint.

    g = open_shipped("cpu")                      # a `LoadedGenerator`, like `checkpoint.open_generator`'s
    export_generator("runs/dcgan", SHIPPED_PATH, rank=128)   # how the file was made (quality/export_generator.py)

The file holds the generator's weights only (no discriminator, optimizers or RNG states), in float16, read with
``torch.load(weights_only=True)``. The DCGAN generator has 6.7 M weights, 6.4 M of them in one 6272x1024 matrix:
13 MB in float16, so that matrix is stored as the product of two thin factors (its truncated SVD, `rank`
columns), which keeps the file under 3 MB; the samples' MNIST score is measured on the weights as stored
(the provenance JSON beside the file records it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import runs
from ..errors import CheckpointError
from ..jobs import SettingError
from .checkpoint import LoadedGenerator, open_generator, saved_settings
from .models import build_pair
from .settings import GanTrainSettings

SHIPPED = "shipped"
"""The `checkpoint` setting that means the shipped generator (also its default)."""

KIND = "gan-generator"
SHIPPED_PATH = Path(__file__).resolve().parent.parent / "assets" / "generator-dcgan-mnist-v1.pt"
PROVENANCE_PATH = SHIPPED_PATH.with_suffix(".json")


def is_shipped(checkpoint: str | Path | None) -> bool:
    """None or "shipped" (a file or folder of that name is given as ./shipped)."""
    return checkpoint is None or str(checkpoint) == SHIPPED


def open_shipped(device: torch.device | str = "cpu", *, raw: bool = False,
                 path: str | Path | None = None) -> LoadedGenerator:
    """The shipped generator (eval mode), its training settings and its file's state."""
    if raw:
        raise SettingError("raw", "is not available for the shipped generator (it keeps only its weight "
                                  "average); train a run with 'vislab gan train' for a raw one")
    p = Path(path) if path is not None else SHIPPED_PATH
    state = runs.load_checkpoint(p, kind=KIND)
    settings = saved_settings(state, p)
    G, _ = build_pair(settings.arch, settings.noise_dim, spectral_norm=settings.spectral_norm)
    try:
        G.load_state_dict(unpack(state["generator"]))
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{p}: the shipped generator's weights do not fit its settings ({e})") from e
    state["sampled_from"] = str(state.get("sampled_from", "ema"))
    return LoadedGenerator(G.to(device).eval(), settings, state, p)


def export_generator(checkpoint: str | Path, path: str | Path, *, rank: int | None = None,
                     provenance: dict[str, Any] | None = None) -> Path:
    """Write `checkpoint`'s generator (its weight average when it kept one) the shipped way: float16, the
    largest matrix as two factors of `rank` columns (None: stored whole)."""
    g = open_generator(checkpoint, "cpu")
    config = {k: v for k, v in g.settings.to_dict().items() if k in GanTrainSettings.DEFAULTS}
    config["data"] = g.dataset  # the name, not the folder it was read from on the training machine
    weights = {k: v.detach().cpu() for k, v in g.generator.state_dict().items()}
    return runs.save_checkpoint({
        "config": config, "generator": pack(weights, rank), "dataset": g.dataset, "step": g.step,
        "sampled_from": g.sampled_from, "provenance": provenance or {},
    }, path, kind=KIND)


def pack(weights: dict[str, torch.Tensor], rank: int | None) -> dict[str, Any]:
    """float16 tensors; with `rank`, the largest 2-D weight as (U * S, V^T), its best rank-`rank` product."""
    big = max((k for k, v in weights.items() if v.ndim == 2), key=lambda k: weights[k].numel(), default=None)
    out: dict[str, Any] = {}
    for k, v in weights.items():
        if k == big and rank is not None and rank < min(v.shape):
            u, s, vh = torch.linalg.svd(v.double(), full_matrices=False)
            out[k] = ((u[:, :rank] * s[:rank]).half(), vh[:rank].half())
        else:
            out[k] = v.half() if v.is_floating_point() else v
    return out


def unpack(packed: dict[str, Any]) -> dict[str, torch.Tensor]:
    """`pack`'s inverse: float32 weights (a factored matrix multiplied out)."""
    out = {}
    for k, v in packed.items():
        if isinstance(v, (tuple, list)):
            a, b = v
            out[k] = a.float() @ b.float()
        else:
            out[k] = v.float() if v.is_floating_point() else v
    return out
