"""The demo's GAN picture: real digits from the shipped generator beside a short training run of one's own.

    figure = shipped_beside_run("runs/tour/07-gan")   # demo.png (and shipped_samples.png) in that folder

A few hundred CPU steps cannot make MNIST digits (and offline the run may only have scikit-learn's 8x8 digits),
so the picture shows what a trained DCGAN draws (the shipped generator, `shipped`) next to what this run drew
and its loss curves, each panel saying which data it comes from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .. import runs
from ..images import load_image, save_image
from .evaluate import generate
from .outputs import grid_of, to_pixels
from .shipped import PROVENANCE_PATH, open_shipped

SHIPPED_GRID = "shipped_samples.png"
DEMO_FIGURE = "demo.png"
DATA_WORDS = {"mnist": "MNIST", "digits": "scikit-learn 8x8 digits, not MNIST"}


def shipped_beside_run(run_dir: str | Path, *, n: int = 64, seed: int = 0,
                       device: torch.device | str = "cpu") -> Path:
    """Write `n` shipped-generator samples (shipped_samples.png) and demo.png into the finished `gan train` run
    folder `run_dir`; return demo.png's path."""
    run_dir = Path(run_dir)
    g = open_shipped(device)
    grid = grid_of(to_pixels(generate(g.generator, g.settings.noise_dim, n, seed=seed, device=device)))
    save_image(grid, run_dir / SHIPPED_GRID)
    own = run_dir / "samples.png"
    config = runs.read_config(run_dir)
    return _figure(grid, load_image(own) if own.is_file() else None, runs.read_metrics(run_dir), config,
                   run_dir / DEMO_FIGURE)


def shipped_score() -> str:
    """The shipped generator's recorded MNIST score, as the figure quotes it ("" when not recorded)."""
    try:
        facts = json.loads(PROVENANCE_PATH.read_text())
        return f"MNIST score {facts['mnist_score']:.2f} of 10 ({facts['scored_samples']} samples)"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _figure(shipped: torch.Tensor, own: torch.Tensor | None, rows: list[dict[str, Any]], config: dict[str, Any],
            path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import save_figure

    losses = [r for r in rows if "d_loss" in r and "g_loss" in r]
    data = DATA_WORDS.get(str(config.get("dataset")), str(config.get("dataset", "unknown data")))
    steps = max((int(r.get("step", 0)) for r in losses), default=0)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3), dpi=100, gridspec_kw={"width_ratios": [1, 1, 1.3]})
    panels = [(shipped, f"shipped DCGAN generator, trained on MNIST\n{shipped_score()}"),
              (own, f"this run: {steps} steps on\n{data}")]
    for ax, (img, title) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        ax.axis("off")
        if img is not None:
            ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax = axes[2]
    if losses:
        xs = [r["step"] for r in losses]
        ax.plot(xs, [r["d_loss"] for r in losses], label="discriminator", lw=1)
        ax.plot(xs, [r["g_loss"] for r in losses], label="generator", lw=1)
        ax.legend(fontsize=8)
    ax.set_title(f"this run's losses ({data})", fontsize=10)
    ax.set_xlabel("step")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
