"""The settings of the network-visualization jobs, `saliency`, `fool` and `dream`: every default, allowed value
and check lives here. The functions on tensors (`make_fooling_image`, `create_class_visualization`) take their
defaults from these classes and run the same checks, so the library, the CLI and the tour agree.

Units: pixels are in [0, 1]; so are the fooling budget `linf` and the SmoothGrad `noise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backbones.settings import IMAGES_FIELD, ModelSettings, check_count, check_texts
from ..jobs import SettingError, check_choice, check_number, check_seed
from .baselines import BASELINES, DEFAULT_BASELINE, RANDOM_BASELINES
from .maps import METHODS
from .objectives import Objective, channel, class_logit, deepdream, diversity, neuron, parse_unit
from .parameterizations import (
    MAX_LR,
    MAX_WEIGHT,
    PARAMETERIZATIONS,
    FourierParameterization,
    Parameterization,
    PixelParameterization,
    make_parameterization,
)

DREAM_MIN_SIZE = 32
MAX_BATCH = 64
"""Most images a dream grows together."""
"""Smallest dream image side: the built-in networks downsample 32 times, so a smaller image is a single
feature-map cell and the optimization has nothing to shape."""
METHOD_ALIASES = {"integrated_gradients": "ig"}
"""Other words for a saliency method (the page and the docs say "integrated gradients")."""
_F, _PX = FourierParameterization, PixelParameterization  # their defaults fill the dream settings' help texts


def check_class(name: str, value: Any, *, optional: bool = False) -> None:
    """A class given by name or index (resolved against the model's classes when the job runs)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, str) and not value.strip()):
        raise SettingError(name, f"must be a class name or index, got {value!r}")


@dataclass(kw_only=True)
class SaliencySettings(ModelSettings):
    """Saliency maps of images for a class (None: each image's predicted class)."""

    images: list[str] = field(metadata=IMAGES_FIELD)
    target: str | int | None = field(default=None, metadata={
        "help": "class name or index to explain (default: each image's predicted class)",
        "metavar": "CLASS",
        "input": "class"})
    method: str = field(default="vanilla", metadata={
        "help": "vanilla gradients, smoothgrad (averaged over noisy copies), ig (integrated gradients from a "
                "--baseline image); class activation maps at a feature --layer: gradcam, gradcam++, scorecam "
                "(forward passes only, one per channel), layercam; guided (guided backpropagation), guided-gradcam; "
                "occlusion (score drop under a sliding gray --window)",
        "choices": tuple(METHODS), "aliases": METHOD_ALIASES})
    samples: int = field(default=25, metadata={"help": "smoothgrad: noisy copies", "min": 1})
    noise: float = field(default=0.15, metadata={
        "help": "smoothgrad: noise standard deviation in pixel units, images being in [0, 1]",
        "min": 0,
        "max": 1})
    steps: int = field(default=32, metadata={
        "help": "ig: intervals the path starts with; the worst are refined",
        "min": 1})
    max_steps: int = field(default=512, metadata={"help": "ig: most gradient evaluations per image", "min": 1})
    tol: float = field(default=0.01, metadata={
        "help": "ig: refine until the attributions sum to the score difference within this fraction",
        "min": 0,
        "max": 1})
    baseline: str = field(default=DEFAULT_BASELINE, metadata={
        "help": "ig: the image the path starts from: blur (the image, widely blurred: attribution goes to the "
                "object's detail), black (the paper's; favours bright pixels and outlines) or uniform (noise in "
                "[0, 1])",
        "choices": BASELINES})
    baseline_samples: int = field(default=1, metadata={
        "help": "ig: average over this many uniform-noise baselines; each costs a full path",
        "min": 1})
    batch_size: int = field(default=16, metadata={
        "help": "smoothgrad/ig/scorecam/occlusion: network inputs per forward pass; lower it to save memory",
        "min": 1})
    layer: str | None = field(default=None, metadata={
        "help": "CAM methods: the feature layer to explain at, a name --list-layers prints (default: the last "
                "layer with a spatial output)",
        "metavar": "NAME"})
    window: int = field(default=32, metadata={"help": "occlusion: side of the gray square, pixels", "min": 1})
    stride: int = field(default=16, metadata={
        "help": "occlusion: pixels between square positions (at most --window)", "min": 1})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})

    def __post_init__(self) -> None:
        self.method = METHOD_ALIASES.get(self.method, self.method) if isinstance(self.method, str) else self.method

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
        if self.layer is not None:
            check_texts("layer", [self.layer])
        check_count("window", self.window)
        check_count("stride", self.stride)
        if self.stride > self.window:
            raise SettingError("stride", f"must be at most window ({self.window}): pixels between the squares would "
                                         f"never be covered, got {self.stride}")


@dataclass(kw_only=True)
class FoolSettings(ModelSettings):
    """A fooling image: `image` changed until the model calls it `target`."""

    image: str = field(metadata={
        "help": "image file, or sample:NAME for a built-in photo",
        "metavar": "IMAGE",
        "input": "image"})
    target: str | int = field(metadata={"help": "class name or index to reach", "metavar": "CLASS", "input": "class"})
    lr: float = field(default=0.25, metadata={"help": "L2 length of each step, in [0, 1] pixel units", "min": 0})
    max_iters: int = field(default=100, metadata={"help": "most gradient steps", "min": 1})
    linf: float | None = field(default=None, metadata={
        "help": "optional budget: change no pixel value by more than this, in [0, 1] pixel units on the page and "
                "the library, in 0-255 levels on the command line (e.g. 4); default: no budget",
        "metavar": "EPS",
        "min": 0,
        "max": 1,
        "flag_scale": 255})
    margin: float = field(default=0.01, metadata={
        "help": "stop once the target's logit leads every other class by this much",
        "min": 0})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})

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
    """A feature visualization: an image grown from noise until the model sees `class_` in it (the default
    objective), or until it drives one `channel`, one `neuron` or a whole layer (`deepdream`); exactly one of
    the four. `batch` images are grown together, pushed apart by `diversity` (weight of the Gram-matrix
    diversity term at the objective's layer).

    `lr`, `l2_reg`, `jitter`, `views`, `blur_every` and `blur_sigma` belong to the image parameterization
    (`param`); None takes that parameterization's own default, and setting one it does not use is an error."""

    class_: str | int | None = field(default=None, metadata={
        "help": "class name or index, e.g. tarantula or 76 (the objective unless --channel, --neuron or "
                "--deepdream is given)",
        "flag": "--class",
        "metavar": "NAME_OR_INDEX",
        "input": "class", "example": "tarantula"})
    channel: str | None = field(default=None, metadata={
        "help": "maximize one channel's mean activation: LAYER:INDEX, e.g. block5:17 (layers: the model's "
                "layer names)",
        "metavar": "LAYER:INDEX"})
    neuron: str | None = field(default=None, metadata={
        "help": "maximize one neuron: LAYER:INDEX (the centre of the channel's grid) or LAYER:INDEX:X,Y",
        "metavar": "LAYER:INDEX[:X,Y]"})
    deepdream: str | None = field(default=None, metadata={
        "help": "DeepDream: maximize the mean squared activation of the layer LAYER, e.g. block8",
        "metavar": "LAYER"})
    batch: int = field(default=1, metadata={"help": "images grown together", "min": 1, "max": MAX_BATCH})
    diversity: float = field(default=0.0, metadata={
        "help": "weight of the diversity term pushing the batch's images apart (channel/neuron/deepdream; "
                "needs batch >= 2)",
        "min": 0})
    param: str = field(default="fourier", metadata={
        "help": "image parameterization",
        "choices": tuple(PARAMETERIZATIONS)})
    steps: int = field(default=200, metadata={"help": "optimization steps", "min": 1})
    size: int = field(default=224, metadata={
        "help": f"image side in pixels, at least {DREAM_MIN_SIZE}",
        "min": DREAM_MIN_SIZE})
    lr: float | None = field(default=None, metadata={
        "help": f"fourier: Adam learning rate (default {_F.lr}); pixel: L2 length of a step in pixels "
                f"(default {_PX.lr})",
        "min": 0})
    l2_reg: float | None = field(default=None, metadata={
        "help": f"weight of the ||image - gray||^2 penalty (default: fourier {_F.l2_reg}, pixel {_PX.l2_reg})",
        "min": 0})
    jitter: int | None = field(default=None, metadata={
        "help": f"largest random shift per step, in pixels (default: fourier {_F.jitter}, pixel {_PX.jitter})",
        "min": 0})
    views: int | None = field(default=None, metadata={
        "help": f"fourier: randomly transformed copies averaged per step (default {_F.views})",
        "min": 1})
    blur_every: int | None = field(default=None, metadata={
        "help": f"pixel: blur every N steps, 0 = never (default {_PX.blur_every})",
        "min": 0})
    blur_sigma: float | None = field(default=None, metadata={
        "help": f"pixel: blur width in pixels (default {_PX.blur_sigma})",
        "min": 0})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})

    def parameterization(self) -> Parameterization:
        """The chosen parameterization with the settings given here (its own defaults for the rest)."""
        return make_parameterization(self.param, **{k: getattr(self, k) for k in PARAMETERIZATION_SETTINGS})

    def objective_setting(self) -> str:
        """The one objective setting given: class_ (the default), channel, neuron or deepdream."""
        given = [k for k in OBJECTIVE_SETTINGS if getattr(self, k) is not None]
        if len(given) > 1:
            raise SettingError(given[1], f"cannot be combined with {given[0]}: give only one objective (class_, "
                                         f"channel, neuron or deepdream)")
        if not given:
            raise SettingError("class_", "is required unless channel, neuron or deepdream is given")
        return given[0]

    def objective(self, target: int | None = None) -> Objective:
        """The objective to maximize (`target`: class_ resolved to an index), plus the weighted diversity."""
        kind = self.objective_setting()
        if kind == "class_":
            return class_logit(int(self.class_ if target is None else target))  # type: ignore[arg-type]
        try:
            name, index, x, y = parse_unit(getattr(self, kind), kind, position=kind == "neuron") \
                if kind != "deepdream" else (self.deepdream, 0, None, None)
        except ValueError as e:
            raise SettingError(kind, str(e)) from None
        obj = {"channel": lambda: channel(name, index), "neuron": lambda: neuron(name, index, x, y),
               "deepdream": lambda: deepdream(name)}[kind]()
        return obj + self.diversity * diversity(name) if self.diversity else obj

    def validate(self) -> None:
        super().validate()
        kind = self.objective_setting()
        if kind == "class_":
            check_class("class_", self.class_)
        elif not isinstance(getattr(self, kind), str) or not getattr(self, kind).strip():
            raise SettingError(kind, f"must be a layer name{'' if kind == 'deepdream' else ':INDEX'}, "
                                     f"got {getattr(self, kind)!r}")
        check_count("batch", self.batch, hi=MAX_BATCH)
        check_number("diversity", self.diversity, lo=0, hi=MAX_WEIGHT)
        if self.diversity and (kind == "class_" or self.batch < 2):
            raise SettingError("diversity", "needs batch >= 2 and a channel, neuron or deepdream objective")
        self.objective(0)
        check_dream(self.parameterization(), self.size, self.steps, self.seed)


OBJECTIVE_SETTINGS = ("class_", "channel", "neuron", "deepdream")
PARAMETERIZATION_SETTINGS = ("lr", "l2_reg", "jitter", "views", "blur_every", "blur_sigma")


def check_dream(param: Parameterization, size: Any, steps: Any, seed: Any) -> None:
    """The one check of a dream's size, steps, seed and parameterization settings (library and CLI)."""
    check_count("steps", steps)
    check_count("size", size, lo=DREAM_MIN_SIZE)
    check_seed("seed", seed)
    param.validate(size)


__all__ = ["SaliencySettings", "FoolSettings", "DreamSettings", "DREAM_MIN_SIZE", "PARAMETERIZATIONS",
           "check_attack", "check_dream"]
