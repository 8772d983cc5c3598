"""Style transfer, feature inversion and texture synthesis: one pixel optimization with three objectives.

- `style_transfer`: content + style (+ TV) from the content image (Gatys et al., 2015).
- `invert`: content loss at one layer only, from noise (Mahendran & Vedaldi, 2015): what does the layer keep?
- `texture`: style loss only, from noise (Gatys et al., 2015, texture synthesis).

Large outputs go coarse to fine (``scales``): optimize at 1/2^k of the size, upsample, continue; the cheap
small scales lay out the strokes so the full-size scale only refines them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from ..backbones import Backbone
from ..errors import ConfigError
from ..images import resize
from . import colors
from .objective import Objective, Terms, check_layers, relative_weights
from .optimize import optimize_pixels
from .settings import INVERT_DEFAULTS, TEXTURE_DEFAULTS, Settings

__all__ = ["Settings", "INVERT_DEFAULTS", "TEXTURE_DEFAULTS", "Step", "Result", "style_transfer", "invert",
           "texture", "check_settings", "fit", "scale_sizes"]

MIN_SIZE = 16
"""Smallest image side (pixels) the optimization runs at."""


@dataclass
class Step:
    """What an `on_step` callback sees after each iteration."""

    scale: int  # 0 .. scales-1
    size: tuple[int, int]  # (H, W) at this scale
    iteration: int  # within this scale, from 1
    step: int  # over all scales, from 1
    terms: dict[str, float]  # losses of the image that entered this iteration
    image: torch.Tensor  # (1, 3, H, W) after this iteration; the optimizer keeps changing it: copy to keep


@dataclass
class Result:
    image: torch.Tensor  # (3, H, W) in [0, 1]
    start: dict[str, float]  # losses of the initial image (first scale)
    final: dict[str, float]  # losses of the returned image (last scale, before any colour transfer)
    history: list[dict] = field(default_factory=list)  # per step: scale, step, total, content, style, tv


def fit(img: torch.Tensor, longer: int) -> torch.Tensor:
    """(3, H, W) -> (1, 3, h, w) with the longer side `longer`, aspect ratio kept."""
    h, w = img.shape[-2:]
    s = longer / max(h, w)
    return resize(img, (max(1, round(h * s)), max(1, round(w * s))))[None]


def scale_sizes(image_size: int, scales: int) -> list[int]:
    """Longer sides of the coarse-to-fine scales, smallest first, each twice the previous."""
    sizes = [round(image_size / 2 ** k) for k in reversed(range(scales))]
    if sizes[0] < MIN_SIZE:
        raise ConfigError(f"--scales {scales} with --image-size {image_size} makes the smallest scale "
                          f"{sizes[0]} px; use fewer scales or a larger size (at least {MIN_SIZE} px)")
    return sizes


def style_transfer(backbone: Backbone, content: torch.Tensor, styles: Sequence[torch.Tensor],
                   settings: Settings | None = None, *, init_image: torch.Tensor | None = None,
                   on_step: Callable[[Step], None] | None = None, progress: bool = False) -> Result:
    """Repaint `content` (3, H, W) in the style of `styles` (each (3, H, W)), all in [0, 1]."""
    s = settings or Settings()
    if not styles:
        raise ConfigError("give at least one style image")
    if s.original_colors:
        styles = [colors.match_luminance(st, content) for st in styles]
        result = _synthesize(backbone, colors.luminance(content), styles, s, init_image, on_step, progress,
                             "style")
        result.image = colors.keep_colors(result.image, content)
        return result
    return _synthesize(backbone, content, styles, s, init_image, on_step, progress, "style")


def invert(backbone: Backbone, image: torch.Tensor, layer: str, settings: Settings | None = None, *,
           on_step: Callable[[Step], None] | None = None, progress: bool = False) -> Result:
    """An image whose features at `layer` match those of `image`, found from noise (content loss only)."""
    s = replace(settings or INVERT_DEFAULTS, content_layers=(layer,), content_layer_weights=None)
    return _synthesize(backbone, image, [], s, None, on_step, progress, "invert")


def texture(backbone: Backbone, style: torch.Tensor, settings: Settings | None = None, *,
            on_step: Callable[[Step], None] | None = None, progress: bool = False) -> Result:
    """A new image with the style's Gram matrices (its texture), found from noise (style loss only); it has
    the style's aspect ratio and the longer side ``image_size``."""
    return _synthesize(backbone, None, [style], settings or TEXTURE_DEFAULTS, None, on_step, progress,
                       "texture", shape_like=style)


def check_settings(backbone: Backbone, s: Settings, *, content: bool, n_styles: int,
                   content_flag: str = "--content-layers") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Raise `ConfigError` for anything in `s` that cannot work, before any optimization starts; returns the
    content and style layers the run uses (the backbone's defaults unless given). `content` / `n_styles` say
    which terms the run has (feature inversion: no styles; texture synthesis: no content)."""
    styles = n_styles > 0
    weights = [f for f, on in (("--content-weight", content), ("--style-weight", styles)) if on]
    if (not content or s.content_weight == 0) and (not styles or s.style_weight == 0):
        raise ConfigError(f"{' and '.join(weights)} {'are both' if len(weights) > 1 else 'is'} 0: "
                          "there is nothing to optimize")
    content_layers = tuple(s.content_layers or backbone.default_content_layers) if content else ()
    style_layers = tuple(s.style_layers or backbone.default_style_layers) if styles else ()
    check_layers(backbone, content_layers, content_flag)
    check_layers(backbone, style_layers, "--style-layers")
    if content and not content_layers:
        raise ConfigError(f"{backbone.name} has no default content layers; give {content_flag}")
    if styles and not style_layers:
        raise ConfigError(f"{backbone.name} has no default style layers; give --style-layers")
    if content:
        relative_weights(s.content_layer_weights, len(content_layers), "--content-layer-weights")
    if styles:
        relative_weights(s.style_layer_weights, len(style_layers), "--style-layer-weights")
        relative_weights(s.blend_weights, n_styles, "--style-blend-weights")
    if s.init not in ("content", "noise", "image"):
        raise ConfigError(f"--init {s.init!r}: use content, noise or an image file")
    if s.init == "content" and not content:
        raise ConfigError("--init content needs a content image")
    if s.optimizer not in ("lbfgs", "adam"):
        raise ConfigError(f"--optimizer {s.optimizer!r}: use lbfgs or adam")
    scale_sizes(s.image_size, s.scales)
    return content_layers, style_layers


def _synthesize(backbone: Backbone, content: torch.Tensor | None, styles: Sequence[torch.Tensor], s: Settings,
                init_image: torch.Tensor | None, on_step: Callable[[Step], None] | None, progress: bool,
                desc: str, shape_like: torch.Tensor | None = None) -> Result:
    """The shared loop: for each scale, build the objective at that size, start from the previous scale's
    result (upsampled) or the initial image, and optimize."""
    content_layers, style_layers = check_settings(
        backbone, s, content=content is not None, n_styles=len(styles),
        content_flag="--layer" if desc == "invert" else "--content-layers")
    if s.init == "image" and init_image is None:
        raise ConfigError("--init image needs an init image")
    device = backbone.device
    shape_src = content if content is not None else shape_like
    history: list[dict] = []
    x = objective = None
    for k, size in enumerate(scale_sizes(s.image_size, s.scales)):
        hw = tuple(fit(shape_src, size).shape[-2:])
        c = fit(content, size).to(device) if content is not None else None
        style_size = max(MIN_SIZE, round(size * s.style_scale))
        objective = Objective(
            backbone, content=c, styles=[fit(st, style_size).to(device) for st in styles],
            content_layers=content_layers, style_layers=style_layers,
            content_layer_weights=s.content_layer_weights, style_layer_weights=s.style_layer_weights,
            blend_weights=s.blend_weights if styles else None, content_weight=s.content_weight,
            style_weight=s.style_weight, tv_weight=s.tv_weight)
        if x is None:
            x = _initial_image(s, c, init_image, hw).to(device)
        else:
            x = F.interpolate(x, size=hw, mode="bilinear", align_corners=False)
        bar = _progress(progress, s.iterations, f"{desc} {hw[1]}x{hw[0]}")

        def record(it: int, terms: Terms, img: torch.Tensor, k=k, hw=hw, bar=bar) -> None:
            vals = terms.floats()
            history.append({"scale": k, "step": len(history) + 1, **vals})
            if bar is not None:
                bar.update(1)
                bar.set_postfix(content=f"{vals['content']:.3g}", style=f"{vals['style']:.3g}",
                                tv=f"{vals['tv']:.3g}", refresh=False)
            if on_step is not None:
                on_step(Step(k, hw, it, len(history), vals, img))

        try:
            x = optimize_pixels(x, objective, iterations=s.iterations, optimizer=s.optimizer, lr=s.lr,
                                on_step=record)
        finally:
            if bar is not None:
                bar.close()
    with torch.no_grad():
        final = objective(x).floats()
    start = {k: v for k, v in history[0].items() if k not in ("scale", "step")}
    return Result(x[0].cpu(), start, final, history)


def _initial_image(s: Settings, content: torch.Tensor | None, init_image: torch.Tensor | None,
                   hw: tuple[int, int]) -> torch.Tensor:
    if s.init == "content":
        return content.clone()
    if s.init == "noise":
        # Uniform noise from a generator of its own, so a seed gives the same start on every device.
        return torch.rand((1, 3, *hw), generator=torch.Generator().manual_seed(s.seed))
    return resize(init_image, hw)[None].clamp(0, 1)


def _progress(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="it", leave=False, dynamic_ncols=True)
