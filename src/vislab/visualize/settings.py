"""The settings of the network-visualization jobs, `saliency`, `fool` and `dream`: every default, allowed value
and check lives here. The functions on tensors (`make_fooling_image`, `create_class_visualization`) take their
defaults from these classes and run the same checks, so the library, the CLI and the tour agree.

Units: pixels are in [0, 1]; so are the fooling budget `linf` and the SmoothGrad `noise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backbones.settings import ModelSettings, check_count, check_texts
from ..jobs import SettingError, check_choice, check_number, check_seed
from .baselines import BASELINES, DEFAULT_BASELINE, RANDOM_BASELINES
from .maps import METHODS
from .parameterizations import MAX_LR, PARAMETERIZATIONS, Parameterization, make_parameterization

DREAM_MIN_SIZE = 32
"""Smallest dream image side: the built-in networks downsample 32 times, so a smaller image is a single
feature-map cell and the optimization has nothing to shape."""


def check_class(name: str, value: Any, *, optional: bool = False) -> None:
    """A class given by name or index (resolved against the model's classes when the job runs)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, str) and not value.strip()):
        raise SettingError(name, f"must be a class name or index, got {value!r}")


@dataclass(kw_only=True)
class SaliencySettings(ModelSettings):
    """Saliency maps of images for a class (None: each image's predicted class)."""

    images: list[str]  # image files, or sample:NAME
    target: str | int | None = None
    method: str = "vanilla"  # one of `maps.METHODS`
    samples: int = 25  # smoothgrad: noisy copies per image
    noise: float = 0.15  # smoothgrad: noise standard deviation, [0, 1] pixel units
    steps: int = 32  # ig: intervals the path starts with
    max_steps: int = 512  # ig: most gradient evaluations per image
    tol: float = 0.01  # ig: allowed completeness error, a fraction of the score difference
    baseline: str = DEFAULT_BASELINE  # ig: one of `baselines.BASELINES`
    baseline_samples: int = 1  # ig: random baselines averaged (uniform only)
    batch_size: int = 16  # smoothgrad/ig: network inputs per forward pass
    seed: int = 0

    def validate(self) -> None:
        super().validate()
        check_texts("images", self.images)
        check_class("target", self.target, optional=True)
        check_choice("method", self.method, METHODS)
        check_count("samples", self.samples)
        check_number("noise", self.noise, lo=0, hi=1)
        check_count("steps", self.steps)
        check_count("max_steps", self.max_steps)
        if self.max_steps < self.steps:
            raise SettingError("max_steps", f"must be at least steps ({self.steps}), got {self.max_steps}")
        check_number("tol", self.tol, lo=0, hi=1)
        check_choice("baseline", self.baseline, BASELINES)
        check_count("baseline_samples", self.baseline_samples)
        if self.baseline_samples > 1 and self.baseline not in RANDOM_BASELINES:
            raise SettingError("baseline_samples", f"averages random baselines ({', '.join(RANDOM_BASELINES)}); "
                                                   f"the {self.baseline} baseline is one image, so it must be 1, "
                                                   f"got {self.baseline_samples}")
        check_count("batch_size", self.batch_size)
        check_seed("seed", self.seed)


@dataclass(kw_only=True)
class FoolSettings(ModelSettings):
    """A fooling image: `image` changed until the model calls it `target`."""

    image: str  # an image file, or sample:NAME
    target: str | int
    lr: float = 0.25  # L2 length of each step, [0, 1] pixel units
    max_iters: int = 100  # most gradient steps
    linf: float | None = None  # optional budget: no pixel moves more than this, [0, 1] pixel units
    margin: float = 0.01  # stop once the target's logit leads every other class by this much
    seed: int = 0

    def validate(self) -> None:
        super().validate()
        check_texts("image", [self.image])
        check_class("target", self.target)
        check_attack(self.lr, self.max_iters, self.linf, self.margin)
        check_seed("seed", self.seed)


def check_attack(lr: Any, max_iters: Any, linf: Any, margin: Any) -> None:
    """The fooling loop's own settings (`make_fooling_image` checks these too)."""
    check_number("lr", lr, lo=0, lo_open=True, hi=MAX_LR)
    check_count("max_iters", max_iters)
    check_number("margin", margin, lo=0)
    if linf is not None:
        check_number("linf", linf)
        if not 0 < linf <= 1:
            raise SettingError("linf", f"must be in (0, 1]: the L-inf budget is in [0, 1] pixel units (4 levels of "
                                       f"255 = {4 / 255:.4f}), got {linf:g} (= {linf * 255:g}/255)")


@dataclass(kw_only=True)
class DreamSettings(ModelSettings):
    """A class visualization: an image grown from noise until the model sees `class_` in it.

    `lr`, `l2_reg`, `jitter`, `views`, `blur_every` and `blur_sigma` belong to the image parameterization
    (`param`); None takes that parameterization's own default, and setting one it does not use is an error."""

    class_: str | int
    param: str = "fourier"  # one of `parameterizations.PARAMETERIZATIONS`
    steps: int = 200
    size: int = 224  # image side, pixels
    lr: float | None = None
    l2_reg: float | None = None
    jitter: int | None = None
    views: int | None = None
    blur_every: int | None = None
    blur_sigma: float | None = None
    seed: int = 0

    def parameterization(self) -> Parameterization:
        """The chosen parameterization with the settings given here (its own defaults for the rest)."""
        return make_parameterization(self.param, **{k: getattr(self, k) for k in PARAMETERIZATION_SETTINGS})

    def validate(self) -> None:
        super().validate()
        check_class("class_", self.class_)
        check_dream(self.parameterization(), self.size, self.steps, self.seed)


PARAMETERIZATION_SETTINGS = ("lr", "l2_reg", "jitter", "views", "blur_every", "blur_sigma")


def check_dream(param: Parameterization, size: Any, steps: Any, seed: Any) -> None:
    """The one check of a dream's size, steps, seed and parameterization settings (library and CLI)."""
    check_count("steps", steps)
    check_count("size", size, lo=DREAM_MIN_SIZE)
    check_seed("seed", seed)
    param.validate(size)


__all__ = ["SaliencySettings", "FoolSettings", "DreamSettings", "DREAM_MIN_SIZE", "PARAMETERIZATIONS",
           "check_attack", "check_dream"]
