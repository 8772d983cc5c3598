"""Figures people can read: class names and probabilities in titles, colour bars on heatmaps.

matplotlib's object API with the Agg canvas (no display needed); every figure is written atomically by
`vislab.fileio.save_figure`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..fileio import save_figure


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _hwc(img: torch.Tensor) -> np.ndarray:
    return img.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()


def _show(ax, img: torch.Tensor, title: str) -> None:
    ax.imshow(_hwc(img))
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def display_max(heat: torch.Tensor, quantile: float = 0.99) -> float:
    """Top of the colour scale for a saliency map: its 99th percentile, so that a few extreme pixels do not
    leave everything else black (the colour bar marks the clipped range)."""
    h = heat.detach().float().flatten()
    top = float(torch.quantile(h, quantile)) if h.numel() else 0.0
    return top if top > 0 else (float(h.max()) if h.numel() and h.max() > 0 else 1.0)


def saliency_figure(image: torch.Tensor, heat: torch.Tensor, path: str | os.PathLike, *, image_title: str,
                    map_title: str, colorbar_label: str, cmap: str = "inferno") -> Path:
    """image | heatmap with a colour bar | heatmap over the image."""
    h = heat.detach().float().cpu()
    top = display_max(h)
    fig = _figure(11, 3.9)
    axes = fig.subplots(1, 3)
    _show(axes[0], image, image_title)
    im = axes[1].imshow(h.numpy(), cmap=cmap, vmin=0, vmax=top)
    axes[1].set_title(map_title, fontsize=10)
    axes[1].axis("off")
    extend = "max" if h.max() > top else "neither"
    cbar = fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.02, extend=extend)
    cbar.set_label(colorbar_label, fontsize=9)
    axes[2].imshow(_hwc(image))
    axes[2].imshow(h.numpy(), cmap=cmap, alpha=0.55, vmin=0, vmax=top)
    axes[2].set_title("overlay", fontsize=10)
    axes[2].axis("off")
    return save_figure(fig, path)


def fooling_figure(original: torch.Tensor, fooling: torch.Tensor, path: str | os.PathLike, *,
                   original_title: str, fooling_title: str, linf: float, l2: float) -> Path:
    """original | fooling image | their difference, magnified so the largest change spans half the range.
    `linf` and `l2` are the change in [0, 1] pixel units (shown in 0-255 levels, as people count them)."""
    diff = (fooling.detach().float().cpu() - original.detach().float().cpu())
    peak = float(diff.abs().max())
    gain = 0.5 / peak if peak > 0 else 1.0
    h, w = original.shape[-2:]
    fig = _figure(11, 11 / 3 * h / w + 0.7)  # three panels of the image's shape, plus room for the titles
    axes = fig.subplots(1, 3)
    _show(axes[0], original, original_title)
    _show(axes[1], fooling, fooling_title)
    _show(axes[2], (0.5 + gain * diff).clamp(0, 1),
          f"difference x{gain:.0f} (gray = 0)\nL-inf {linf * 255:.0f}/255, L2 {l2 * 255:.0f} (0-255 units)")
    return save_figure(fig, path)


def dream_figure(image: torch.Tensor, path: str | os.PathLike, *, title: str, steps: Sequence[int] = (),
                 probs: Sequence[float] = (), target_name: str = "", ylabel: str | None = None) -> Path:
    """The synthesized image, and (when given) the target's probability over the optimization (`ylabel`:
    any other objective's values, on their own scale)."""
    curve = len(steps) > 0
    fig = _figure(9.5 if curve else 5, 4.6)
    axes = fig.subplots(1, 2 if curve else 1, width_ratios=(1, 1) if curve else None)
    ax_img = axes[0] if curve else axes
    _show(ax_img, image, title)
    if curve:
        ax = axes[1]
        ax.plot(list(steps), list(probs), color="tab:blue")
        ax.set_xlabel("step")
        if ylabel is None:
            ax.set_ylim(0, 1.02)
        ax.set_ylabel(ylabel or (f"p({target_name})" if target_name else "target probability"))
        ax.set_title(f"{ylabel or 'target probability'} during optimization", fontsize=10)
        ax.grid(alpha=0.3)
    return save_figure(fig, path)
