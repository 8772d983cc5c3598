"""The `gan train` job: read the data (and a checkpoint to resume), train, write the run folder.

    result = run(GanTrainSettings(arch="mlp", data="digits", epochs=2), "runs/gan-1", progress=print)
    result = run(GanTrainSettings(resume="runs/gan-1", epochs=4))   # continues in runs/gan-1

A run folder holds config.json, metrics.jsonl (losses every `log_every` steps; MNIST score, Fréchet distance
and class histogram at each epoch end), samples/step-NNNNNN.png (the same 64 noise vectors every time),
samples.png (latest), losses.png, checkpoint.pt and status.json. With `ema` the loop also keeps an exponential
moving average of the generator's weights (`ema.py`); it draws the grids and is what `gan sample`/`gan eval`
use, and each epoch's scores are logged for both it and the raw generator.

Stopping (`should_stop`) saves a checkpoint of the step reached, so `resume` continues exactly; an interrupt
(Ctrl-C, SIGTERM) keeps the last periodic checkpoint. The step is in `step.py`, the training state in
`trainer.py`, the settings in `settings.py`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.distributed

from .. import jobs, runs
from ..devices import deterministic, resolve_device
from ..distributed import DistInfo
from ..distributed import setup as setup_distributed
from ..distributed import teardown as teardown_distributed
from ..errors import VislabError
from ..jobs import JobResult, Progress, SettingError, StopCheck
from . import distributed
from .checkpoint import CHECKPOINT, check_resumable, load_generator, read_checkpoint, reading, resolve_checkpoint
from .checkpoint import saved_settings as _saved_settings
from .data import Digits, load_dataset
from .evaluate import evaluate_generator, load_scorer, scorer_data, scorer_path
from .memory import refuse_if_too_big, train_bytes
from .outputs import plot_losses, sample_grid, save_grid, tensorboard_writer
from .settings import GanTrainSettings, TrainConfig
from .step import build_models, epoch_order, gan_step, make_optimizers, prepare_models
from .trainer import GRID_SIZE, Trainer

KIND = "gan-train"

__all__ = ["run", "train", "GanTrainResult", "GanTrainSettings", "TrainConfig", "gan_step", "make_optimizers",
           "prepare_models", "epoch_order", "build_models", "load_generator", "resolve_checkpoint", "sample_grid",
           "plot_losses", "CHECKPOINT", "GRID_SIZE"]


@dataclass
class GanTrainResult(JobResult):
    """`steps` reached of `total_steps`; the last logged losses; the last epoch's scores (empty when off)."""

    steps: int = 0
    total_steps: int = 0
    checkpoint: Path | None = None
    d_loss: float = math.nan
    g_loss: float = math.nan
    scores: dict[str, Any] = field(default_factory=dict)
    main: bool = True  # False in the other processes of a torchrun job, which write nothing


class Resumed(NamedTuple):
    path: Path
    state: dict[str, Any]
    saved: TrainConfig


def run(settings: GanTrainSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> GanTrainResult:
    """Train a GAN into the run folder `out` (default: the resumed run's folder, else runs/gan-train-<time>).

    Settings left at None take the resumed checkpoint's values, else the defaults. Under torchrun every
    process calls this; only the first writes."""
    started = time.perf_counter()
    settings.validate()
    resumed = resume_point(settings)
    s = settings.with_defaults(resumed.saved.to_dict() if resumed else None)
    s.validate()
    if s.tensorboard:
        tensorboard_writer(None)  # fail before any output if the optional package is missing
    if resumed is not None and out is None:
        out = resumed.path.parent
    device = resolve_device(s.device)
    caller_group = torch.distributed.is_available() and torch.distributed.is_initialized()
    with deterministic(s.deterministic):  # before any CUDA work: cuBLAS reads its workspace setting once
        # Long timeout: the main process alone may train the MNIST scorer while the others wait.
        info = setup_distributed(device, timeout_s=1800.0)
        try:
            return _run(s, resumed, out, info, jobs.reporter(progress), _stop_check(should_stop, info),
                        command=command, overwrite=overwrite, started=started)
        finally:
            if not caller_group:  # a process group the caller made stays theirs (re-making one can hang)
                teardown_distributed(info)


def resume_point(settings: GanTrainSettings) -> Resumed | None:
    """The checkpoint `settings.resume` names, read and checked against the settings given (None: fresh run)."""
    if settings.resume is None:
        return None
    with reading("resume"):
        path, state = read_checkpoint(settings.resume)
        saved = _saved_settings(state, path)
    check_resumable(settings, saved, path)
    return Resumed(path, state, saved)


def _stop_check(should_stop: StopCheck | None, info: DistInfo) -> StopCheck:
    if should_stop is None:
        return lambda: False
    return lambda: distributed.any_true(info, bool(should_stop()))  # every process stops at the same step


def _run(s: GanTrainSettings, resumed: Resumed | None, out: str | Path | None, info: DistInfo,
         progress: Progress, stop: StopCheck, *, command: str | None, overwrite: bool,
         started: float) -> GanTrainResult:
    data, images = read_data(s, info)
    trainer = Trainer(s, images, info, info.device)
    if resumed is not None:
        trainer.restore(resumed.state)
    with distributed.all_or_none(info):
        if info.is_main:
            run_dir = jobs.start_run(KIND, s, out, command=command, overwrite=overwrite,  # `run` validated s
                                     resume=_continues_in_place(resumed, out), extra=_run_facts(data, trainer, info),
                                     checked=True)
    if not info.is_main:
        status = _loop(trainer, None, progress, stop)
        return GanTrainResult(run_dir=Path(out or "."), status=status, steps=trainer.step,
                              total_steps=trainer.total, main=False)
    result = GanTrainResult(run_dir=run_dir, total_steps=trainer.total)
    with _recorded(result, started):
        scorer = _load_scorer(s, data, info.device, progress) if s.eval_samples else None  # may train it
        with RunLog(run_dir, trainer, data.name, scorer, resumed=resumed is not None) as log:
            result.status = _loop(trainer, log, progress, stop)
            log.finish(trainer)
    log.fill(result, trainer)
    stopped = "" if result.status == "ok" else f"stopped at step {trainer.step} of {trainer.total}; resume to continue"
    return jobs.finish_run(result, started, "; ".join(m for m in (data_note(data.name), stopped) if m))


def data_note(dataset: str) -> str:
    """One line for status.json (and the report) when the run did not train on MNIST."""
    if dataset == "digits":
        return ("trained on scikit-learn's 8x8 digits (upscaled), not MNIST: MNIST was not found or not asked for "
                "(the data setting names a folder with the MNIST files)")
    return ""


def _continues_in_place(resumed: Resumed | None, out: str | Path | None) -> bool:
    """A resumed run continues in its own folder (config history kept); another folder is a new run folder,
    refused when it holds results (unless overwriting)."""
    return resumed is not None and out is not None and Path(out).resolve() == resumed.path.parent.resolve()


def read_data(s: GanTrainSettings, info: DistInfo) -> tuple[Digits, torch.Tensor]:
    """The training images (the first `limit`), checked against the batch size and the memory there is."""
    data = load_dataset(s.data, "train", log=_warn if info.is_main else None)
    images = data.images[: s.limit] if s.limit else data.images
    if len(images) < s.batch_size:
        raise SettingError("batch_size", f"{s.batch_size} is larger than the {len(images)} training images")
    if s.eval_samples and not scorer_path(data.name).is_file():  # the scorer will train on both splits
        load_dataset(scorer_data(data.name, s.data), "test")
    parts = train_bytes(s.arch, s.noise_dim, s.batch_size // info.world_size, len(images), s.eval_samples)
    culprit = max((k for k in parts if k != "data"), key=parts.__getitem__)
    refuse_if_too_big(culprit, getattr(s, culprit), sum(parts.values()), "training", info.device)
    return data, images


def _load_scorer(s: GanTrainSettings, data: Digits, device: torch.device, progress: Progress) -> Any:
    """The scorer; training it (once, when none is shipped or cached) reports through the job's `progress`."""
    return load_scorer(data.name, data=s.data, device=device, progress=progress, log=_warn)


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def _run_facts(data: Digits, t: Trainer, info: DistInfo) -> dict[str, Any]:
    """What config.json records besides the settings."""
    return {"dataset": data.name, "data_source": data.source, "train_images": t.n_images,
            "steps_per_epoch": t.steps_per_epoch, "total_steps": t.total, "processes": info.world_size,
            "device_used": str(info.device)}


def _loop(t: Trainer, log: RunLog | None, progress: Progress, stop: StopCheck) -> str:
    """Train to the end, or until `stop()`: returns "ok" or "cancelled"."""
    while not t.done:
        if stop():
            return "cancelled"
        t.train_step()
        _after_step(t, log)
        if log is not None:
            progress(t.step, t.total, **log.latest)
    return "ok"


def _after_step(t: Trainer, log: RunLog | None) -> None:
    """Log losses (every process takes part in averaging them), then, in the main process, grids, scores and
    checkpoints as the settings ask."""
    s = t.s
    if t.every(s.log_every) or t.done:
        d, g = t.global_losses()
        if not (math.isfinite(d) and math.isfinite(g)):
            raise SettingError("lr", f"{s.lr:g} made training diverge at step {t.step} (d_loss={d}, "
                                     f"g_loss={g}); try a lower one")
        if log is not None:
            log.losses(t, d, g)
    if log is None:
        return
    end_of_epoch = t.at_epoch_end()
    if t.every(s.sample_every) and not t.done:
        log.grid(t)
    if end_of_epoch:
        log.score(t)
    if (t.every(s.checkpoint_every) or end_of_epoch) and not t.done:
        log.save(t)


@contextlib.contextmanager
def _recorded(result: GanTrainResult, started: float) -> Iterator[None]:
    """A run that fails or is interrupted still ends with a status.json that says so."""
    try:
        yield
    except KeyboardInterrupt:
        result.status = "interrupted"
        jobs.finish_run(result, started, "interrupted; the last periodic checkpoint is kept: resume from it")
        raise
    except VislabError as e:
        result.status = "failed"
        jobs.finish_run(result, started, str(e))
        raise


class RunLog:
    """The main process's outputs: metrics, TensorBoard, grids, scores and checkpoints (one `with` block)."""

    def __init__(self, run_dir: Path, t: Trainer, dataset: str, scorer: Any, *, resumed: bool) -> None:
        self.run_dir, self.dataset, self.scorer = run_dir, dataset, scorer
        self.metrics = runs.MetricsLog(run_dir, resume_step=t.step if resumed else None)
        self.writer = tensorboard_writer(run_dir) if t.s.tensorboard else None
        self.t0, self.step0 = time.perf_counter(), t.step
        self.latest: dict[str, float] = {}  # the last logged losses, shown by the progress callback
        self.scores: dict[str, Any] = {}

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()

    def losses(self, t: Trainer, d: float, g: float) -> None:
        rate = (t.step - self.step0) / max(time.perf_counter() - self.t0, 1e-9)
        self.metrics.log(t.step, epoch=t.epoch, d_loss=d, g_loss=g, it_per_s=round(rate, 3))
        self._scalars(t.step, d_loss=d, g_loss=g)
        self.latest = {"d_loss": d, "g_loss": g}

    def grid(self, t: Trainer) -> None:
        save_grid(t.sampler, t.fixed_z, t.device, self.run_dir, t.step, self.writer)

    def score(self, t: Trainer) -> None:
        """Score the run's generator (and the raw one, when an average is kept) at an epoch's end."""
        if self.scorer is None:
            return
        scores = _score(t.sampler, t.s, self.scorer, t.device)
        if t.G_ema is not None:  # the raw generator too, to show what the average adds
            scores.update({f"raw_{k}": v for k, v in _score(t.G, t.s, self.scorer, t.device).items()})
        self.metrics.log(t.step, epoch=t.epoch, **scores)
        self._scalars(t.step, **{k: v for k, v in scores.items() if k.endswith(("mnist_score", "frechet_distance"))})
        self.scores = scores
        raw = f" (raw generator {scores['raw_mnist_score']:.2f})" if t.G_ema is not None else ""
        _warn(f"epoch {t.epoch + 1}: MNIST score {scores['mnist_score']:.2f}{raw}, Fréchet distance "
              f"{scores['frechet_distance']:.2f}, modes {scores['modes']}/10")

    def save(self, t: Trainer) -> Path:
        return runs.save_checkpoint(t.checkpoint_state(self.dataset), self.run_dir / CHECKPOINT, kind="gan")

    def finish(self, t: Trainer) -> None:
        """The last checkpoint (also of a stopped run: it resumes exactly), grid and loss plot."""
        self.save(t)
        self.grid(t)
        plot_losses(self.run_dir)

    def fill(self, result: GanTrainResult, t: Trainer) -> None:
        result.steps, result.checkpoint, result.scores = t.step, self.run_dir / CHECKPOINT, self.scores
        result.d_loss = self.latest.get("d_loss", math.nan)
        result.g_loss = self.latest.get("g_loss", math.nan)
        result.numbers = {"steps": t.step, **self.latest,
                          **{k: v for k, v in self.scores.items() if isinstance(v, (int, float))}}
        for role, name in (("checkpoint", CHECKPOINT), ("samples", "samples.png"), ("losses", "losses.png")):
            if (self.run_dir / name).is_file():
                result.files[role] = self.run_dir / name

    def _scalars(self, step: int, **values: float) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, step)


def _score(G: torch.nn.Module, s: GanTrainSettings, scorer: Any, device: torch.device) -> dict[str, Any]:
    r = evaluate_generator(G, s.noise_dim, scorer, n=s.eval_samples, seed=s.seed, device=device)
    return {"mnist_score": round(r["mnist_score"], 4), "frechet_distance": round(r["frechet_distance"], 4),
            "modes": r["modes"], "class_histogram": r["class_histogram"]}


def train(cfg: GanTrainSettings, run_dir: str | Path | None = None, *, resume: str | Path | None = None,
          progress: Progress | None = None, overwrite: bool = False) -> dict[str, Any]:
    """The older entry point: `run` returning a summary dict (final losses, scores, paths, seconds).

    `progress(step, total, **losses)` is called after every completed step (tests raise from it to interrupt a
    run)."""
    settings = replace(cfg, resume=str(resume)) if resume is not None else cfg
    r = run(settings, run_dir, progress=progress, overwrite=overwrite)
    return {"run_dir": str(r.run_dir) if r.main else None, "steps": r.steps, **r.scores, "d_loss": r.d_loss,
            "g_loss": r.g_loss, "checkpoint": str(r.checkpoint) if r.checkpoint else None,
            "seconds": round(r.seconds, 2), "status": r.status}
