"""Training loop for both engines: Adam with per-epoch lr decay, validation loss and BLEU on generated
captions, metrics.jsonl, a loss/score plot, and checkpoints that resume exactly.

Batch order is a pure function of (seed, epoch), so a run resumed at any checkpointed step sees the same
batches as an uninterrupted one and ends with the same weights (bitwise, on a CPU).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import devices, runs
from ..distributed import DistInfo, setup, teardown, torchrun_world_size
from ..errors import CheckpointError, ConfigError
from ..fileio import atomic_path
from . import checkpoint as ckpt
from .data import CaptionData
from .engines import DTYPES, NumpyEngine, TorchEngine
from .features import FeatureTransform
from .metrics import caption_scores
from .model import CELL_TYPES

ENGINES = ("numpy", "torch")


@dataclass
class TrainConfig:
    """Every training setting; stored in config.json and in checkpoints."""

    data: str = "shapes"
    cell: str = "lstm"
    engine: str = "numpy"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 5e-3
    lr_decay: float = 0.9  # lr of epoch e = lr * lr_decay ** e
    hidden_dim: int = 256
    wordvec_dim: int = 128
    seed: int = 0
    max_length: int = 16  # words per caption (longer ones are cut)
    min_count: int = 1  # words seen fewer times in the train split become <UNK>
    pca_dim: int | None = None
    dtype: str = "float32"
    device: str = "auto"  # torch engine only
    save_every: int = 0  # also checkpoint every this many steps (0: at the end of each epoch only)
    log_every: int = 10  # steps per logged training-loss row
    eval_images: int = 500  # validation images captioned after each epoch for BLEU (0: all)
    feature_spec: dict | None = None  # filled in from the data: backbone, weights, image size, layer, grid

    def check(self) -> None:
        if self.cell not in CELL_TYPES:
            raise ConfigError(f"--cell {self.cell}: use one of {', '.join(CELL_TYPES)}")
        if self.engine not in ENGINES:
            raise ConfigError(f"--engine {self.engine}: use numpy or torch")
        if self.dtype not in DTYPES:
            raise ConfigError(f"--dtype {self.dtype}: use float32 or float64")
        for name in ("epochs", "batch_size", "hidden_dim", "wordvec_dim", "max_length", "min_count",
                     "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)) or not 0 < self.lr_decay <= 1:
            raise ConfigError(f"--lr must be > 0 and --lr-decay in (0, 1], got {self.lr} and {self.lr_decay}")

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainResult:
    run_dir: Path
    params: dict[str, np.ndarray]
    losses: list[float] = field(default_factory=list)  # training loss of every step run in this call
    val: dict[str, float] = field(default_factory=dict)  # last epoch's validation metrics
    seconds: float = 0.0


def train(data: CaptionData, cfg: TrainConfig, run_dir: str | Path, *, resume: dict | None = None,
          on_step: Callable[[int, bool], None] | None = None, progress: bool = True) -> TrainResult:
    """Train on ``data``'s train split, validating on its val split after each epoch; write into `run_dir`.

    `resume` is a checkpoint state (`checkpoint.read`) to continue from. `on_step(step, saved)` is called
    after every step (`saved`: a checkpoint was just written); tests use it to interrupt a run.
    """
    cfg.check()
    if cfg.feature_spec is None and data.feature_spec is not None:
        cfg.feature_spec = data.feature_spec.as_dict()  # so the checkpoint can caption new images
    run_dir = Path(run_dir)
    t0 = time.perf_counter()
    if cfg.engine == "numpy":
        if torchrun_world_size() > 1:
            raise ConfigError("torchrun runs several processes, which needs --engine torch")
        dist = DistInfo()
    else:
        dist = setup(devices.resolve_device(cfg.device))
    try:
        return _train(data, cfg, run_dir, dist, resume, on_step, progress, t0)
    finally:
        teardown(dist)


def _train(data, cfg, run_dir, dist, resume, on_step, progress, t0) -> TrainResult:
    train_rows = data.split_captions("train")
    val_images = data.splits.get("val", np.zeros(0, np.int64))  # may be empty: then no validation
    if cfg.eval_images:
        val_images = val_images[:cfg.eval_images]
    val_rows = np.flatnonzero(np.isin(data.image_idxs, val_images))

    if resume is not None:
        transform = FeatureTransform.from_state(resume["features"]["transform"])
    else:
        transform = FeatureTransform.fit(data.features[data.split_images("train")], cfg.pca_dim)
    feats = transform(data.features)

    devices.seed_everything(cfg.seed)
    args = (data.vocab.word_to_idx, transform.output_dim, cfg.wordvec_dim, cfg.hidden_dim, cfg.cell,
            cfg.dtype, cfg.seed)
    engine = NumpyEngine(*args) if cfg.engine == "numpy" else TorchEngine(*args, dist=dist)

    per_epoch = math.ceil(len(train_rows) / cfg.batch_size)
    epoch = batch = step = 0
    if resume is not None:
        if resume["vocab"] != data.vocab.idx_to_word:
            raise CheckpointError("the checkpoint's vocabulary differs from the data's (another dataset?)")
        engine.load_state(resume)
        epoch, batch, step = (int(resume["progress"][k]) for k in ("epoch", "batch", "step"))
        devices.set_rng_state(resume["rng"])

    if dist.is_main:
        runs.write_config(run_dir, asdict(cfg), resume=resume is not None)
    log = runs.MetricsLog(run_dir, resume_step=step if resume is not None else None) if dist.is_main else None

    def save() -> None:
        if dist.is_main:
            state = {
                "config": asdict(cfg),
                "model": {"cell_type": cfg.cell, "input_dim": transform.output_dim,
                          "wordvec_dim": cfg.wordvec_dim, "hidden_dim": cfg.hidden_dim, "dtype": cfg.dtype},
                **engine.state(),
                "vocab": list(data.vocab.idx_to_word),
                "features": {"spec": cfg.feature_spec, "transform": transform.state(), "source": data.source},
                "progress": {"epoch": epoch, "batch": batch, "step": step},
                "rng": devices.rng_state(),
            }
            runs.save_checkpoint(state, run_dir / ckpt.FILENAME, kind=ckpt.KIND)
        dist.barrier()

    result = TrainResult(run_dir, {})
    bar = tqdm(total=cfg.epochs * per_epoch, initial=step, desc=f"train {cfg.cell} ({cfg.engine})",
               unit="step", disable=not (progress and dist.is_main), dynamic_ncols=True)
    window: list[float] = []
    try:
        while epoch < cfg.epochs:
            lr = cfg.lr * cfg.lr_decay ** epoch
            order = train_rows[np.random.default_rng([cfg.seed, epoch]).permutation(len(train_rows))]
            while batch < per_epoch:
                rows = order[batch * cfg.batch_size:(batch + 1) * cfg.batch_size]
                mine = np.array_split(rows, dist.world_size)[dist.rank]  # this process's share
                loss = engine.train_step(feats[data.image_idxs[mine]], data.captions[mine], lr, len(rows))
                if not math.isfinite(loss):
                    raise ConfigError(f"training diverged (loss {loss}) at step {step + 1}; try a smaller "
                                      "--lr")
                batch += 1
                step += 1
                result.losses.append(loss)
                window.append(loss)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}")
                if log is not None and (step % cfg.log_every == 0 or batch == per_epoch):
                    log.log(step, epoch=epoch + 1, loss=float(np.mean(window)), lr=lr)
                    window = []
                saved = end_of_epoch = batch == per_epoch
                if end_of_epoch:
                    result.val = _validate(engine, data, feats, val_images, val_rows, cfg)
                    if log is not None:
                        log.log(step, epoch=epoch + 1, **{f"val_{k}": v for k, v in result.val.items()})
                    epoch, batch = epoch + 1, 0
                    save()
                    if dist.is_main:
                        save_curves(run_dir)
                elif cfg.save_every and step % cfg.save_every == 0:
                    save()
                    saved = True
                if on_step is not None:
                    on_step(step, saved)
                if end_of_epoch:
                    break
    finally:
        bar.close()
    result.params = {k: v.copy() for k, v in engine.numpy_params().items()}
    result.seconds = time.perf_counter() - t0
    return result


def _validate(engine, data: CaptionData, feats: np.ndarray, val_images: np.ndarray, val_rows: np.ndarray,
              cfg: TrainConfig) -> dict[str, float]:
    """Teacher-forced loss on the val captions, and BLEU/CIDEr-D of greedy captions of the val images."""
    if len(val_images) == 0:
        return {}
    total = 0.0
    for start in range(0, len(val_rows), 512):
        rows = val_rows[start:start + 512]
        total += engine.eval_loss(feats[data.image_idxs[rows]], data.captions[rows]) * len(rows)
    out = {"loss": total / max(len(val_rows), 1)}
    hyps = []
    for start in range(0, len(val_images), 512):
        ids = engine.sample(feats[val_images[start:start + 512]], cfg.max_length + 1)
        hyps += data.vocab.decode_batch(ids)
    scores = caption_scores([data.references[i] for i in val_images], hyps)
    out.update({k.lower().replace("-", "").replace("ciderd", "cider_d"): v for k, v in scores.items()})
    return out


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
