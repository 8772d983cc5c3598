"""The training loop for both engines: Adam with per-epoch lr decay, validation loss and BLEU on generated
captions, metrics.jsonl, a loss/score plot, and checkpoints that resume exactly.

Batch order is a pure function of (seed, epoch), so a run resumed at any checkpointed step sees the same
batches as an uninterrupted one and ends with the same weights (bitwise, on a CPU).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import devices, runs
from ..distributed import DistInfo, setup, teardown, torchrun_world_size
from ..errors import CheckpointError
from ..jobs import JobResult, Progress, SettingError, StopCheck
from . import checkpoint as ckpt
from .attention_shapes import Grounding
from .attention_shapes import grounding as grounding_targets
from .budget import VALIDATION_CHUNK
from .curves import save_curves
from .dataset import CaptionData
from .engines import NumpyEngine, TorchEngine
from .familiarity import Familiarity
from .features import FeatureTransform
from .metrics import caption_scores
from .settings import CaptionTrainSettings


@dataclass
class CaptionTrainResult(JobResult):
    """`steps` done of `total_steps`; `val`: the last epoch's validation metrics; `losses`: the training loss of
    every step run in this call; `params`: the final weights (numpy)."""

    params: dict[str, np.ndarray] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    val: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    total_steps: int = 0
    checkpoint: Path | None = None
    settings: CaptionTrainSettings | None = None  # as trained (a resumed run's own, with the epochs given)
    main: bool = True  # False in the other processes of a torchrun job, which write nothing


@dataclass
class Hooks:
    """Who watches a run: `progress(step, total, **numbers)` after every step, `should_stop()` before every
    step, and `on_step(step, saved)` (`saved`: a checkpoint was just written; tests interrupt runs with it)."""

    progress: Progress
    should_stop: StopCheck | None = None  # None: never (and no per-step vote among torchrun processes)
    on_step: Callable[[int, bool], None] | None = None


@dataclass
class Position:
    epoch: int = 0
    batch: int = 0  # batches done in the current epoch
    step: int = 0


@dataclass
class Training:
    """One run's working state, shared by the loop's steps."""

    data: CaptionData
    settings: CaptionTrainSettings
    run_dir: Path
    dist: DistInfo
    transform: FeatureTransform
    feats: np.ndarray  # transformed features of every image
    engine: NumpyEngine | TorchEngine
    train_rows: np.ndarray  # caption rows of the train split
    val_images: np.ndarray
    val_rows: np.ndarray
    at: Position
    resumed: bool
    log: runs.MetricsLog | None = None  # `open_log`; None outside the main process
    window: list[float] = field(default_factory=list)  # training losses since the last logged row
    familiarity: Familiarity | None = None  # the training images' feature distances, for captioning's warning
    grounding: Grounding | None = None  # the words' boxes, when attention is taught where to look

    def targets(self, rows: np.ndarray) -> np.ndarray | None:
        """The grounding loss's targets for caption rows `rows` (None: no grounding)."""
        return None if self.grounding is None else self.grounding.batch(rows)

    @property
    def per_epoch(self) -> int:
        return math.ceil(len(self.train_rows) / self.settings.batch_size)

    @property
    def total_steps(self) -> int:
        return self.settings.total_epochs * self.per_epoch


@contextlib.contextmanager
def distributed(settings: CaptionTrainSettings) -> Iterator[DistInfo]:
    """The process group under torchrun (torch engine only), a one-process `DistInfo` otherwise."""
    if settings.engine == "numpy":
        if torchrun_world_size() > 1:
            raise SettingError("engine", "must be torch under torchrun (it runs several processes)")
        yield DistInfo()
        return
    with devices.deterministic(settings.deterministic):  # before any CUDA work (cuBLAS's workspace)
        dist = setup(devices.resolve_device(settings.device))
        try:
            yield dist
        finally:
            teardown(dist)


def prepare(data: CaptionData, settings: CaptionTrainSettings, run_dir: Path, dist: DistInfo,
            state: dict | None = None) -> Training:
    """Everything the loop needs: the feature transform (fitted on the train split, or the checkpoint's) and
    the engine (seeded; restored from `state`, a checkpoint, when resuming). Writes nothing: `open_log` then
    starts (or, resuming, trims) metrics.jsonl."""
    s = settings
    val_images = data.splits.get("val", np.zeros(0, np.int64))  # may be empty: then no validation
    if s.eval_images:
        val_images = val_images[:s.eval_images]
    if state is not None:
        transform = FeatureTransform.from_state(state["features"]["transform"])
    else:
        transform = fit_transform(data.features[data.split_images("train")], s.pca_dim,
                                  attention_positions(s, data))
    devices.seed_everything(s.seed)
    args = (data.vocab.word_to_idx, transform.output_dim, s.wordvec_dim, s.hidden_dim, s.cell, s.dtype, s.seed)
    positions = attention_positions(s, data)
    kw = dict(positions=positions, grounding=s.attention_grounding, average=s.ema)  # grounding needs attention
    engine = NumpyEngine(*args, **kw) if s.engine == "numpy" else TorchEngine(*args, dist=dist, **kw)
    at = Position() if state is None else _restore(engine, state, data)
    return Training(data, s, run_dir, dist, transform, transform(data.features), engine,
                    data.split_captions("train"), val_images, np.flatnonzero(np.isin(data.image_idxs, val_images)),
                    at, resumed=state is not None,
                    familiarity=Familiarity.fit(transform, data.features[data.split_images("train")]),
                    grounding=word_boxes(data) if s.attention_grounding else None)


def word_boxes(data: CaptionData) -> Grounding:
    """Which box each training word is taught to look at: only the built-in shapes come with boxes."""
    shapes = data.extra.get("shapes")
    if shapes is None:
        raise SettingError("attention_grounding", f"needs the built-in shapes data (the only captions here with "
                                                  f"boxes); {data.source} has none")
    return grounding_targets(data.captions, data.image_idxs, data.vocab.idx_to_word, shapes.scenes,
                             data.feature_spec.grid)


def fit_transform(x: np.ndarray, pca_dim: int | None, positions: int) -> FeatureTransform:
    """The feature transform fitted on training features; for attention, one mean and std per channel shared by
    every cell (per cell, a corner that is almost always background would get a tiny std and blow up the rare
    shape drawn there)."""
    if not positions:
        return FeatureTransform.fit(x, pca_dim)
    cells = FeatureTransform.fit(x.reshape(-1, x.shape[1] // positions))
    return FeatureTransform(np.tile(cells.mean, positions), np.tile(cells.std, positions))


def attention_positions(s: CaptionTrainSettings, data: CaptionData) -> int:
    """L, the feature cells an attention model looks among (0: no attention)."""
    if not getattr(s, "attention", False):
        return 0
    if data.feature_spec is None or not data.feature_spec.spatial:
        raise SettingError("attention", f"needs images read by a backbone ({data.source} has precomputed features)")
    return data.feature_spec.positions


def open_log(t: Training) -> Training:
    """Start metrics.jsonl in the run folder (main process); a resumed run keeps the rows up to its step."""
    if t.dist.is_main:
        t.log = runs.MetricsLog(t.run_dir, resume_step=t.at.step if t.resumed else None)
    return t


def _restore(engine: NumpyEngine | TorchEngine, state: dict, data: CaptionData) -> Position:
    if state["vocab"] != data.vocab.idx_to_word:
        raise CheckpointError("the checkpoint's vocabulary differs from the data's (another dataset?)")
    try:
        engine.load_state(state)
        devices.set_rng_state(state["rng"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
        raise CheckpointError(f"the checkpoint's optimizer or random state cannot be restored ({e})") from None
    return Position(*(state["progress"][k] for k in ("epoch", "batch", "step")))


def fit(t: Training, hooks: Hooks) -> CaptionTrainResult:
    """Train to `total_epochs`, or until `hooks.should_stop()` (then a checkpoint is written where the run
    stopped, so it can be resumed, and the result says "cancelled")."""
    result = CaptionTrainResult(run_dir=t.run_dir, total_steps=t.total_steps)
    while t.at.epoch < t.settings.total_epochs and result.status == "ok":
        result.status = _epoch(t, hooks, result)
    result.params = {k: v.copy() for k, v in t.engine.numpy_params().items()}
    result.steps = t.at.step
    result.checkpoint = t.run_dir / ckpt.FILENAME
    return result


def _epoch(t: Training, hooks: Hooks, result: CaptionTrainResult) -> str:
    """The rest of the current epoch: "ok", or "cancelled" when asked to stop."""
    s = t.settings
    lr = s.lr * s.lr_decay ** t.at.epoch
    order = t.train_rows[np.random.default_rng([s.seed, t.at.epoch]).permutation(len(t.train_rows))]
    while True:
        if _stop_requested(t, hooks.should_stop):
            save(t)
            _curves(t)
            return "cancelled"
        rows = order[t.at.batch * s.batch_size:(t.at.batch + 1) * s.batch_size]
        loss = _train_step(t, rows, lr)
        result.losses.append(loss)
        saved = _after_step(t, loss, lr, result)
        hooks.progress(t.at.step, t.total_steps, epoch=t.at.epoch + (t.at.batch != 0), loss=loss)
        if hooks.on_step is not None:
            hooks.on_step(t.at.step, saved)
        if t.at.batch == 0:  # `_after_step` moved on to the next epoch
            return "ok"


def _stop_requested(t: Training, should_stop: StopCheck | None) -> bool:
    if should_stop is None:
        return False
    stop = bool(should_stop())
    return t.dist.all_sum(float(stop)) > 0 if t.dist.enabled else stop  # every process stops at the same step


def _train_step(t: Training, rows: np.ndarray, lr: float) -> float:
    mine = np.array_split(rows, t.dist.world_size)[t.dist.rank]  # this process's share
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported below, in one line
        loss = t.engine.train_step(t.feats[t.data.image_idxs[mine]], t.data.captions[mine], lr, len(rows),
                                   t.targets(mine))
    t.at.batch += 1
    t.at.step += 1
    if not math.isfinite(loss):
        raise SettingError("lr", f"{t.settings.lr:g} made training diverge (loss {loss}) at step {t.at.step}; "
                                 "try a lower one")
    return loss


def _after_step(t: Training, loss: float, lr: float, result: CaptionTrainResult) -> bool:
    """Log, and at the end of an epoch validate, checkpoint and plot; returns whether a checkpoint was written."""
    end_of_epoch = t.at.batch == t.per_epoch
    t.window.append(loss)
    if t.log is not None and (t.at.step % t.settings.log_every == 0 or end_of_epoch):
        t.log.log(t.at.step, epoch=t.at.epoch + 1, loss=float(np.mean(t.window)), lr=lr)
        t.window = []
    if end_of_epoch:
        result.val = validate(t)
        if t.log is not None:
            t.log.log(t.at.step, epoch=t.at.epoch + 1, **{f"val_{k}": v for k, v in result.val.items()})
        t.at.epoch, t.at.batch = t.at.epoch + 1, 0
        save(t)
        _curves(t)
        return True
    if t.settings.save_every and t.at.step % t.settings.save_every == 0:
        save(t)
        return True
    return False


def _curves(t: Training) -> None:
    if t.dist.is_main:
        save_curves(t.run_dir)


def save(t: Training) -> None:
    """Write the checkpoint (main process), then wait for every process."""
    if t.dist.is_main:
        runs.save_checkpoint(checkpoint_state(t), t.run_dir / ckpt.FILENAME, kind=ckpt.KIND)
    t.dist.barrier()


def checkpoint_state(t: Training) -> dict[str, Any]:
    s, spec = t.settings, t.data.feature_spec
    return {
        "config": config_record(s, t.data),
        "model": {"cell_type": s.cell, "input_dim": t.transform.output_dim, "wordvec_dim": s.wordvec_dim,
                  "hidden_dim": s.hidden_dim, "dtype": s.dtype, **_attention_record(t)},
        **t.engine.state(),
        "vocab": list(t.data.vocab.idx_to_word),
        "features": {"spec": spec.as_dict() if spec else None, "transform": t.transform.state(),
                     "source": t.data.source, "familiarity": t.familiarity.state() if t.familiarity else None},
        "progress": {"epoch": t.at.epoch, "batch": t.at.batch, "step": t.at.step},
        "rng": devices.rng_state(),
    }


def _attention_record(t: Training) -> dict[str, Any]:
    m = t.engine.model
    if not getattr(m, "positions", 0):
        return {}
    return {"attention": {"positions": m.positions, "attention_dim": m.attention_dim, "reg": float(m.reg)}}


def config_record(settings: CaptionTrainSettings, data: CaptionData) -> dict[str, Any]:
    """What config.json and the checkpoint record: the settings and the feature spec they resolved to."""
    spec = data.feature_spec
    return {**settings.to_dict(), "feature_spec": spec.as_dict() if spec else None}


def validate(t: Training) -> dict[str, float]:
    """Teacher-forced loss on the val captions, and BLEU/CIDEr-D of greedy captions of the val images."""
    if len(t.val_images) == 0:
        return {}
    data, feats, total = t.data, t.feats, 0.0
    for start in range(0, len(t.val_rows), VALIDATION_CHUNK):
        rows = t.val_rows[start:start + VALIDATION_CHUNK]
        total += t.engine.eval_loss(feats[data.image_idxs[rows]], data.captions[rows], t.targets(rows)) * len(rows)
    out = {"loss": total / max(len(t.val_rows), 1)}
    hyps = []
    for start in range(0, len(t.val_images), VALIDATION_CHUNK):
        ids = t.engine.sample(feats[t.val_images[start:start + VALIDATION_CHUNK]], t.settings.max_length + 1)
        hyps += data.vocab.decode_batch(ids)
    scores = caption_scores([data.references[i] for i in t.val_images], hyps)
    out.update({k.lower().replace("-", "").replace("ciderd", "cider_d"): v for k, v in scores.items()})
    return out
