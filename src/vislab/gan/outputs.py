"""What GAN runs write besides checkpoints: sample grids, the loss plot, TensorBoard logs; output-file checks."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import runs
from ..fileio import probe_write
from ..images import make_grid, save_image
from ..jobs import SettingError
from .models import IMAGE_SIZE

IMAGE_SUFFIXES = {".png": None, ".jpg": 65535, ".jpeg": 65535, ".webp": 16383, ".bmp": None, ".tif": None,
                  ".tiff": None}
"""Image formats `save_image` writes, with the largest side each format can hold (None: no practical limit)."""


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Generator outputs (N, 784) in [-1, 1] -> images (N, 1, 28, 28) in [0, 1]."""
    return ((x.float().cpu() + 1) / 2).clamp(0, 1).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)


def grid_of(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) images in [0, 1] tiled into one square-ish (3, H, W) grid."""
    return make_grid(images, nrow=math.ceil(math.sqrt(images.shape[0])))


GRID_PADDING = 2  # make_grid's default, between tiles and around the grid


def grid_tiles(grid: torch.Tensor, n: int) -> torch.Tensor:
    """`grid_of`'s inverse: the first `n` tiles of a (3, H, W) grid in [0, 1] (a saved samples.png, loaded)
    as generator outputs (n, 784) in [-1, 1], to score a picture file with the MNIST scorer."""
    side, step = math.ceil(math.sqrt(n)), IMAGE_SIZE + GRID_PADDING
    rows = math.ceil(n / side)
    if grid.dim() != 3 or grid.shape[-2] < rows * step or grid.shape[-1] < side * step:
        raise ValueError(f"a grid of {n} samples is at least {side * step}x{rows * step} px, got "
                         f"{tuple(grid.shape)}")
    gray = grid.mean(0)
    tiles = [gray[GRID_PADDING + r * step:, GRID_PADDING + c * step:][:IMAGE_SIZE, :IMAGE_SIZE]
             for r, c in (divmod(i, side) for i in range(n))]
    return torch.stack(tiles).reshape(n, -1) * 2 - 1


@torch.no_grad()
def sample_grid(G: nn.Module, z: torch.Tensor, device: torch.device | str = "cpu",
                nrow: int | None = None) -> torch.Tensor:
    """Images of G(z) tiled into one (3, H, W) grid in [0, 1] (BatchNorm in eval mode; G's mode restored)."""
    was = G.training
    G.eval()
    x = to_pixels(G(z.to(device)))
    G.train(was)
    return make_grid(x, nrow=nrow or math.ceil(math.sqrt(x.shape[0])))


def save_grid(G: nn.Module, z: torch.Tensor, device: torch.device, run: Path, step: int, writer: Any) -> Path:
    """samples/step-NNNNNN.png and samples.png (the latest), and the grid in TensorBoard."""
    grid = sample_grid(G, z, device)
    save_image(grid, run / "samples" / f"step-{step:06d}.png")
    if writer is not None:
        writer.add_image("samples", grid, step)
    return save_image(grid, run / "samples.png")


def plot_losses(run: str | Path) -> Path | None:
    """losses.png: discriminator and generator loss against step, from metrics.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import save_figure

    rows = [r for r in runs.read_metrics(run) if "d_loss" in r]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["d_loss"] for r in rows], label="discriminator", lw=1)
    ax.plot(steps, [r["g_loss"] for r in rows], label="generator", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, Path(run) / "losses.png")


def tensorboard_writer(run: Path | None) -> Any:
    """A SummaryWriter logging into RUN/tensorboard (None for `run` None: only checks the package is there)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise SettingError("tensorboard", "needs the tensorboard package: pip install 'vislab[tensorboard]'") from e
    return None if run is None else SummaryWriter(log_dir=str(run / "tensorboard"))


def check_output_file(setting: str, path: str | os.PathLike, side: int) -> Path:
    """Refuse, before any work, an image output that cannot be written: unknown format, a grid too large for
    it, a folder in its place, a missing or read-only folder (tried with a temporary file)."""
    p = Path(path)
    if p.is_dir():
        raise SettingError(setting, f"{p}: is a folder, not an image file name")
    limit = IMAGE_SUFFIXES.get(p.suffix.lower(), 0)
    if limit == 0:
        raise SettingError(setting, f"{p}: unsupported image suffix {p.suffix!r} (use one of "
                                    f"{', '.join(IMAGE_SUFFIXES)})")
    if limit is not None and side > limit:
        raise SettingError(setting, f"{p}: a {side}x{side} grid is larger than {p.suffix} allows ({limit} "
                                    "pixels a side); use .png or fewer samples")
    folder = p.parent
    if not folder.is_dir():
        raise SettingError(setting, f"{p}: the folder {folder} does not exist")
    try:
        probe_write(folder)
    except OSError as e:
        raise SettingError(setting, f"{p}: cannot write into {folder} ({e.strerror or e})") from None
    return p

