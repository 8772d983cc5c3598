"""The settings of a style-transfer, inversion or texture run (no torch here: the CLI shows the defaults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Settings:
    """Everything that defines a run. Weights are relative: see `vislab.style.objective`."""

    content_layers: tuple[str, ...] | None = None  # None: the backbone's default_content_layers
    style_layers: tuple[str, ...] | None = None  # None: the backbone's default_style_layers
    content_layer_weights: tuple[float, ...] | None = None  # None: equal
    style_layer_weights: tuple[float, ...] | None = None
    blend_weights: tuple[float, ...] | None = None  # one per style image; None: equal
    content_weight: float = 1.0
    style_weight: float = 100.0
    tv_weight: float = 1.0
    image_size: int = 256  # longer side of the output, pixels
    style_scale: float = 1.0  # style images' longer side = style_scale * the output's
    init: str = "content"  # content | noise | image (then pass init_image)
    optimizer: str = "lbfgs"
    lr: float | None = None  # None: 1 for L-BFGS, 0.02 for Adam
    iterations: int = 300  # per scale
    scales: int = 1
    original_colors: bool = False
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


INVERT_DEFAULTS = Settings(init="noise", content_weight=1.0, style_weight=0.0, tv_weight=1.0)
"""`invert`'s defaults: content loss only (it reads as the relative feature error) plus a little smoothness,
a prior (Mahendran & Vedaldi) that also speeds L-BFGS up a lot on directions the layer barely sees."""

TEXTURE_DEFAULTS = Settings(init="noise", content_weight=0.0, style_weight=1.0, tv_weight=0.0)
"""`texture`'s defaults: style loss only (it reads as the mean relative Gram error), from noise."""
