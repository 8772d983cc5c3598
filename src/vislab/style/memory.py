"""The peak memory of one optimization, estimated before it starts: a size that cannot fit is refused with the
estimate in the message instead of failing (or swapping) minutes later.

The peak is the larger of two phases, both at the finest scale:

- optimizing: what autograd saves for the backward pass of one forward up to the deepest layer read, times
  `GRAD_OVERHEAD` (the backward pass's own gradient buffers); plus the features read, and the image-sized
  buffers: the image, its gradient, the optimizer's state (L-BFGS: ``2 * history + 4``) and the content.
- the style targets: one forward without gradients per style image at its size, `NOGRAD_OVERHEAD` times what
  autograd would have saved (only a few activations are alive at once).

What autograd saves is measured, for any backbone, by two probe forwards at small sizes with the same aspect
ratio, extrapolated in the pixel count (within 6% of a full-size measurement at 1024 px). Calibrated on
efficientnet_lite0 on a CPU with ``ru_maxrss`` (growth over a warmed-up process, 25 L-BFGS iterations, default
layers): 341x512 px grew 489 MiB (estimate 551), 681x1024 grew 1875 MiB (estimate 2146); Adam at 681x1024
grew 1539 MiB (estimate 1811); a no-grad forward at 2048x2048 grew 0.24x the saved bytes.
``tests/style/test_memory.py`` re-measures one size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..backbones import Backbone
from ..errors import ConfigError
from ..jobs import SettingError
from ..machine import check_memory, format_bytes
from .inputs import fitted_hw
from .optimize import HISTORY, METHODS
from .recipe import Recipe

GRAD_OVERHEAD = 1.5
NOGRAD_OVERHEAD = 0.3
PROBE_SIDE = 128
"""Longer side of the larger probe forward (pixels)."""
FLOAT_BYTES = 4


def saved_bytes(backbone: Backbone, layers: Sequence[str], hw: Sequence[int]) -> float:
    """Bytes autograd saves for one forward of a (1, 3, H, W) image up to `layers`, plus the features read.

    Measured by two probe forwards (longer side `PROBE_SIDE` and half that, same aspect) and extrapolated
    linearly in the pixel count: activations grow with the pixels, the weights saved with them do not."""
    if max(hw) <= PROBE_SIDE:
        return _probe(backbone, layers, hw)
    small, large = (_probe_hw(hw, PROBE_SIDE // 2), _probe_hw(hw, PROBE_SIDE))
    s_small, s_large = _probe(backbone, layers, small), _probe(backbone, layers, large)
    per_pixel = max(0.0, (s_large - s_small) / (large[0] * large[1] - small[0] * small[1]))
    fixed = max(0.0, s_large - per_pixel * large[0] * large[1])
    return fixed + per_pixel * hw[0] * hw[1]


def _probe_hw(hw: Sequence[int], side: int) -> tuple[int, int]:
    h, w = fitted_hw(hw, side)
    return max(h, 16), max(w, 16)


def _probe(backbone: Backbone, layers: Sequence[str], hw: Sequence[int]) -> float:
    saved = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += t.numel() * t.element_size()
        return t

    x = torch.rand(1, 3, *hw, device=backbone.device, requires_grad=True)
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        feats = backbone.features(x, list(layers))
    return saved + sum(f.numel() * f.element_size() for f in feats.values())


def estimate(backbone: Backbone, recipe: Recipe, out_hw: Sequence[int], style_hws: Sequence[Sequence[int]], *,
             optimizer: str, history: int = HISTORY) -> tuple[float, float]:
    """(optimizing, style targets): the estimated peak bytes of the two phases at the finest scale."""
    image = 3 * out_hw[0] * out_hw[1] * FLOAT_BYTES
    buffers = 3 + METHODS[optimizer].state_images(history)  # image, gradient, content + optimizer state
    optimizing = GRAD_OVERHEAD * saved_bytes(backbone, recipe.layers, out_hw) + buffers * image
    targets = max((NOGRAD_OVERHEAD * saved_bytes(backbone, recipe.style_layers, hw) + 3 * hw[0] * hw[1] * 4
                   for hw in style_hws), default=0.0) if recipe.style_layers else 0.0
    return optimizing, targets + 2 * image


def check_fits(backbone: Backbone, recipe: Recipe, out_hw: Sequence[int], style_hws: Sequence[Sequence[int]], *,
               optimizer: str, image_size: int, style_scale: float | None = None) -> float:
    """Refuse (naming `image_size`, or `style_scale` when the style images are what does not fit) a job whose
    estimated peak exceeds the memory available on its device; returns the estimate."""
    optimizing, targets = estimate(backbone, recipe, out_hw, style_hws, optimizer=optimizer)
    if targets > optimizing:
        need, setting, value = targets, "style_scale", style_scale
        h, w = max(style_hws, key=lambda hw: hw[0] * hw[1])
        what = f"reading a {w}x{h} px style image"
    else:
        need, setting, value = optimizing, "image_size", image_size
        what = f"optimizing a {out_hw[1]}x{out_hw[0]} px image"
    hint = f"lower {setting}"
    try:
        if backbone.device.type == "cuda":
            _check_gpu(need, backbone.device, what, hint)
        else:
            check_memory(need, what, hint=hint)
    except ConfigError as e:
        raise SettingError(setting, f"{value:g} is too large: {e}") from None
    return need


def _check_gpu(need: float, device: torch.device, what: str, hint: str) -> None:
    free, _ = torch.cuda.mem_get_info(device)
    if need > free:
        raise ConfigError(f"{what} needs about {format_bytes(need)} of GPU memory but only {format_bytes(free)} "
                          f"is free on {device}; {hint}")
