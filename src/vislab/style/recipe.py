"""What one job optimizes, in the terms of `Objective`: its layers (resolved against the backbone), weights and
start. Each job's settings make one; the shared loop in `vislab.style.transfer` runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..backbones import Backbone
from ..jobs import SettingError
from .objective import check_layers, relative_weights
from .settings import INITS, InvertSettings, StyleSettings, TextureSettings


@dataclass
class Recipe:
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    content_layer_weights: tuple[float, ...] | None = None  # None: equal
    style_layer_weights: tuple[float, ...] | None = None
    blend_weights: tuple[float, ...] | None = None  # one per style image
    content_weight: float = 0.0
    style_weight: float = 0.0
    style_scale: float = 1.0
    init: str = "noise"  # content | noise | image

    @property
    def layers(self) -> list[str]:
        """Every layer the objective reads, content layers first."""
        return list(dict.fromkeys(self.content_layers + self.style_layers))


def style_recipe(backbone: Backbone, s: StyleSettings, n_styles: int) -> Recipe:
    """Content + style (+ TV) from the content image, noise or an image file (`init`)."""
    if s.style_blend_weights is not None:
        relative_weights(s.style_blend_weights, n_styles, "style_blend_weights")
    return Recipe(
        content_layers=resolve_layers(backbone, s.content_layers, "content_layers", s.content_layer_weights,
                                      "content_layer_weights") if s.content_weight or s.content_layers else (),
        style_layers=resolve_layers(backbone, s.style_layers, "style_layers", s.style_layer_weights,
                                    "style_layer_weights") if s.style_weight or s.style_layers else (),
        content_layer_weights=s.content_layer_weights, style_layer_weights=s.style_layer_weights,
        blend_weights=s.style_blend_weights, content_weight=s.content_weight, style_weight=s.style_weight,
        style_scale=s.style_scale, init=s.init if s.init in INITS else "image")


def invert_recipe(backbone: Backbone, s: InvertSettings, layer: str | None = None) -> Recipe:
    """Content loss at one layer (`layer`, else the settings', else the backbone's first content layer)."""
    layer = layer or s.layer
    return Recipe(content_layers=resolve_layers(backbone, (layer,) if layer else None, "layer"),
                  content_weight=s.content_weight)


def texture_recipe(backbone: Backbone, s: TextureSettings) -> Recipe:
    """Style loss only, from noise."""
    return Recipe(style_layers=resolve_layers(backbone, s.style_layers, "style_layers", s.style_layer_weights,
                                              "style_layer_weights"),
                  style_layer_weights=s.style_layer_weights, style_weight=s.style_weight,
                  style_scale=s.style_scale)


def resolve_layers(backbone: Backbone, given: Sequence[str] | None, setting: str,
                   weights: Sequence[float] | None = None, weights_setting: str = "") -> tuple[str, ...]:
    """The layers named by `setting` (the backbone's defaults when None), checked, with one weight each."""
    kind = "style" if "style" in setting else "content"
    default = backbone.default_style_layers if kind == "style" else backbone.default_content_layers
    layers = tuple(given) if given else tuple(default or ())[: 1 if setting == "layer" else None]
    if not layers:
        raise SettingError(setting, f"must be given: {backbone.name} has no default {kind} layers")
    check_layers(backbone, layers, setting)
    if weights is not None:
        relative_weights(weights, len(layers), weights_setting)
    return layers
