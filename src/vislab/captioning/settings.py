"""The settings of the three captioning jobs: every default, allowed value and check, in one place.

    CaptionTrainSettings   `vislab caption train`: train a captioner (or continue one: `resume`)
    CaptionEvalSettings    `vislab caption eval`: caption a split of a dataset and score it
    CaptionSettings        `vislab caption IMAGE...`: caption image files

Messages name the setting (``hidden_dim must be ...``); the CLI turns that into the flag's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from ..backbones import DEFAULT as DEFAULT_BACKBONE
from ..errors import ConfigError
from ..jobs import (
    JobSettings,
    SettingError,
    check_bool,
    check_choice,
    check_count,
    check_positive,
    check_seed,
    check_text,
)
from .sources import parse_data_spec

ENGINES = ("numpy", "torch")
DTYPE_NAMES = ("float32", "float64")
SPLIT_CHOICES = ("train", "val", "test", "all")
DEFAULT_EPOCHS = 10
COUNT_MAX = 2**31 - 1  # beyond this numpy and torch index types overflow
EPOCHS_MAX = 1_000_000
IMAGE_SIZE_RANGE = (16, 2048)  # smaller views leave no feature map; larger ones only cost memory
GRID_MAX = 64  # cells per side: more than a feature map has pixels only repeats values
BEAM_MAX = 1000  # beams beyond a few dozen never change a caption; past this one image takes minutes
LR_MAX = 1.0  # Adam moves each weight by about lr per step: beyond 1 nothing is learnt


# -- checks that name the setting ------------------------------------------------------------------------------







def check_device(name: str, value: Any) -> None:
    """A device this machine has: auto, cpu, cuda[:N] or mps."""
    from ..devices import resolve_device

    check_text(name, value)
    try:
        resolve_device(value)
    except ConfigError:
        raise SettingError(name, f"{value!r} is unknown or not available here; use auto, cpu, cuda or "
                                 "mps") from None


def check_file(name: str, value: Any) -> None:
    check_text(name, value)
    p = Path(value)
    if not p.is_file():
        raise SettingError(name, f"{value}: {'is not a regular file' if p.exists() else 'no such file'}")


def parse_grid(value: Any, name: str = "feature_grid") -> tuple[int, int]:
    """``"RxC"`` -> (R, C), each a whole number from 1 to `GRID_MAX`."""
    try:
        r, c = (int(v) for v in str(value).lower().split("x"))
    except ValueError:
        raise SettingError(name, f"must be RxC (rows x columns, e.g. 1x3), got {value!r}") from None
    if not (1 <= r <= GRID_MAX and 1 <= c <= GRID_MAX):
        raise SettingError(name, f"must be RxC with R and C from 1 to {GRID_MAX}, got {value!r}")
    return r, c


def cell_types() -> tuple[str, ...]:
    """rnn, lstm, gru (imported when needed: the model module loads the numpy layers and scipy)."""
    from .model import CELL_TYPES

    return CELL_TYPES


def _optional(check: Callable[..., None], **kw: Any) -> Callable[[str, Any], None]:
    """`check` for a setting that may also be None (meaning its documented default)."""
    return lambda name, value: None if value is None else check(name, value, **kw)


def _validate(settings: JobSettings, checks: dict[str, Callable[[str, Any], None]]) -> None:
    for f in fields(settings):
        checks[f.name](f.name, getattr(settings, f.name))


# -- the jobs' settings ----------------------------------------------------------------------------------------

@dataclass
class CaptionTrainSettings(JobSettings):
    """`vislab caption train`. With `resume` the run continues with the settings it was started with; only
    those in `CHANGEABLE_ON_RESUME` may differ (`epochs` to train longer)."""

    data: str = "shapes"             # a data spec, see `vislab.captioning.sources`
    cell: str = "lstm"               # rnn | lstm | gru
    engine: str = "numpy"            # numpy (hand-written backprop) | torch (autograd; GPU; torchrun)
    epochs: int | None = None        # None: DEFAULT_EPOCHS, or the resumed run's
    batch_size: int = 64             # captions per step (the global batch under torchrun)
    lr: float = 5e-3                 # Adam learning rate of the first epoch
    lr_decay: float = 0.9            # lr of epoch e = lr * lr_decay ** e
    hidden_dim: int = 256
    wordvec_dim: int = 128
    max_length: int = 16             # words per caption; longer ones are cut
    min_count: int = 1               # rarer training words become <UNK>
    pca_dim: int | None = None       # reduce image features to this many dimensions (None: keep all)
    dtype: str = "float32"           # float32 | float64
    save_every: int = 0              # also checkpoint every N steps (0: after each epoch only)
    log_every: int = 10              # steps per logged training-loss row
    eval_images: int = 500           # val images captioned for BLEU after each epoch (0: all)
    model: str = DEFAULT_BACKBONE    # the backbone that turns images into features
    weights: str | None = None       # a weights file for the backbone
    image_size: int | None = None    # side of the square view the backbone sees (None: 224; 128 for shapes)
    feature_layer: str | None = None  # None: the penultimate representation
    feature_grid: str | None = None  # "RxC": pool `feature_layer` over a grid (None: globally)
    no_cache: bool = False           # do not read or write the feature cache
    resume: str | None = None        # a run folder or checkpoint to continue
    seed: int = 0
    device: str = "auto"             # auto | cpu | cuda | mps (the torch engine and feature extraction)

    CHANGEABLE_ON_RESUME: ClassVar[tuple[str, ...]] = ("epochs", "no_cache", "resume", "device")

    @property
    def total_epochs(self) -> int:
        return DEFAULT_EPOCHS if self.epochs is None else self.epochs

    def validate(self) -> None:
        _validate(self, _TRAIN_CHECKS)


_TRAIN_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "data": lambda n, v: parse_data_spec(v, n),
    "cell": lambda n, v: check_choice(n, v, cell_types()),
    "engine": lambda n, v: check_choice(n, v, ENGINES),
    "epochs": _optional(check_count, hi=EPOCHS_MAX),
    "batch_size": check_count, "hidden_dim": check_count, "wordvec_dim": check_count,
    "max_length": check_count, "min_count": check_count, "log_every": check_count,
    "lr": lambda n, v: check_positive(n, v, hi=LR_MAX),
    "lr_decay": lambda n, v: check_positive(n, v, hi=1),
    "pca_dim": _optional(check_count),
    "dtype": lambda n, v: check_choice(n, v, DTYPE_NAMES),
    "save_every": lambda n, v: check_count(n, v, lo=0),
    "eval_images": lambda n, v: check_count(n, v, lo=0),
    "model": check_text, "weights": _optional(check_file),
    "image_size": _optional(check_count, lo=IMAGE_SIZE_RANGE[0], hi=IMAGE_SIZE_RANGE[1]),
    "feature_layer": _optional(check_text), "feature_grid": _optional(lambda n, v: parse_grid(v, n)),
    "no_cache": check_bool, "resume": _optional(check_text), "seed": check_seed, "device": check_device,
}


@dataclass
class CaptionEvalSettings(JobSettings):
    """`vislab caption eval`: captions for every image of a split, scored with BLEU-1..4 and CIDEr-D."""

    checkpoint: str | None = None    # a captioning checkpoint or its run folder (required)
    data: str | None = None          # a data spec (None: the data the model was trained on)
    split: str = "test"              # train | val | test | all
    beam: int = 1                    # beam size (1: greedy decoding)
    no_cache: bool = False
    device: str = "auto"

    def validate(self) -> None:
        _validate(self, {
            "checkpoint": _required_checkpoint, "data": _optional(lambda n, v: parse_data_spec(v, n)),
            "split": lambda n, v: check_choice(n, v, SPLIT_CHOICES),
            "beam": lambda n, v: check_count(n, v, hi=BEAM_MAX), "no_cache": check_bool, "device": check_device})


@dataclass
class CaptionSettings(JobSettings):
    """`vislab caption IMAGE...`: one caption per image file (``sample:NAME`` for a built-in photo)."""

    images: list[str] = field(default_factory=list)
    checkpoint: str | None = None    # a captioning checkpoint or its run folder (required)
    beam: int = 1
    device: str = "auto"

    def validate(self) -> None:
        _validate(self, {
            "images": _check_images, "checkpoint": _required_checkpoint,
            "beam": lambda n, v: check_count(n, v, hi=BEAM_MAX), "device": check_device})


def _required_checkpoint(name: str, value: Any) -> None:
    if value is None or value == "":
        raise SettingError(name, "must be given: a captioning checkpoint, or the run folder of `caption train`")
    check_text(name, value)


def _check_images(name: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)) or not value:
        raise SettingError(name, f"must list at least one image file, got {value!r}")
    for v in value:
        check_text(name, v)
