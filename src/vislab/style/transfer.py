"""Style transfer, feature inversion and texture synthesis: one pixel optimization with three objectives.

- `style_transfer`: content + style (+ TV) from the content image (Gatys et al., 2015).
- `invert`: content loss at one layer only, from noise (Mahendran & Vedaldi, 2015): what does the layer keep?
- `texture`: style loss only, from noise (Gatys et al., 2015, texture synthesis).

Large outputs go coarse to fine (``scales``): optimize at 1/2^k of the size, upsample, continue; the cheap
small scales lay out the strokes so the full-size scale only refines them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F

from ..backbones import Backbone
from ..images import resize
from ..jobs import SettingError
from ..progress import terminal_progress
from . import colors
from .inputs import check_sizes, fit, style_side
from .objective import Objective, Terms
from .optimize import optimize_pixels
from .recipe import Recipe, invert_recipe, style_recipe, texture_recipe
from .settings import (
    INVERT_DEFAULTS,
    MIN_SIZE,
    TEXTURE_DEFAULTS,
    InvertSettings,
    Settings,
    StyleSettings,
    SynthesisSettings,
    TextureSettings,
    scale_sizes,
)

__all__ = ["Settings", "StyleSettings", "InvertSettings", "TextureSettings", "INVERT_DEFAULTS",
           "TEXTURE_DEFAULTS", "MIN_SIZE", "Step", "Result", "style_transfer", "invert", "texture", "synthesize",
           "fit", "scale_sizes"]

StopFn = Callable[[], bool]


@dataclass
class Step:
    """What an `on_step` callback sees after each iteration."""

    scale: int  # 0 .. scales-1
    size: tuple[int, int]  # (H, W) at this scale
    iteration: int  # within this scale, from 1
    step: int  # over all scales, from 1
    planned: int  # where this step is in the plan of `SynthesisSettings.total_steps` (scales may end early)
    terms: dict[str, float]  # losses of the image that entered this iteration
    image: torch.Tensor  # (1, 3, H, W) after this iteration; the optimizer keeps changing it: copy to keep


@dataclass
class Result:
    image: torch.Tensor  # (3, H, W) in [0, 1]
    start: dict[str, float]  # losses of the initial image (first scale)
    final: dict[str, float]  # losses of the returned image (last scale, before any colour transfer)
    history: list[dict] = field(default_factory=list)  # per step: scale, step, total, content, style, tv
    stopped: bool = False  # `should_stop` ended it early: `image` is the image so far


def style_transfer(backbone: Backbone, content: torch.Tensor, styles: Sequence[torch.Tensor],
                   settings: StyleSettings | None = None, *, init_image: torch.Tensor | None = None,
                   on_step: Callable[[Step], None] | None = None, progress: bool = False,
                   should_stop: StopFn | None = None, recipe: Recipe | None = None) -> Result:
    """Repaint `content` (3, H, W) in the style of `styles` (each (3, H, W)), all in [0, 1]. With an image file
    as ``settings.init``, pass its pixels as `init_image`. `recipe`: the plan a job already checked (settings,
    sizes) and made; None checks the settings and makes it here."""
    s = settings or StyleSettings()
    checked = recipe is not None
    if not checked:
        s.validate_optimization()
        if not styles:
            raise SettingError("styles", "must list at least one image")
        recipe = style_recipe(backbone, s, len(styles))
    if recipe.init == "image" and init_image is None:
        raise SettingError("init", f"names an image file ({s.init!r}): pass its pixels as init_image")
    run = dict(init_image=init_image, on_step=on_step, progress=progress, should_stop=should_stop, desc="style",
               checked=checked)
    if not s.original_colors:
        return synthesize(backbone, content, styles, s, recipe, **run)
    styles = [colors.match_luminance(st, content) for st in styles]
    result = synthesize(backbone, colors.luminance(content), styles, s, recipe, **run)
    result.image = colors.keep_colors(result.image, content)
    return result


def invert(backbone: Backbone, image: torch.Tensor, layer: str | None = None,
           settings: InvertSettings | None = None, *, on_step: Callable[[Step], None] | None = None,
           progress: bool = False, should_stop: StopFn | None = None, recipe: Recipe | None = None) -> Result:
    """An image whose features at `layer` (else ``settings.layer``, else the backbone's content layer) match
    those of `image`, found from noise (content loss only). `recipe`: a job's checked plan (see
    `style_transfer`)."""
    s = settings or INVERT_DEFAULTS
    checked = recipe is not None
    if not checked:
        s.validate_optimization()
        recipe = invert_recipe(backbone, s, layer)
    return synthesize(backbone, image, [], s, recipe, on_step=on_step, progress=progress, should_stop=should_stop,
                      desc="invert", checked=checked)


def texture(backbone: Backbone, style: torch.Tensor, settings: TextureSettings | None = None, *,
            on_step: Callable[[Step], None] | None = None, progress: bool = False,
            should_stop: StopFn | None = None, recipe: Recipe | None = None) -> Result:
    """A new image with the style's Gram matrices (its texture), found from noise (style loss only); it has
    the style's aspect ratio and the longer side ``image_size``. `recipe`: a job's checked plan (see
    `style_transfer`)."""
    s = settings or TEXTURE_DEFAULTS
    checked = recipe is not None
    if not checked:
        s.validate_optimization()
        recipe = texture_recipe(backbone, s)
    return synthesize(backbone, None, [style], s, recipe, on_step=on_step, progress=progress,
                      should_stop=should_stop, desc="texture", shape_like=style, checked=checked)


def synthesize(backbone: Backbone, content: torch.Tensor | None, styles: Sequence[torch.Tensor],
               s: SynthesisSettings, recipe: Recipe, *, init_image: torch.Tensor | None = None,
               on_step: Callable[[Step], None] | None = None, progress: bool = False,
               should_stop: StopFn | None = None, desc: str = "synthesize",
               shape_like: torch.Tensor | None = None, checked: bool = False) -> Result:
    """The shared loop: for each scale, build the objective at that size, start from the previous scale's
    result (upsampled) or the initial image, and optimize. The output has `content`'s (else `shape_like`'s)
    aspect ratio. `checked`: the caller checked the sizes already (a job, before its run folder)."""
    shape_src = content if content is not None else shape_like
    if not checked:
        check_sizes(s.image_size, s.scale_count, recipe.style_scale, shape=shape_src.shape,
                    styles=[(f"style image {i + 1}", st.shape) for i, st in enumerate(styles)])
    history: list[dict] = []
    stop = _Latch(should_stop)
    x = objective = base_prev = None
    plan = s.scale_iterations
    for k, size in enumerate(scale_sizes(s.image_size, s.scale_count)):
        objective, c = _objective_at(backbone, recipe, content, styles, size, s.tv_weight)
        hw = tuple(fit(shape_src, size).shape[-2:])
        base = _start_picture(recipe, c, styles)  # what a start at this scale would be (None: noise or a file)
        if x is None:
            x = _initial_image(recipe.init, s.seed, base, init_image, hw).to(backbone.device)
        else:
            x = _upsample(x, hw, base, base_prev)
        base_prev = base
        with terminal_progress(f"{desc} {hw[1]}x{hw[0]}", enabled=progress) as bar:
            record = _recorder(history, k, hw, on_step, partial(bar, total=plan[k]) if progress else None,
                               sum(plan[:k]))
            x = optimize_pixels(x, objective, iterations=plan[k], optimizer=s.optimizer, lr=s.lr, on_step=record,
                                should_stop=stop, stop_tolerance=s.stop_tolerance)
        if stop.fired:
            break
    with torch.no_grad():
        final = objective(x).floats()
    start = {k: v for k, v in history[0].items() if k not in ("scale", "step")} if history else dict(final)
    return Result(x[0].cpu(), start, final, history, stopped=stop.fired)


def _upsample(x: torch.Tensor, hw: tuple[int, int], content: torch.Tensor | None,
              content_prev: torch.Tensor | None) -> torch.Tensor:
    """The previous scale's result at size `hw`. With `content`, plus the detail the content has at this scale
    and lacked at the previous one, so the finer scale starts as sharp as a start from the content would."""
    up = F.interpolate(x, size=hw, mode="bilinear", align_corners=False)
    if content is None or content_prev is None:
        return up
    detail = content - F.interpolate(content_prev, size=hw, mode="bilinear", align_corners=False)
    return (up + detail).clamp(0, 1)


class _Latch:
    """`should_stop`, remembering whether it ever said yes."""

    def __init__(self, should_stop: StopFn | None) -> None:
        self.should_stop = should_stop
        self.fired = False

    def __call__(self) -> bool:
        self.fired = self.fired or bool(self.should_stop is not None and self.should_stop())
        return self.fired


def _objective_at(backbone: Backbone, recipe: Recipe, content: torch.Tensor | None,
                  styles: Sequence[torch.Tensor], size: int, tv_weight: float) -> tuple[Objective, torch.Tensor]:
    """The objective at output size `size` (longer side), and the content fitted to it (or None)."""
    c = fit(content, size).to(backbone.device) if content is not None else None
    side = style_side(size, recipe.style_scale)
    objective = Objective(
        backbone, content=c, styles=[fit(st, side).to(backbone.device) for st in styles],
        content_layers=recipe.content_layers, style_layers=recipe.style_layers,
        content_layer_weights=recipe.content_layer_weights, style_layer_weights=recipe.style_layer_weights,
        blend_weights=recipe.blend_weights if styles else None, content_weight=recipe.content_weight,
        style_weight=recipe.style_weight, tv_weight=tv_weight)
    return objective, c


def _recorder(history: list[dict], k: int, hw: tuple[int, int], on_step: Callable[[Step], None] | None, bar,
              offset: int):
    """The optimizer's per-iteration callback: history, the terminal bar (``bar(step, **numbers)``), the caller's
    `on_step`. `offset`:
    the planned steps of the scales before this one."""
    def record(it: int, terms: Terms, img: torch.Tensor) -> None:
        vals = terms.floats()
        history.append({"scale": k, "step": len(history) + 1, **vals})
        if bar is not None:
            bar(it, content=vals["content"], style=vals["style"], tv=vals["tv"])
        if on_step is not None:
            on_step(Step(k, hw, it, len(history), offset + it, vals, img))
    return record


def _start_picture(recipe: Recipe, content: torch.Tensor | None,
                   styles: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """The content at this scale (init "content"), or recoloured to the main style's palette ("recolored")."""
    if content is None or recipe.init not in ("content", "recolored"):
        return None
    if recipe.init == "content":
        return content
    blend = recipe.blend_weights or [1.0] * len(styles)
    main = styles[max(range(len(styles)), key=lambda i: blend[i])]
    return colors.match_colors(content[0], main.to(content.device))[None]


def _initial_image(init: str, seed: int, content: torch.Tensor | None, init_image: torch.Tensor | None,
                   hw: tuple[int, int]) -> torch.Tensor:
    if init in ("content", "recolored"):
        return content.clone()
    if init == "noise":
        # Uniform noise from a generator of its own, so a seed gives the same start on every device.
        # device: cpu-ok (seeded CPU draw; the caller moves it)
        return torch.rand((1, 3, *hw), generator=torch.Generator().manual_seed(seed))
    return resize(init_image, hw)[None].clamp(0, 1)
