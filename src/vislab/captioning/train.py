"""`vislab caption train` as one job: ``run(CaptionTrainSettings(...), out)`` reads the data, trains and writes
the run folder (config.json, metrics.jsonl, checkpoint.pt, curves.png, samples/, status.json).

    result = run(CaptionTrainSettings(data="shapes:400", epochs=2), "runs/cap", progress=print)
    result = run(CaptionTrainSettings(resume="runs/cap", epochs=4))    # continue the same run

The loop is `vislab.captioning.loop`; `train(data, settings, run_dir)` runs it on data already loaded.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .. import jobs, runs
from ..distributed import DistInfo, torchrun_world_size
from ..errors import CheckpointError, ConfigError, VislabError
from ..jobs import JobResult, Progress, SettingError, StopCheck
from . import checkpoint as ckpt
from .budget import check_training
from .curves import save_curves
from .data import CaptionData, default_feature_spec, load_data, write_samples
from .features import FeatureSpec, check_pca_dim
from .loop import CaptionTrainResult, Hooks, Training, config_record, distributed, fit, open_log, prepare
from .settings import DEFAULT_EPOCHS, CaptionTrainSettings, parse_grid
from .vocab import Vocabulary

KIND = "caption-train"
TrainConfig = CaptionTrainSettings  # the old name (tour, notebooks)
TrainResult = CaptionTrainResult

__all__ = ["run", "train", "CaptionTrainSettings", "CaptionTrainResult", "TrainConfig", "TrainResult", "KIND",
           "save_curves"]

FEATURE_SETTINGS = ("model", "weights", "image_size", "feature_layer", "feature_grid")
ATTENTION_LAYER = "head"  # the last feature map of the built-in EfficientNets (give feature_layer for others)
# Shapes with attention: block7's native 8x8 cells (stride 16 at 128 px). block4's 16x16 cells (stride 8) put
# more of each word's attention on its shape (0.60 against 0.34) but caption worse (86.9 % exact against 90.0 %) at
# about 3x the CPU time, and photos no longer look unfamiliar; measured with quality/captioning_shapes.py --compare
# (its docstring lists every configuration tried).
SHAPES_ATTENTION = FeatureSpec(image_size=128, layer="block7", grid=(8, 8))


@dataclass
class Plan:
    """A run about to start: its settings (a resumed run's merged with the ones given), how images become
    features, and the checkpoint it continues (with the folder it lives in)."""

    settings: CaptionTrainSettings
    spec: FeatureSpec | None
    state: dict | None = None
    run_dir: Path | None = None


def run(settings: CaptionTrainSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> CaptionTrainResult:
    """Train a captioner into the run folder `out` (default runs/caption-train-<time>; when resuming, the
    checkpoint's folder). Under torchrun every process calls this; only the first writes."""
    started = time.perf_counter()
    plan = plan_run(settings, out)
    s = plan.settings
    with distributed(s) as dist:
        device = str(dist.device) if dist.enabled else s.device  # under torchrun: this process's own GPU
        data = load_data(s.data, feature_spec=plan.spec, vocab=Vocabulary(plan.state["vocab"]) if plan.state
                         else None, max_length=s.max_length, min_count=s.min_count, device=device,
                         cache=not s.no_cache, progress=progress is not None and dist.is_main)
        check_fits(s, data, dist)
        t = _prepare(plan, data, dist)
        t.run_dir = _start(plan, data, out, dist, command=command, overwrite=overwrite)
        with _status_on_failure(t.run_dir, started, dist.is_main):
            if dist.is_main and plan.state is None:
                write_samples(data, t.run_dir)
            report = jobs.reporter(progress if dist.is_main else None)  # one bar, not one per process
            result = fit(open_log(t), Hooks(report, should_stop))
    result.settings, result.main = s, dist.is_main
    if not dist.is_main:
        return result
    _describe(result)
    return jobs.finish_run(result, started, "" if result.status == "ok" else
                           f"stopped at step {result.steps} of {result.total_steps}; resume to continue")


def _prepare(plan: Plan, data: CaptionData, dist: DistInfo) -> Training:
    """The loop's state, with the checkpoint restored before anything is written (its folder comes later)."""
    try:
        return prepare(data, plan.settings, Path("."), dist, plan.state)
    except CheckpointError as e:
        raise CheckpointError(f"{ckpt.checkpoint_path(plan.settings.resume)}: {e}") from None


def plan_run(settings: CaptionTrainSettings, out: str | Path | None) -> Plan:
    """Check the settings (and the checkpoint to resume) before anything is read or written."""
    settings.validate()
    if settings.resume is None:
        if torchrun_world_size() > 1 and out is None:
            raise SettingError("out", "must be given under torchrun, so that every process writes to the same "
                                      "run folder")
        s = replace(settings, epochs=settings.total_epochs)
        _check_model_size(s)
        return Plan(s, feature_spec(s))
    state = ckpt.read(settings.resume)
    folder = ckpt.checkpoint_path(settings.resume).parent
    if out is not None and Path(out).resolve() != folder.resolve():
        raise SettingError("out", f"{out}: a resumed run continues in its own folder ({folder}); give no out "
                                  "folder, or that one")
    s = resumed_settings(settings, state)
    _check_model_size(s)
    spec = state["features"].get("spec")
    return Plan(s, FeatureSpec.from_dict(spec) if spec else None, state, folder)


def feature_spec(s: CaptionTrainSettings) -> FeatureSpec | None:
    """How images become features for these settings (None: the data brings its own features)."""
    spec = default_feature_spec(s.data, backbone=s.model, weights=s.weights, image_size=s.image_size,
                                layer=s.feature_layer, grid=parse_grid(s.feature_grid) if s.feature_grid else None)
    if spec is None:
        for name in FEATURE_SETTINGS:
            if getattr(s, name) != _DEFAULTS[name]:
                raise SettingError(name, f"does not apply to {s.data}: its features are precomputed")
    elif s.attention:
        return attention_spec(spec, s)
    elif spec.grid != (1, 1) and spec.layer is None:
        raise SettingError("feature_grid", f"{s.feature_grid} needs feature_layer (penultimate features are "
                                           "already pooled)")
    return spec


def attention_spec(spec: FeatureSpec, s: CaptionTrainSettings) -> FeatureSpec:
    """Attention looks among the cells of a feature map, kept cell by cell: the given layer, else for shapes with
    the default backbone `SHAPES_ATTENTION`, else the backbone's last stage (7x7 at 224 px)."""
    shapes = s.data.split(":")[0] == "shapes"
    default_grid = (8, 8) if shapes else (7, 7)
    if shapes and spec.backbone == SHAPES_ATTENTION.backbone and not s.feature_layer:
        spec = replace(spec, layer=SHAPES_ATTENTION.layer, image_size=s.image_size or SHAPES_ATTENTION.image_size)
        default_grid = SHAPES_ATTENTION.grid
    layer = s.feature_layer or spec.layer or ATTENTION_LAYER
    grid = parse_grid(s.feature_grid) if s.feature_grid else default_grid
    return replace(spec, layer=layer, grid=grid, spatial=True)


_DEFAULTS = {f.name: f.default for f in fields(CaptionTrainSettings)}


def resumed_settings(given: CaptionTrainSettings, state: dict) -> CaptionTrainSettings:
    """The settings a resumed run continues with: the checkpoint's, with those in `CHANGEABLE_ON_RESUME`
    taken from `given`. A setting given with another value than both its default and the run's is refused."""
    saved = {k: v for k, v in state["config"].items() if k in _DEFAULTS}
    for name, value in saved.items():
        mine = getattr(given, name)
        if name not in given.CHANGEABLE_ON_RESUME and mine != _DEFAULTS[name] and mine != value:
            raise SettingError(name, f"cannot change when resuming (the run has {value!r}, got {mine!r}); leave "
                                     "it out")
    done = state["progress"]["epoch"]
    epochs = given.epochs if given.epochs is not None else saved.get("epochs") or DEFAULT_EPOCHS
    if given.epochs is not None and given.epochs < done:
        raise SettingError("epochs", f"must be at least {done}, the epochs the resumed run has done, got "
                                     f"{given.epochs}")
    try:
        s = CaptionTrainSettings(**{**saved, "epochs": epochs, "no_cache": given.no_cache,
                                    "resume": given.resume, "device": given.device,
                                    "deterministic": given.deterministic})
        s.validate()
    except SettingError as e:
        raise SettingError(e.setting, f"{e.detail} (as recorded in the resumed checkpoint)") from None
    return s


def _check_model_size(s: CaptionTrainSettings) -> None:
    """Before the data is read: the model alone (with the smallest vocabulary and one caption per step) must
    fit, which catches a huge hidden_dim, wordvec_dim or max_length without minutes of feature extraction."""
    check_training(vocab=4, input_dim=1, wordvec=s.wordvec_dim, hidden=s.hidden_dim, cell=s.cell,
                   itemsize=_itemsize(s), batch=1, max_length=s.max_length)


def check_fits(s: CaptionTrainSettings, data: CaptionData, dist: DistInfo) -> None:
    """With the data read: `pca_dim` within what the features allow, and the whole run within memory."""
    n_train = len(data.split_images("train"))
    dim = data.features.shape[1]
    if s.pca_dim is not None:
        check_pca_dim(s.pca_dim, (n_train, dim))
    batch = -(-min(s.batch_size, len(data.split_captions("train"))) // dist.world_size)
    check_training(vocab=len(data.vocab), input_dim=s.pca_dim or dim, wordvec=s.wordvec_dim, hidden=s.hidden_dim,
                   cell=s.cell, itemsize=_itemsize(s), batch=batch, max_length=s.max_length,
                   features=len(data.features) * (s.pca_dim or dim), fit=n_train * dim * (3 if s.pca_dim else 1))


def _itemsize(s: CaptionTrainSettings) -> int:
    return 4 if s.dtype == "float32" else 8


def _start(plan: Plan, data: CaptionData, out: str | Path | None, dist: DistInfo, *, command: str | None,
           overwrite: bool) -> Path:
    """The main process makes the run folder and writes config.json; every process learns whether it could."""
    target = plan.run_dir if plan.state is not None else out
    failure: VislabError | None = None
    run_dir = Path(target) if target is not None else Path(".")
    if dist.is_main:
        try:
            spec = data.feature_spec
            run_dir = jobs.start_run(KIND, plan.settings, target, command=command, overwrite=overwrite,
                                     resume=plan.state is not None,
                                     extra={"feature_spec": spec.as_dict() if spec else None})
        except VislabError as e:
            failure = e
    if dist.enabled and dist.all_sum(float(failure is not None)) > 0 and failure is None:
        raise ConfigError("the main process could not start the run folder (see its error)")
    if failure is not None:
        raise failure
    return run_dir


@contextlib.contextmanager
def _status_on_failure(run_dir: Path, started: float, main: bool) -> Iterator[None]:
    """A run that fails or is interrupted still ends with a status.json that says so (for `vislab report`)."""
    try:
        yield
    except KeyboardInterrupt:
        if main:
            jobs.finish_run(JobResult(run_dir, status="interrupted"), started,
                            "interrupted; the last checkpoint is kept: resume from it")
        raise
    except VislabError as e:
        if main:
            jobs.finish_run(JobResult(run_dir, status="failed"), started, str(e))
        raise


def _describe(result: CaptionTrainResult) -> None:
    """Name the run's files and headline numbers in the result (what status.json records)."""
    d = result.run_dir
    result.files = {role: d / name for role, name in (("checkpoint", ckpt.FILENAME), ("curves", "curves.png"),
                                                      ("metrics", "metrics.jsonl")) if (d / name).is_file()}
    result.numbers = {"steps": result.steps, **({"loss": result.losses[-1]} if result.losses else {}),
                      **{f"val_{k}": v for k, v in result.val.items()}}


def train(data: CaptionData, cfg: CaptionTrainSettings, run_dir: str | Path, *, resume: dict | None = None,
          on_step: Callable[[int, bool], None] | None = None, progress: bool = True) -> CaptionTrainResult:
    """Train on `data` (already loaded) into the folder `run_dir`, which it does not check or lock: the
    course-style entry point (`run` is the job). `resume` is a checkpoint state (`checkpoint.read`) to
    continue from; `on_step(step, saved)` is called after every step."""
    started = time.perf_counter()
    cfg.validate()
    s = replace(cfg, epochs=cfg.total_epochs)
    run_dir = Path(run_dir)
    with distributed(s) as dist, _bar(f"train {s.cell} ({s.engine})", progress and dist.is_main) as bar:
        if dist.is_main:
            runs.write_config(run_dir, config_record(s, data), resume=resume is not None)
        result = fit(open_log(prepare(data, s, run_dir, dist, resume)), Hooks(bar, None, on_step))
    result.settings, result.seconds = s, time.perf_counter() - started
    return result


@contextlib.contextmanager
def _bar(desc: str, enabled: bool) -> Iterator[Progress]:
    """A tqdm bar as a progress callback (the library's own, for `train`; the CLI draws its own)."""
    from tqdm import tqdm

    with tqdm(desc=desc, unit="step", disable=not enabled, dynamic_ncols=True) as bar:
        def progress(step: int, total: int | None, **numbers: float) -> None:
            bar.total, bar.n = total, step
            bar.set_postfix({k: f"{v:.3f}" if isinstance(v, float) else v for k, v in numbers.items()},
                            refresh=False)
            bar.refresh()

        yield progress
