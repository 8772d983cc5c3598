"""``curves.png`` of a captioning run: training/validation loss by step, validation BLEU-4 and CIDEr-D by epoch."""

from __future__ import annotations

from pathlib import Path

from .. import runs
from ..fileio import atomic_path


def save_curves(run_dir: str | Path) -> Path | None:
    """``curves.png``: training/validation loss by step; validation BLEU-4 and CIDEr-D by epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = runs.read_metrics(run_dir)
    train_rows = [r for r in rows if "loss" in r]
    val_rows = [r for r in rows if "val_loss" in r]
    if not train_rows:
        return None
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot([r["step"] for r in train_rows], [r["loss"] for r in train_rows], label="train", lw=1)
    a.plot([r["step"] for r in val_rows], [r["val_loss"] for r in val_rows], "o-", label="val", ms=3)
    a.set_yscale("log")  # the first steps' loss is ~10x the final one
    a.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    a.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    a.set_xlabel("step")
    a.set_ylabel("loss per caption")
    a.legend()
    epochs = [r["epoch"] for r in val_rows if "val_bleu4" in r]
    b.plot(epochs, [r["val_bleu4"] for r in val_rows if "val_bleu4" in r], "o-", ms=3, color="C0")
    b.set_xlabel("epoch")
    b.set_ylabel("val BLEU-4", color="C0")
    c = b.twinx()  # CIDEr-D has its own range (pycocoevalcap's scale goes past 1)
    c.plot(epochs, [r["val_cider_d"] for r in val_rows if "val_bleu4" in r], "s--", ms=3, color="C1")
    c.set_ylabel("val CIDEr-D", color="C1")
    fig.tight_layout()
    path = Path(run_dir) / "curves.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
