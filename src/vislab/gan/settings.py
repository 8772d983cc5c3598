"""The settings of the three GAN jobs (`gan train`, `gan sample`, `gan eval`): every default, choice and check.

Training settings default to None, which means "the checkpoint's value when resuming, else the default in
`GanTrainSettings.DEFAULTS`": a resumed run continues with what it was trained with, and only the settings
given override it. `with_defaults(saved)` fills them in; `TrainConfig` is the old name for settings with
every default already filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from ..devices import DETERMINISTIC_HELP
from ..jobs import (
    COUNT_MAX,
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


TRAIN_DEFAULTS: dict[str, Any] = {
    "arch": "dcgan", "loss": "bce", "epochs": 5, "max_steps": None, "batch_size": 128, "lr": 1e-3,
    "beta1": 0.5, "beta2": 0.999, "ema": 0.0, "noise_dim": 96, "spectral_norm": False, "data": "auto",
    "limit": None, "sample_every": 250, "checkpoint_every": 250, "log_every": 10, "eval_samples": 5000,
    "tensorboard": False, "seed": 0,
}
"""What a training setting left at None means when no checkpoint says otherwise (`GanTrainSettings.DEFAULTS`)."""


def _with_default(text: str, name: str) -> str:
    """A training setting's help: None means the checkpoint's value on resume, else `TRAIN_DEFAULTS`."""
    value = TRAIN_DEFAULTS[name]
    return f"{text} (default {f'{value:g}' if isinstance(value, float) else value}; with resume the checkpoint's)"


@dataclass
class GanTrainSettings(JobSettings):
    """`vislab gan train`. None: the checkpoint's value when resuming (`resume`), else `DEFAULTS`."""

    arch: str | None = field(default=None, metadata={
        "help": _with_default("network pair", "arch"),
        "choices": ARCH_CHOICES,
        "metavar": "|".join(ARCH_CHOICES)})
    loss: str | None = field(default=None, metadata={
        "help": _with_default("bce (vanilla GAN), ls (least squares), wgan-gp or hinge", "loss"),
        "choices": LOSS_CHOICES,
        "metavar": "|".join(LOSS_CHOICES)})
    epochs: int | None = field(default=None, metadata={
        "help": _with_default("passes over the data", "epochs"),
        "min": 1})
    max_steps: int | None = field(default=None, metadata={
        "help": "stop after this many steps in total (default: no limit)",
        "min": 1})
    batch_size: int | None = field(default=None, metadata={
        "help": _with_default("global batch size, split across processes", "batch_size"),
        "min": 1})
    lr: float | None = field(default=None, metadata={
        "help": _with_default("Adam learning rate, in (0, 1]", "lr"),
        "min": 0,
        "max": 1})
    beta1: float | None = field(default=None, metadata={
        "help": _with_default("Adam beta1, in [0, 1)", "beta1"),
        "min": 0,
        "max": 1})
    beta2: float | None = field(default=None, metadata={
        "help": _with_default("Adam beta2, in [0, 1)", "beta2"),
        "min": 0,
        "max": 1})
    ema: float | None = field(default=None, metadata={
        "help": _with_default("keep an exponential moving average of the generator's weights with this decay in [0, "
                              "1) (e.g. 0.999; ramped up from 0.1 early on) and sample and score from it; 0 = off",
                              "ema"),
        "metavar": "DECAY",
        "min": 0,
        "max": 1})
    noise_dim: int | None = field(default=None, metadata={"help": _with_default("noise size", "noise_dim"), "min": 1})
    spectral_norm: bool | None = field(default=None, metadata={
        "help": "spectral normalization on the discriminator's layers"})
    data: str | None = field(default=None, metadata={
        "help": _with_default("a folder with the MNIST IDX files (gz or raw; also MNIST/raw/), 'mnist' (find or "
                              "download), 'digits' (built-in 8x8 digits, offline) or 'auto' (MNIST, else digits "
                              "with a warning)", "data"),
        "metavar": "auto|mnist|digits|DIR",
        "page": False})
    limit: int | None = field(default=None, metadata={
        "help": "use only the first N training images (default: all)",
        "min": 1})
    sample_every: int | None = field(default=None, metadata={
        "help": _with_default("save a fixed-noise sample grid every N steps", "sample_every"),
        "min": 1})
    checkpoint_every: int | None = field(default=None, metadata={
        "help": _with_default("checkpoint every N steps and at each epoch end", "checkpoint_every"),
        "min": 1})
    log_every: int | None = field(default=None, metadata={
        "help": _with_default("log losses every N steps", "log_every"),
        "min": 1})
    eval_samples: int | None = field(default=None, metadata={
        "help": _with_default("samples scored with the MNIST classifier at each epoch end, at least 2; 0 = off",
                              "eval_samples"),
        "min": 0})
    tensorboard: bool | None = field(default=None, metadata={
        "help": "also log scalars and grids for TensorBoard (needs the tensorboard package)",
        "page": False})
    seed: int | None = field(default=None, metadata={"help": _with_default("random seed", "seed"), "min": 0})
    device: str = field(default="auto", metadata={
        "help": "auto|cpu|cuda|mps (default auto: GPU when present)",
        "page": False})
    deterministic: bool = field(default=False, metadata={
        "help": DETERMINISTIC_HELP,
        "page": False})
    resume: str | None = field(default=None, metadata={
        "help": "continue a run from its checkpoint",
        "metavar": "CKPT|RUN",
        "page": False})

    DEFAULTS: ClassVar[dict[str, Any]] = TRAIN_DEFAULTS
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
        check_bool("deterministic", self.deterministic)
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

    checkpoint: str = field(default="shipped", metadata={
        "help": "checkpoint.pt or its run folder; 'shipped' (the default): the DCGAN MNIST generator that ships "
                "with vislab",
        "metavar": "CKPT|RUN",
        "input": "checkpoint:gan-train"})
    raw: bool = field(default=False, metadata={
        "help": "use the raw generator, not the moving average of its weights (for runs trained with ema; others "
                "have only the raw one)"})
    seed: int = field(default=0, metadata={"help": "random seed of the noise", "min": 0})
    device: str = field(default="auto", metadata={
        "help": "auto|cpu|cuda|mps (default auto: GPU when present)",
        "page": False})

    def validate(self) -> None:
        check_text("checkpoint", self.checkpoint)
        check_bool("raw", self.raw)
        check_seed("seed", self.seed)
        check_text("device", self.device)


@dataclass
class GanSampleSettings(GeneratorSettings):
    """`vislab gan sample`: a grid of `n` samples from a checkpoint's generator."""

    n: int = field(default=64, metadata={"help": "number of samples", "flag": "-n", "min": 1})
    output: str | None = field(default=None, metadata={
        "help": "also write the grid to this image file (.png, .jpg, ...; its folder must exist)",
        "flag": "--output",
        "short": "-o",
        "metavar": "IMAGE",
        "page": False})

    def validate(self) -> None:
        super().validate()
        check_count("n", self.n)
        if self.output is not None:
            check_text("output", self.output)


@dataclass
class GanEvalSettings(GeneratorSettings):
    """`vislab gan eval`: MNIST score, Fréchet distance and class histogram of `n` samples."""

    n: int = field(default=10000, metadata={"help": "samples to score, at least 2", "flag": "-n", "min": 2})
    data: str = field(default="auto", metadata={
        "help": "where MNIST is, for training the classifier the first time",
        "metavar": "auto|DIR",
        "page": False})

    def validate(self) -> None:
        super().validate()
        check_samples("n", self.n)
        check_text("data", self.data)
