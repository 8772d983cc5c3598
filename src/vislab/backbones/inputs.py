"""Reading a classifier job's inputs: images big enough to classify, and a memory estimate for the network."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import images as image_files
from ..errors import ImageError

MIN_IMAGE_SIDE = 16
"""Smallest image side (pixels) the classifier jobs accept: a smaller image is resized up to the network's 224
pixels and the network sees a few blurred blocks, so its classes, saliency or fooling would mean nothing."""

GRAD_BYTES_PER_PIXEL = 2600
FORWARD_BYTES_PER_PIXEL = 650
"""Peak memory of EfficientNet-Lite0 per input pixel with (without) a backward pass, measured on CPU with
`resource.getrusage` at 224 and 448 pixels (SqueezeNet 1.1 needs about a third of that). A user's own model is
assumed to be like EfficientNet-Lite0."""


def load_images(specs: Sequence[str]) -> list[torch.Tensor]:
    """Load every image (files or ``sample:NAME``) before any work, refusing images too small to classify."""
    loaded = []
    for spec in specs:
        img = image_files.load_image(spec)  # looked up at call time, so tests can stand in for it
        h, w = img.shape[-2:]
        if min(h, w) < MIN_IMAGE_SIDE:
            raise ImageError(f"{spec}: image is {w}x{h} pixels; the classifier jobs need at least "
                             f"{MIN_IMAGE_SIDE} pixels on each side")
        loaded.append(img)
    return loaded


def network_bytes(images: float, side: float, *, grad: bool) -> float:
    """Estimated peak memory of `images` network passes at `side` x `side` pixels (with a backward pass when
    `grad`)."""
    per_pixel = GRAD_BYTES_PER_PIXEL if grad else FORWARD_BYTES_PER_PIXEL
    return float(images) * float(side) ** 2 * per_pixel
