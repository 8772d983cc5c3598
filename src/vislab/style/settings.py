"""The settings of the three pixel-optimization jobs, `style`, `invert` and `texture`: every default, allowed
value and check lives here (no torch: the CLI shows these defaults in its help).

Each job has its own class with its own defaults; `SynthesisSettings` holds what they share (the network, the
size, the optimizer, the output). Weights of the loss terms are relative: see `vislab.style.objective`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..backbones.settings import ModelSettings
from ..images import DEFAULT_PAINTING
from ..jobs import JobSettings, SettingError, check_bool, check_choice, check_number, check_seed, check_text
from ..registry import redefault

OPTIMIZER_LR = {"lbfgs": (1.0, 10.0), "adam": (0.02, 1.0)}
"""Optimizer name -> (default lr, largest lr). L-BFGS's lr scales its own step estimate (1 is its natural
step); Adam's is in pixel units, and a step beyond 1 jumps across the whole [0, 1] range."""

INITS = ("content", "recolored", "noise")
"""Named starting images (recolored: the content with the style's colour distribution); any other `init` is an
image file."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
MIN_SIZE = 16
"""Smallest longer side (pixels) the optimization runs at (the coarsest scale)."""
MAX_IMAGE_SIZE = 1_000_000
"""A sanity bound only: what fits is decided by the memory estimate (`vislab.style.memory`)."""
MAX_ITERATIONS = 100_000
MAX_SCALES = 10
MAX_WEIGHT = 1e9
"""Loss weights above this only overflow: the terms are relative errors near 1."""
MAX_STYLE_SCALE = 16.0
MAX_COARSE_FACTOR = 16.0
AUTO_COARSEST = 96
"""`scales` None halves the size while the half stays at least this many pixels (512 px: 128, 256, 512)."""
STOP_WINDOW = 10
"""Iterations over which `stop_tolerance` judges whether the loss still falls."""


@dataclass
class SynthesisSettings(JobSettings):
    """What `style`, `invert` and `texture` share: one image optimized coarse to fine with L-BFGS or Adam."""

    kind: ClassVar[str] = ""
    image_size: int = field(default=256, metadata={
        "help": "longer side of the output in pixels",
        "metavar": "PX",
        "min": 1})
    iterations: int = field(default=300, metadata={
        "help": "most optimization steps at the finest scale",
        "metavar": "N",
        "min": 1})
    scales: int | None = field(default=1, metadata={
        "help": f"coarse-to-fine scales, each twice the last; auto: halve the size while it stays "
                f">= {AUTO_COARSEST} px",
        "metavar": "K|auto",
        "min": 1,
        "max": MAX_SCALES})
    coarse_factor: float = field(default=1.0, metadata={
        "help": "each coarser scale may run F times the steps of the next finer",
        "metavar": "F",
        "min": 1,
        "max": MAX_COARSE_FACTOR})
    stop_tolerance: float = field(default=0.0, metadata={
        "help": f"end a scale when the loss fell by less than this fraction over {STOP_WINDOW} "
                "steps (0: run every step)",
        "metavar": "T",
        "min": 0,
        "max": 1})
    optimizer: str = field(default="lbfgs", metadata={"help": "optimizer", "choices": tuple(OPTIMIZER_LR)})
    lr: float | None = field(default=None, metadata={
        "help": "step size (default " + "; ".join(f"{lr:g} for {k} (at most {top:g})"
                                            for k, (lr, top) in OPTIMIZER_LR.items()) + ")",
        "min": 0})
    tv_weight: float = field(default=1.0, metadata={
        "help": "weight of the total-variation smoothness loss",
        "metavar": "W",
        "min": 0})
    seed: int = field(default=0, metadata={"help": "random seed", "min": 0})
    save_every: int | None = field(default=None, metadata={
        "help": "also save the image every N steps into the run folder (default never)",
        "metavar": "N",
        "min": 1,
        "page": False})
    output: str | None = field(default=None, metadata={
        "help": "also write the result to this image file (.png/.jpg); it is always written as result.png in the "
                "run folder",
        "flag": "--output",
        "short": "-o",
        "metavar": "FILE",
        "page": False})
    model: str = redefault(ModelSettings, "model", "efficientnet_lite0")
    weights: str | None = redefault(ModelSettings, "weights", None)
    device: str = redefault(ModelSettings, "device", "auto")

    def validate(self) -> None:
        self.validate_optimization()
        self.validate_inputs()

    def validate_optimization(self) -> None:
        """The settings of the optimization itself (what the functions on tensors, `style_transfer` etc.,
        read)."""
        check_int("image_size", self.image_size, lo=1, hi=MAX_IMAGE_SIZE)
        check_int("iterations", self.iterations, lo=1, hi=MAX_ITERATIONS)
        if self.scales is not None:
            check_int("scales", self.scales, lo=1, hi=MAX_SCALES)
        scale_sizes(self.image_size, self.scale_count)
        check_number("coarse_factor", self.coarse_factor, lo=1, hi=MAX_COARSE_FACTOR)
        check_number("stop_tolerance", self.stop_tolerance, lo=0, hi=1, hi_open=True)
        check_choice("optimizer", self.optimizer, OPTIMIZER_LR)
        if self.lr is not None:
            check_number("lr", self.lr, lo=0, lo_open=True, hi=OPTIMIZER_LR[self.optimizer][1])
        check_weight("tv_weight", self.tv_weight)
        check_seed("seed", self.seed)

    def validate_inputs(self) -> None:
        """The job's inputs and outputs: file names, the network, the device."""
        if self.save_every is not None:
            check_int("save_every", self.save_every, lo=1, hi=MAX_ITERATIONS * MAX_SCALES)
        if self.output is not None:
            check_image_name("output", self.output)
        check_text("model", self.model)
        if self.weights is not None:
            check_text("weights", self.weights)
        check_text("device", self.device)

    @property
    def scale_count(self) -> int:
        return auto_scales(self.image_size) if self.scales is None else self.scales

    @property
    def scale_iterations(self) -> list[int]:
        """The most iterations each scale runs, smallest scale first."""
        return scale_iterations(self.iterations, self.scale_count, self.coarse_factor)

    @property
    def total_steps(self) -> int:
        """The most iterations of the whole run (fewer when `stop_tolerance` ends scales early)."""
        return sum(self.scale_iterations)


@dataclass
class StyleSettings(SynthesisSettings):
    """`vislab style`: repaint `content` in the style of `styles` (Gatys et al., 2015)."""

    kind: ClassVar[str] = "style"
    # Coarse to fine by default (128, 256, 512 px), at most 150 iterations a scale, a scale ending early once
    # the loss falls < 2% in 10 iterations; a strong smoothness term against colour noise; the start in the
    # painting's colours (init "recolored"). 150: the fewest with a clear margin under the former default's
    # loss (issue 16; 120 passes by 3%, 130 by 6%). Measured in docs/style.md.
    image_size: int = redefault(SynthesisSettings, "image_size", 512)
    iterations: int = redefault(SynthesisSettings, "iterations", 150)
    scales: int | None = redefault(SynthesisSettings, "scales", None)
    stop_tolerance: float = redefault(SynthesisSettings, "stop_tolerance", 0.02)
    tv_weight: float = redefault(SynthesisSettings, "tv_weight", 50.0)
    content: str = field(default="", metadata={
        "help": "content photo (an image file or sample:NAME)",
        "metavar": "CONTENT",
        "input": "image"})
    styles: tuple[str, ...] = field(default=(DEFAULT_PAINTING,), metadata={
        "help": "style image(s); several are blended",
        "metavar": "STYLE",
        "input": "images"})
    style_blend_weights: tuple[float, ...] | None = field(default=None, metadata={
        "help": "one weight per style image (default equal); normalized to sum 1",
        "metavar": "W,W,..."})
    content_weight: float = field(default=1.0, metadata={
        "help": "weight of the content loss",
        "metavar": "W",
        "min": 0})
    style_weight: float = field(default=100.0, metadata={"help": "weight of the style loss", "metavar": "W", "min": 0})
    content_layers: tuple[str, ...] | None = field(default=None, metadata={
        "help": "content layers (default: the backbone's); an unknown name lists them all",
        "metavar": "NAME,...",
        "page": False})
    content_layer_weights: tuple[float, ...] | None = field(default=None, metadata={
        "help": "one weight per content layer (default equal)",
        "metavar": "W,...",
        "page": False})
    style_layers: tuple[str, ...] | None = field(default=None, metadata={
        "help": "style layers (default: the backbone's); an unknown name lists the backbone's layers",
        "metavar": "NAME,...",
        "page": False})
    style_layer_weights: tuple[float, ...] | None = field(default=None, metadata={
        "help": "one weight per style layer (default equal)",
        "metavar": "W,...",
        "page": False})
    style_scale: float = field(default=1.0, metadata={
        "help": "style images' size relative to the output (smaller = finer strokes)",
        "metavar": "S",
        "min": 0,
        "max": MAX_STYLE_SCALE})
    init: str = field(default="recolored", metadata={
        "help": "starting image: content, recolored (the content in the paintings' colours), noise or an image file",
        "metavar": "content|recolored|noise|FILE",
        "page_choices": INITS})
    original_colors: bool = field(default=False, metadata={
        "help": "transfer in luminance only and keep the content's colours"})

    def validate_optimization(self) -> None:
        super().validate_optimization()
        check_weights("style_blend_weights", self.style_blend_weights, len(self.styles) or None, "style image")
        check_weight("content_weight", self.content_weight)
        check_layers_and_weights("content_layers", self.content_layers, self.content_layer_weights)
        check_style_terms(self)
        if self.content_weight == 0 and self.style_weight == 0:
            raise SettingError("content_weight", "and style_weight are both 0: there is nothing to optimize")
        check_text("init", self.init)
        check_bool("original_colors", self.original_colors)

    def validate_inputs(self) -> None:
        super().validate_inputs()
        check_text("content", self.content)
        check_inputs("styles", self.styles)


@dataclass
class InvertSettings(SynthesisSettings):
    """`vislab invert`: from noise, an image whose features at `layer` match `image`'s (Mahendran & Vedaldi,
    2015). The content loss reads as the relative feature error; a little smoothness (`tv_weight`) is a prior
    that also speeds L-BFGS up a lot on directions the layer barely sees."""

    kind: ClassVar[str] = "invert"
    image_size: int = redefault(SynthesisSettings, "image_size", 256, help="longer side of the image in pixels")
    image: str = field(default="", metadata={
        "help": "image file (or sample:NAME)",
        "metavar": "IMAGE",
        "input": "image"})
    layer: str | None = field(default=None, metadata={
        "help": "layer to invert (default: the backbone's content layer); an unknown name lists them",
        "metavar": "NAME"})
    content_weight: float = field(default=1.0, metadata={
        "help": "weight of the content loss",
        "metavar": "W",
        "min": 0})

    def validate_optimization(self) -> None:
        super().validate_optimization()
        if self.layer is not None:
            check_text("layer", self.layer)
        check_weight("content_weight", self.content_weight, positive=True)

    def validate_inputs(self) -> None:
        super().validate_inputs()
        check_text("image", self.image)


@dataclass
class TextureSettings(SynthesisSettings):
    """`vislab texture`: from noise, a new image with `style`'s Gram matrices (Gatys et al., 2015); the style
    loss reads as the mean relative Gram error. The output has the style's aspect ratio."""

    kind: ClassVar[str] = "texture"
    # Coarse to fine (256 px: 128, 256) and a little smoothness: the per-pixel noise of a single scale without
    # it is gone (quality/texture.py; docs/style.md).
    iterations: int = redefault(SynthesisSettings, "iterations", 150)
    scales: int | None = redefault(SynthesisSettings, "scales", None)
    stop_tolerance: float = redefault(SynthesisSettings, "stop_tolerance", 0.02)
    tv_weight: float = redefault(SynthesisSettings, "tv_weight", 2.0)
    image_size: int = redefault(SynthesisSettings, "image_size", 256,
                                help="longer side of the output in pixels, same aspect as STYLE")
    style: str = field(default=DEFAULT_PAINTING, metadata={
        "help": "texture / style image (an image file or sample:NAME)",
        "metavar": "STYLE",
        "input": "image"})
    style_weight: float = redefault(StyleSettings, "style_weight", 1.0)
    style_layers: tuple[str, ...] | None = redefault(StyleSettings, "style_layers", None)
    style_layer_weights: tuple[float, ...] | None = redefault(StyleSettings, "style_layer_weights", None)
    style_scale: float = redefault(StyleSettings, "style_scale", 1.0)

    def validate_optimization(self) -> None:
        super().validate_optimization()
        check_style_terms(self, positive=True)

    def validate_inputs(self) -> None:
        super().validate_inputs()
        check_text("style", self.style)


INVERT_DEFAULTS = InvertSettings()
TEXTURE_DEFAULTS = TextureSettings()
Settings = StyleSettings
"""The name the course-style functions (quality/style.py, notebooks) use for style transfer's settings."""


def scale_sizes(image_size: int, scales: int) -> list[int]:
    """Longer sides of the coarse-to-fine scales, smallest first, each twice the previous."""
    sizes = [round(image_size / 2 ** k) for k in reversed(range(scales))]
    if sizes[0] < MIN_SIZE:
        raise SettingError("scales", f"{scales} with image_size {image_size} makes the smallest scale "
                                     f"{sizes[0]} px; use fewer scales or a larger size (at least {MIN_SIZE} px)")
    return sizes


def auto_scales(image_size: int) -> int:
    """How many scales `scales=None` runs: the coarsest is the smallest halving of `image_size` that keeps
    at least AUTO_COARSEST pixels (1 scale for small outputs)."""
    n = 1
    while n < MAX_SCALES and image_size / 2 ** n >= AUTO_COARSEST:
        n += 1
    return n


def scale_iterations(iterations: int, scales: int, coarse_factor: float) -> list[int]:
    """The most iterations of each scale, smallest first: `iterations` at the finest, `coarse_factor` times more
    at each coarser one (capped at MAX_ITERATIONS): most of the work where the pixels are few."""
    return [min(MAX_ITERATIONS, round(iterations * coarse_factor ** k)) for k in reversed(range(scales))]


# -- checks that name the setting --------------------------------------------------------------------------------

def check_int(name: str, value: Any, *, lo: int, hi: int | None = None) -> None:
    """A whole number of type int (3.0 is refused: counts index loops) within [lo, hi]."""
    check_number(name, value, lo=lo, hi=hi, integer=True)
    if not isinstance(value, int):
        raise SettingError(name, f"must be a whole number, got {value!r}")


def check_weight(name: str, value: Any, *, positive: bool = False) -> None:
    check_number(name, value, lo=0, lo_open=positive, hi=MAX_WEIGHT)


def check_image_name(name: str, value: Any) -> None:
    """A file name `save_image` can write: a known image suffix."""
    check_text(name, value)
    if Path(value).suffix.lower() not in IMAGE_SUFFIXES:
        raise SettingError(name, f"{value!r} has an unsupported image suffix {Path(value).suffix!r} "
                                 "(use .png or .jpg)")


def check_inputs(name: str, values: Any, item: str = "image") -> None:
    """A non-empty list of names (images, layers)."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise SettingError(name, f"must list at least one {item}, got {values!r}")
    for v in values:
        check_text(name, v)


def check_weights(name: str, weights: Any, n: int | None, item: str) -> None:
    """None, or one finite weight >= 0 per item (`n` of them, when known), not all zero."""
    if weights is None:
        return
    if isinstance(weights, str) or not isinstance(weights, Sequence) or not weights:
        raise SettingError(name, f"must list one weight per {item}, got {weights!r}")
    for w in weights:
        check_weight(name, w)
    if n is not None and len(weights) != n:
        raise SettingError(name, f"has {len(weights)} weight(s) for {n} {item}(s); give one weight each")
    if not any(weights):
        raise SettingError(name, "are all zero; give at least one positive weight")


def check_layers_and_weights(name: str, layers: Any, weights: Any) -> None:
    """Layer names (None: the backbone's defaults) and their weights; names are checked against the backbone
    when it is loaded (`vislab.style.recipe`)."""
    weights_name = name.removesuffix("s") + "_weights"
    if layers is not None:
        check_inputs(name, layers, "layer name")
        twice = sorted({n for n in layers if list(layers).count(n) > 1})
        if twice:
            raise SettingError(name, f"lists {', '.join(map(repr, twice))} more than once")
    check_weights(weights_name, weights, None if layers is None else len(layers), "layer")


def check_style_terms(s: StyleSettings | TextureSettings, *, positive: bool = False) -> None:
    """The style loss's settings, shared by `style` and `texture`."""
    check_weight("style_weight", s.style_weight, positive=positive)
    check_layers_and_weights("style_layers", s.style_layers, s.style_layer_weights)
    check_number("style_scale", s.style_scale, lo=0, lo_open=True, hi=MAX_STYLE_SCALE)
