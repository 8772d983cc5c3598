"""Pictures of attacks: clean | adversarial | magnified perturbation rows, and the robustness curve."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..fileio import save_figure
from ..visualize.plots import _figure, _show

MAX_ROWS = 8  # the figure shows the first images; every image has its own PNGs


def perturbation_picture(delta: torch.Tensor) -> torch.Tensor:
    """A perturbation (3, H, W) as a picture: gray is no change, magnified so the largest change spans half the
    range."""
    peak = float(delta.abs().max())
    return (0.5 + delta * (0.5 / peak if peak > 0 else 1.0)).clamp(0, 1)


def attack_figure(clean: torch.Tensor, adv: torch.Tensor, titles: Sequence[tuple[str, str]],
                  path: str | os.PathLike) -> Path:
    """One row per image (the first MAX_ROWS): clean, adversarial, perturbation; `titles` per row."""
    n = min(len(clean), MAX_ROWS)
    fig = _figure(11, 3.9 * n)
    axes = fig.subplots(n, 3, squeeze=False)
    for i in range(n):
        d = (adv[i] - clean[i]).float().cpu()
        _show(axes[i][0], clean[i].cpu(), titles[i][0])
        _show(axes[i][1], adv[i].cpu(), titles[i][1])
        _show(axes[i][2], perturbation_picture(d), f"change (gray = 0)\nL-inf {float(d.abs().max()) * 255:.0f}/255, "
                                                   f"L2 {float(d.norm()):.3f}")
    return save_figure(fig, path)


def curve_figure(eps: Sequence[float], accuracy: Sequence[float], path: str | os.PathLike, *, xlabel: str,
                 title: str, accuracy_8bit: Sequence[float] | None = None) -> Path:
    """Accuracy against budget."""
    fig = _figure(6, 4.2)
    ax = fig.subplots()
    ax.plot(list(eps), list(accuracy), "o-", color="tab:red", label="under attack")
    if accuracy_8bit is not None:
        ax.plot(list(eps), list(accuracy_8bit), "s--", color="tab:blue", alpha=0.7, label="saved as 8-bit PNG")
        ax.legend()
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
