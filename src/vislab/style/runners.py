"""The three jobs' entry points, each ``run_xxx(settings, out, *, progress, should_stop, command, overwrite)``:

    result = run_style(StyleSettings(content="sample:chelsea", styles=("starry.jpg",)), "runs/style-1")
    result.status, result.files["image"], result.numbers["final_total"]

Each reads and checks everything first (settings, the output file, the images, the layers, the sizes and the
memory they need), so a bad input fails before anything is written; then `run_session` makes the run folder
and optimizes. `run(settings, ...)` runs whichever job `settings` belongs to.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from .. import backbones, jobs
from ..backbones import Backbone
from .inputs import check_sizes, fit, fitted_hw, read_image, style_side
from .memory import check_fits
from .recipe import Recipe, invert_recipe, style_recipe, texture_recipe
from .session import InvertResult, SynthesisResult, check_output, run_session
from .settings import INITS, InvertSettings, StyleSettings, SynthesisSettings, TextureSettings
from .similarity import psnr, ssim
from .transfer import StopFn, invert, style_transfer, texture


def run_style(settings: StyleSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
              should_stop: StopFn | None = None, command: str | None = None,
              overwrite: bool = False) -> SynthesisResult:
    """`vislab style`: repaint ``settings.content`` in the style of ``settings.styles``."""
    started, s = time.perf_counter(), settings
    _check_first(s)
    content = read_image(s.content)
    styles = [read_image(p) for p in s.styles]
    init_image = None if s.init in INITS else read_image(s.init)
    bb = _backbone(s)
    recipe = style_recipe(bb, s, len(styles))
    _check_sizes(bb, s, recipe, (s.content, content.shape), list(zip(s.styles, (st.shape for st in styles))))
    return run_session(s, out, lambda on_step, stop: style_transfer(
        bb, content, styles, s, init_image=init_image, on_step=on_step, should_stop=stop, recipe=recipe),
        progress=progress, should_stop=should_stop, command=command, overwrite=overwrite, started=started)


def run_invert(settings: InvertSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
               should_stop: StopFn | None = None, command: str | None = None,
               overwrite: bool = False) -> InvertResult:
    """`vislab invert`: rebuild ``settings.image`` from its features at ``settings.layer``; ``numbers`` adds the
    result's ``psnr`` and ``ssim`` against the image (at the output size)."""
    started, s = time.perf_counter(), settings
    _check_first(s)
    image = read_image(s.image)
    bb = _backbone(s)
    recipe = invert_recipe(bb, s)
    layer = recipe.content_layers[0]
    _check_sizes(bb, s, recipe, (s.image, image.shape), [])
    ref = fit(image, s.image_size)[0]
    return run_session(s, out, lambda on_step, stop: invert(
        bb, image, layer, s, on_step=on_step, should_stop=stop, recipe=recipe),
        numbers=lambda r: {"psnr": psnr(r.image, ref), "ssim": ssim(r.image, ref)}, progress=progress,
        should_stop=should_stop, command=command, overwrite=overwrite, extra_config={"layer": layer},
        started=started, make_result=partial(InvertResult, layer=layer))


def run_texture(settings: TextureSettings, out: str | Path | None = None, *, progress: jobs.Progress | None = None,
                should_stop: StopFn | None = None, command: str | None = None,
                overwrite: bool = False) -> SynthesisResult:
    """`vislab texture`: a new image with ``settings.style``'s texture, the style's aspect ratio."""
    started, s = time.perf_counter(), settings
    _check_first(s)
    style = read_image(s.style)
    bb = _backbone(s)
    recipe = texture_recipe(bb, s)
    _check_sizes(bb, s, recipe, (s.style, style.shape), [(s.style, style.shape)])
    return run_session(s, out, lambda on_step, stop: texture(bb, style, s, on_step=on_step, should_stop=stop,
                                                             recipe=recipe),
                       progress=progress, should_stop=should_stop, command=command, overwrite=overwrite,
                       started=started)


RUNNERS = {StyleSettings: run_style, InvertSettings: run_invert, TextureSettings: run_texture}


def run(settings: SynthesisSettings, out: str | Path | None = None, **kwargs) -> SynthesisResult:
    """Run the job `settings` belongs to (`run_style`, `run_invert` or `run_texture`); same keywords."""
    runner = RUNNERS.get(type(settings))
    if runner is None:
        raise TypeError(f"expected StyleSettings, InvertSettings or TextureSettings, got {type(settings).__name__}")
    return runner(settings, out, **kwargs)


def _check_first(s: SynthesisSettings) -> None:
    """The checks that need no file read: every setting (the only validation of a run: `run_session` starts
    it with ``checked=True``), and that the output file can be written."""
    s.validate()
    check_output(s.output)


def _backbone(s: SynthesisSettings) -> Backbone:
    return backbones.load(s.model, device=s.device, weights=s.weights)


def _check_sizes(bb: Backbone, s: SynthesisSettings, recipe: Recipe, shaped: tuple[str, Sequence[int]],
                 styles: list[tuple[str, Sequence[int]]]) -> None:
    """Refuse sizes that squeeze an image under a few pixels, or whose optimization cannot fit in memory."""
    name, shape = shaped
    check_sizes(s.image_size, s.scale_count, recipe.style_scale, shape=shape, styles=styles, shape_name=name)
    side = style_side(s.image_size, recipe.style_scale)
    check_fits(bb, recipe, fitted_hw(shape, s.image_size), [fitted_hw(hw, side) for _, hw in styles],
               optimizer=s.optimizer, image_size=s.image_size, style_scale=recipe.style_scale)
