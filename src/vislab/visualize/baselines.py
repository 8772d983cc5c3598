"""Integrated-gradients baselines: the image that "no evidence for the class" is measured from.

Integrated gradients attributes s_y(x) - s_y(x') to pixels in proportion to how far each one is from the
baseline x', so the baseline decides what counts as evidence (Sturmfels, Lundberg & Lee, "Visualizing the
Impact of Feature Attribution Baselines", Distill 2020):

- ``black``: zeros, the paper's choice. Dark pixels get no attribution whatever their role, and the path starts in
  the network's dark-image regime, so bright backgrounds and high-contrast outlines take most of the mass.
- ``blur``: the image under a wide Gaussian blur (`BLUR_SIGMA` of the side). Colours and brightness stay, the
  object's detail goes, so attribution lands on the detail the class depends on.
- ``uniform``: uniform noise in [0, 1]; with ``samples > 1`` integrated gradients is averaged over that many
  draws (as in expected gradients, Erion et al., 2021), which also averages away each draw's own pattern.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from .augment import gaussian_blur

BASELINES = ("blur", "black", "uniform")
RANDOM_BASELINES = ("uniform",)
DEFAULT_BASELINE = "blur"
"""The saliency job's default: measured in quality/ig_baselines.py (docs/visualize.md)."""
BLUR_SIGMA = 0.1
"""The blur baseline's Gaussian width as a fraction of the image's shorter side (22 px at 224): wide enough that
no object part survives. Measured against 0.05 and 0.2 in quality/ig_baselines.py."""


def make_baselines(x: torch.Tensor, kind: str, samples: int = 1, *, generator: torch.Generator | None = None,
                   blur_sigma: float = BLUR_SIGMA) -> list[torch.Tensor]:
    """`samples` baselines for the images `x` (N, 3, H, W), each shaped like `x`, on its device.

    Random baselines are drawn on the CPU from `generator`, so they do not depend on the device."""
    check_baseline(kind, samples)
    if kind == "black":
        return [torch.zeros_like(x)]
    if kind == "blur":
        sigma = blur_sigma * min(x.shape[-2:])
        return [gaussian_blur(x, sigma)]
    return [torch.rand(x.shape, generator=generator).to(x) for _ in range(samples)]


def check_baseline(kind: str, samples: int = 1) -> None:
    """Refuse an unknown kind, or several samples of a kind that is one image."""
    if kind not in BASELINES:
        raise ConfigError(f"unknown baseline {kind!r}: choose {', '.join(BASELINES)}")
    if samples < 1 or (samples > 1 and kind not in RANDOM_BASELINES):
        raise ConfigError(f"only random baselines ({', '.join(RANDOM_BASELINES)}) are averaged over samples; "
                          f"got {samples} samples of {kind!r}")
