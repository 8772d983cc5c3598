"""The settings of the three GAN jobs (`gan train`, `gan sample`, `gan eval`): every default, choice and check.

Training settings default to None, which means "the checkpoint's value when resuming, else the default in
`GanTrainSettings.DEFAULTS`": a resumed run continues with what it was trained with, and only the settings
given override it. `with_defaults(saved)` fills them in; `TrainConfig` is the old name for settings with
every default already filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from ..jobs import (
    JobSettings,
    SettingError,
    check_bool,
    check_choice,
    check_count,
    check_number,
    check_positive,
    check_seed,
    check_text,
)
from .losses import LOSSES
from .models import ARCHS

COUNT_MAX = 2**31 - 1
"""Upper bound of step and sample counts: beyond it torch indexes and loops stop being meaningful."""

ARCH_CHOICES = ARCHS
LOSS_CHOICES = tuple(LOSSES)

MIN_SCORED = 2
"""The Fréchet distance needs a covariance, hence at least two samples."""








def check_samples(name: str, value: Any, *, allow_zero: bool = False) -> None:
    """A number of generated samples to score: at least `MIN_SCORED` (or 0 = off, when allowed)."""
    check_number(name, value, integer=True)
    if not (MIN_SCORED <= value <= COUNT_MAX or (allow_zero and value == 0)):
        raise SettingError(name, f"must be from {MIN_SCORED} (the Fréchet distance needs a covariance) to "
                                 f"{COUNT_MAX}{', or 0 (off)' if allow_zero else ''}, got {value!r}")


def check_rate(name: str, value: Any) -> None:
    """Adam betas and the weight-average decay: in [0, 1)."""
    check_number(name, value)
    if not 0 <= value < 1:
        raise SettingError(name, f"must be in [0, 1), got {value!r}")


@dataclass
class GanTrainSettings(JobSettings):
    """`vislab gan train`. None: the checkpoint's value when resuming (`resume`), else `DEFAULTS`."""

    arch: str | None = None            # network pair: mlp | dcgan
    loss: str | None = None            # bce | ls | wgan-gp | hinge
    epochs: int | None = None          # passes over the data
    max_steps: int | None = None       # stop after this many steps in total (default: no limit)
    batch_size: int | None = None      # global batch: split across processes under torchrun
    lr: float | None = None            # Adam learning rate
    beta1: float | None = None         # Adam betas, in [0, 1)
    beta2: float | None = None
    ema: float | None = None           # decay of the generator's weight average, in [0, 1) (0: none); ema.py
    noise_dim: int | None = None
    spectral_norm: bool | None = None  # on the discriminator's layers
    data: str | None = None            # auto | mnist | digits | DIR
    limit: int | None = None           # use only the first N training images (default: all)
    sample_every: int | None = None    # fixed-noise grid every N steps
    checkpoint_every: int | None = None
    log_every: int | None = None
    eval_samples: int | None = None    # samples scored at the end of each epoch; 0 turns scoring off
    tensorboard: bool | None = None
    seed: int | None = None
    device: str = "auto"               # auto | cpu | cuda | mps (not taken from the checkpoint)
    resume: str | None = None          # a checkpoint or run folder to continue

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "arch": "dcgan", "loss": "bce", "epochs": 5, "max_steps": None, "batch_size": 128, "lr": 1e-3,
        "beta1": 0.5, "beta2": 0.999, "ema": 0.0, "noise_dim": 96, "spectral_norm": False, "data": "auto",
        "limit": None, "sample_every": 250, "checkpoint_every": 250, "log_every": 10, "eval_samples": 5000,
        "tensorboard": False, "seed": 0,
    }
    """What a setting left at None means when no checkpoint says otherwise."""

    FIXED_ON_RESUME: ClassVar[tuple[str, ...]] = ("arch", "loss", "noise_dim", "spectral_norm", "batch_size",
                                                  "seed")
    """Settings a resumed run cannot change: the weights, the data order or the noise depend on them."""

    LR_MAX: ClassVar[float] = 1.0  # Adam moves each weight by about lr per step: beyond 1 nothing is learnt

    def validate(self) -> None:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, check in _TRAIN_CHECKS.items():
            if values[name] is not None:
                check(name, values[name])
        check_text("device", self.device)
        if self.resume is not None:
            check_text("resume", self.resume)

    def with_defaults(self, saved: dict[str, Any] | None = None) -> GanTrainSettings:
        """A copy with every None filled from `saved` (a checkpoint's settings), then from `DEFAULTS`."""
        saved = saved or {}
        filled = {name: saved.get(name, default) for name, default in self.DEFAULTS.items()
                  if getattr(self, name) is None}
        return replace(self, **filled)

    @classmethod
    def default(cls, name: str) -> Any:
        """The value `name` takes when neither the settings nor a checkpoint give one (for help texts)."""
        return cls.DEFAULTS[name]


_TRAIN_CHECKS = {
    "arch": lambda n, v: check_choice(n, v, ARCH_CHOICES),
    "loss": lambda n, v: check_choice(n, v, LOSS_CHOICES),
    "epochs": check_count, "max_steps": check_count, "batch_size": check_count, "noise_dim": check_count,
    "limit": check_count, "sample_every": check_count, "checkpoint_every": check_count, "log_every": check_count,
    "lr": lambda n, v: check_positive(n, v, hi=GanTrainSettings.LR_MAX),
    "beta1": check_rate, "beta2": check_rate, "ema": check_rate,
    "spectral_norm": check_bool, "tensorboard": check_bool,
    "data": check_text,
    "eval_samples": lambda n, v: check_samples(n, v, allow_zero=True),
    "seed": check_seed,
}


@dataclass
class TrainConfig(GanTrainSettings):
    """Training settings with every default filled in: the old name, kept for scripts and notebooks."""

    def __post_init__(self) -> None:
        for name, default in self.DEFAULTS.items():
            if getattr(self, name) is None:
                setattr(self, name, default)


@dataclass
class GeneratorSettings(JobSettings):
    """What the jobs that use a trained generator share: which checkpoint, which generator, which noise."""

    checkpoint: str = ""          # checkpoint.pt or its run folder (required)
    raw: bool = False             # the raw generator, not its weight average (runs trained with ema)
    seed: int = 0                 # of the noise
    device: str = "auto"

    def validate(self) -> None:
        check_text("checkpoint", self.checkpoint)
        check_bool("raw", self.raw)
        check_seed("seed", self.seed)
        check_text("device", self.device)


@dataclass
class GanSampleSettings(GeneratorSettings):
    """`vislab gan sample`: a grid of `n` samples from a checkpoint's generator."""

    n: int = 64                   # samples in the grid
    output: str | None = None     # also write the grid to this image file (.png, .jpg, ...)

    def validate(self) -> None:
        super().validate()
        check_count("n", self.n)
        if self.output is not None:
            check_text("output", self.output)


@dataclass
class GanEvalSettings(GeneratorSettings):
    """`vislab gan eval`: MNIST score, Fréchet distance and class histogram of `n` samples."""

    n: int = 10000                # samples to score (at least 2)
    data: str = "auto"            # where MNIST is, to train the scorer the first time: auto | DIR

    def validate(self) -> None:
        super().validate()
        check_samples("n", self.n)
        check_text("data", self.data)
