"""Peak-memory estimates for the GAN jobs, so sizes that cannot fit are refused before any work.

Network sizes come from building the pair on PyTorch's "meta" device (shapes only, no memory) and running one
forward there, so the estimates follow the real architectures instead of a hand-kept table.
"""

from __future__ import annotations

import functools
import math

import torch

from ..errors import ConfigError
from ..jobs import SettingError
from ..machine import check_memory, format_bytes
from .models import IMAGE_SIZE, build_pair

PIXELS = IMAGE_SIZE * IMAGE_SIZE
FLOAT = 4
SCORED_BYTES = PIXELS * FLOAT * 2 + (128 + 10) * 8 * 2
"""Per scored sample: the generated image (and its float copy) plus features and probabilities in float64."""

GRID_TILE = IMAGE_SIZE + 2  # make_grid's padding


@functools.lru_cache(maxsize=16)
def network_sizes(arch: str, noise_dim: int) -> tuple[int, int, int, int]:
    """(generator parameters, discriminator parameters, generator and discriminator activations per sample)."""
    with torch.device("meta"):
        G, D = build_pair(arch, noise_dim)
    a2, a4 = _activations(G, D, 2, noise_dim), _activations(G, D, 4, noise_dim)
    per_g, per_d = (a4[0] - a2[0]) // 2, (a4[1] - a2[1]) // 2
    return (sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters()), per_g, per_d)


def _activations(G: torch.nn.Module, D: torch.nn.Module, batch: int, noise_dim: int) -> tuple[int, int]:
    counts = [0, 0]
    hooks = [m.register_forward_hook(lambda *a, i=i: counts.__setitem__(i, counts[i] + a[2].numel()))
             for i, net in enumerate((G, D)) for m in net.children()]
    try:
        with torch.device("meta"), torch.no_grad():
            # device: cpu-ok (inside torch.device('meta'): shapes only)
            D(G(torch.zeros(batch, noise_dim)))
    finally:
        for h in hooks:
            h.remove()
    return counts[0], counts[1]


def train_bytes(arch: str, noise_dim: int, batch_rows: int, images: int, eval_samples: int) -> dict[str, int]:
    """Peak bytes of one training process, by the setting that drives each part."""
    pg, pd, ag, ad = network_sizes(arch, noise_dim)
    return {
        # weights, gradients and Adam's two moments for both networks, plus the generator's weight average
        "noise_dim": FLOAT * (4 * (pg + pd) + pg),
        # activations kept for backward and their gradients: G once, D on real+fake and again on fake
        "batch_size": 2 * FLOAT * batch_rows * (ag + 3 * ad + noise_dim),
        "eval_samples": eval_samples * SCORED_BYTES,
        "data": 2 * images * PIXELS,  # uint8 images, on the host and on the device
    }


def grid_side(n: int) -> int:
    """Pixels per side of the square grid of `n` samples."""
    return math.ceil(math.sqrt(n)) * GRID_TILE + 2


def sample_bytes(n: int) -> int:
    """Samples (float, with make_grid's 3-channel copy and scaling temporaries) and the grid image (float,
    numpy copy, uint8 and the encoder's copy)."""
    return n * PIXELS * FLOAT * 6 + 3 * grid_side(n) ** 2 * 14


def eval_bytes(n: int) -> int:
    return n * SCORED_BYTES


def refuse_if_too_big(setting: str, value: int, needed: int, what: str, device: torch.device) -> None:
    """Raise `SettingError(setting)` when `needed` bytes exceed the free host memory (or GPU memory for
    CUDA), with the estimate in the message."""
    try:
        check_memory(needed, what)
        if device.type == "cuda":
            free = torch.cuda.mem_get_info(device)[0]
            if needed > free:
                raise ConfigError(f"{what} needs about {format_bytes(needed)} of GPU memory but only "
                                  f"{format_bytes(free)} is free on {device}")
    except ConfigError as e:
        raise SettingError(setting, f"{value} is too large: {e}") from None
