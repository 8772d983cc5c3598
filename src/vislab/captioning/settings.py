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
from ..devices import DETERMINISTIC_HELP
from ..errors import ConfigError
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
from .sources import HELP as DATA_HELP
from .sources import parse_data_spec

ENGINES = ("numpy", "torch")
DTYPE_NAMES = ("float32", "float64")
SPLIT_CHOICES = ("train", "val", "test", "all")
DEFAULT_EPOCHS = 10
EPOCHS_MAX = 1_000_000
IMAGE_SIZE_RANGE = (16, 2048)  # smaller views leave no feature map; larger ones only cost memory
GRID_MAX = 64  # cells per side: more than a feature map has pixels only repeats values
BEAM_MAX = 1000  # beams beyond a few dozen never change a caption; past this one image takes minutes
LR_MAX = 1.0  # Adam moves each weight by about lr per step: beyond 1 nothing is learnt
GROUNDING_MAX = 100.0  # the grounding loss's weight; far past the captions' own loss it only drowns them


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
    """rnn, lstm, gru (imported when needed: the model module loads the numpy layers and scipy), transformer."""
    from .model import CELL_TYPES

    return (*CELL_TYPES, "transformer")


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

    data: str = field(default="shapes", metadata={"help": DATA_HELP, "metavar": "SPEC", "page": False})
    cell: str = field(default="lstm", metadata={
        "help": "recurrent cell, or transformer (a Transformer decoder; engine torch; with attention it looks among "
                "the feature grid's cells, else at the pooled vector)",
        "choices": ("rnn", "lstm", "gru", "transformer")})
    attention: bool = field(default=False, metadata={
        "help": "soft attention over the backbone's feature grid (Show, Attend and Tell; needs cell lstm or "
                "transformer): the model looks at a part of the picture for every word"})
    attention_grounding: float = field(default=0.0, metadata={
        "help": "weight of the grounding loss (shapes data, with attention): each colour and kind word is "
                "taught to look at its shape's box, -log(attention on the box); 0: attention learns unsupervised",
        "min": 0,
        "max": GROUNDING_MAX})
    engine: str = field(default="numpy", metadata={
        "help": "numpy (hand-written backprop) or torch (autograd; GPU, torchrun)",
        "choices": ENGINES})
    epochs: int | None = field(default=None, metadata={
        "help": f"passes over the data (default {DEFAULT_EPOCHS}; with resume, the run's own)",
        "min": 1})
    batch_size: int = field(default=64, metadata={
        "help": "captions per step (the global batch under torchrun)",
        "min": 1})
    lr: float = field(default=5e-3, metadata={"help": "Adam learning rate, in (0, 1]", "min": 0, "max": 1})
    lr_decay: float = field(default=0.9, metadata={
        "help": "lr multiplier after every epoch, in (0, 1]",
        "min": 0,
        "max": 1})
    ema: float = field(default=0.0, metadata={
        "help": "keep an exponential moving average of the weights with this decay per step (Polyak averaging, "
                "e.g. 0.99) and validate, checkpoint and caption with it; 0: off",
        "metavar": "DECAY",
        "min": 0,
        "max": 1})
    hidden_dim: int = field(default=256, metadata={"help": "units of the recurrent cell", "min": 1})
    wordvec_dim: int = field(default=128, metadata={"help": "size of the word vectors", "min": 1})
    max_length: int = field(default=16, metadata={"help": "words per caption, longer ones are cut", "min": 1})
    min_count: int = field(default=1, metadata={"help": "rarer training words become <UNK>", "min": 1})
    pca_dim: int | None = field(default=None, metadata={
        "help": "reduce image features to this many dimensions with PCA (fitted on the train split); default: "
                "keep all",
        "min": 1})
    dtype: str = field(default="float32", metadata={
        "help": "floating point type of the numpy engine",
        "choices": DTYPE_NAMES})
    save_every: int = field(default=0, metadata={
        "help": "also checkpoint every N steps (0: after each epoch only)",
        "min": 0})
    log_every: int = field(default=10, metadata={"help": "steps per logged training-loss row", "min": 1})
    eval_images: int = field(default=500, metadata={
        "help": "val images captioned for BLEU after each epoch (0: all)",
        "min": 0})
    model: str = field(default=DEFAULT_BACKBONE, metadata={
        "help": "the backbone that turns images into features",
        "metavar": "NAME",
        "page": False})
    weights: str | None = field(default=None, metadata={
        "help": "weights file for the backbone (state dict); default: the backbone's own source",
        "metavar": "FILE",
        "page": False})
    image_size: int | None = field(default=None, metadata={
        "help": "side of the square view the backbone sees (default 224; 128 for shapes)",
        "min": 16})
    feature_layer: str | None = field(default=None, metadata={
        "help": "take features from this backbone layer instead of the penultimate one",
        "metavar": "NAME",
        "page": False})
    feature_grid: str | None = field(default=None, metadata={
        "help": "average-pool the layer over an R x C grid instead of globally (e.g. 1x3)",
        "metavar": "RxC",
        "page": False})
    no_cache: bool = field(default=False, metadata={"help": "do not read or write the feature cache", "page": False})
    resume: str | None = field(default=None, metadata={
        "help": "continue a run from its checkpoint (run folder or checkpoint file), in its folder and with its "
                "settings; epochs, device and no_cache may differ",
        "metavar": "RUN",
        "page": False})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})
    device: str = field(default="auto", metadata={
        "help": "auto|cpu|cuda|mps (default auto: GPU when present)",
        "page": False})
    deterministic: bool = field(default=False, metadata={"help": DETERMINISTIC_HELP, "page": False})

    CHANGEABLE_ON_RESUME: ClassVar[tuple[str, ...]] = ("epochs", "no_cache", "resume", "device",
                                                      "deterministic")

    @property
    def total_epochs(self) -> int:
        return DEFAULT_EPOCHS if self.epochs is None else self.epochs

    def validate(self) -> None:
        _validate(self, _TRAIN_CHECKS)
        if self.attention and self.cell not in ("lstm", "transformer"):
            raise SettingError("attention", f"needs cell lstm or transformer, got cell {self.cell}")
        if self.cell == "transformer":
            _check_transformer(self)
        if self.attention and self.pca_dim is not None:
            raise SettingError("pca_dim", "does not apply with attention (it would mix the grid's cells)")
        if self.attention_grounding and not self.attention:
            raise SettingError("attention_grounding", "needs attention (it teaches the attention weights)")
        if self.attention_grounding and parse_data_spec(self.data).kind != "shapes":
            raise SettingError("attention_grounding", f"needs the built-in shapes data (the only captions here with "
                                                      f"boxes), not {self.data}")


def _check_transformer(s: CaptionTrainSettings) -> None:
    from .transformer import HEADS

    if s.engine != "torch":
        raise SettingError("engine", f"must be torch for cell transformer (it has no numpy engine), got {s.engine}")
    if s.wordvec_dim % HEADS:
        raise SettingError("wordvec_dim", f"must be a multiple of {HEADS} for cell transformer (its attention "
                                          f"heads), got {s.wordvec_dim}")


_TRAIN_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "data": lambda n, v: parse_data_spec(v, n),
    "cell": lambda n, v: check_choice(n, v, cell_types()),
    "attention": check_bool,
    "attention_grounding": lambda n, v: check_number(n, v, lo=0, hi=GROUNDING_MAX),
    "engine": lambda n, v: check_choice(n, v, ENGINES),
    "epochs": _optional(check_count, hi=EPOCHS_MAX),
    "batch_size": check_count, "hidden_dim": check_count, "wordvec_dim": check_count,
    "max_length": check_count, "min_count": check_count, "log_every": check_count,
    "lr": lambda n, v: check_positive(n, v, hi=LR_MAX),
    "lr_decay": lambda n, v: check_positive(n, v, hi=1),
    "ema": lambda n, v: check_number(n, v, lo=0, hi=1, hi_open=True),
    "pca_dim": _optional(check_count),
    "dtype": lambda n, v: check_choice(n, v, DTYPE_NAMES),
    "save_every": lambda n, v: check_count(n, v, lo=0),
    "eval_images": lambda n, v: check_count(n, v, lo=0),
    "model": check_text, "weights": _optional(check_file),
    "image_size": _optional(check_count, lo=IMAGE_SIZE_RANGE[0], hi=IMAGE_SIZE_RANGE[1]),
    "feature_layer": _optional(check_text), "feature_grid": _optional(lambda n, v: parse_grid(v, n)),
    "no_cache": check_bool, "resume": _optional(check_text), "seed": check_seed, "device": check_device,
    "deterministic": check_bool,
}


@dataclass
class CaptionEvalSettings(JobSettings):
    """`vislab caption eval`: captions for every image of a split, scored with BLEU-1..4 and CIDEr-D."""

    checkpoint: str | None = field(default=None, metadata={
        "help": "a captioning checkpoint (or its run folder)",
        "metavar": "CKPT",
        "input": "checkpoint:caption-train"})
    data: str | None = field(default=None, metadata={
        "help": DATA_HELP + " (default: the training data)",
        "metavar": "SPEC",
        "page": False})
    split: str = field(default="test", metadata={"help": "the split to caption and score", "choices": SPLIT_CHOICES})
    beam: int = field(default=1, metadata={"help": "beam size (1: greedy decoding)", "min": 1, "max": BEAM_MAX})
    no_cache: bool = field(default=False, metadata={"help": "do not read or write the feature cache", "page": False})
    device: str = field(default="auto", metadata={
        "help": "auto|cpu|cuda|mps (default auto: GPU when present)",
        "page": False})

    def validate(self) -> None:
        _validate(self, {
            "checkpoint": _required_checkpoint, "data": _optional(lambda n, v: parse_data_spec(v, n)),
            "split": lambda n, v: check_choice(n, v, SPLIT_CHOICES),
            "beam": lambda n, v: check_count(n, v, hi=BEAM_MAX), "no_cache": check_bool, "device": check_device})


@dataclass
class CaptionSettings(JobSettings):
    """`vislab caption IMAGE...`: one caption per image file (``sample:NAME`` for a built-in photo)."""

    images: list[str] = field(default_factory=list, metadata={
        "help": "image files, or sample:NAME for a built-in photo",
        "metavar": "IMAGE",
        "input": "images"})
    checkpoint: str | None = field(default=None, metadata={
        "help": "a captioning checkpoint (or its run folder); default: the shipped shapes captioner (with "
                "attention; it knows only the built-in shapes pictures)",
        "metavar": "CKPT",
        "input": "checkpoint:caption-train"})
    beam: int = field(default=1, metadata={"help": "beam size (1: greedy decoding)", "min": 1, "max": BEAM_MAX})
    attention: bool = field(default=False, metadata={
        "help": "also draw where the model looked for each word (a strip of attention maps per image; models "
                "trained with attention)"})
    device: str = field(default="auto", metadata={
        "help": "auto|cpu|cuda|mps (default auto: GPU when present)",
        "page": False})

    def validate(self) -> None:
        _validate(self, {
            "images": _check_images, "checkpoint": _optional(check_text),
            "beam": lambda n, v: check_count(n, v, hi=BEAM_MAX), "attention": check_bool, "device": check_device})


def _required_checkpoint(name: str, value: Any) -> None:
    if value is None or value == "":
        raise SettingError(name, "must be given: a captioning checkpoint, or the run folder of `caption train`")
    check_text(name, value)


def _check_images(name: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)) or not value:
        raise SettingError(name, f"must list at least one image file, got {value!r}")
    for v in value:
        check_text(name, v)
