"""`cs231n.image_utils` (and the notebooks' preprocess/deprocess cells) over `vislab.images`.

The course feeds SqueezeNet *normalized* tensors: ``(pixels / 255 - SQUEEZENET_MEAN) / SQUEEZENET_STD``, shape
(1, 3, H, W). vislab's own functions take pixels in [0, 1] and normalize inside (`Backbone.preprocess`); these
adapters keep the course's convention at the edge.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

from .. import images
from ..backbones.squeezenet import MEAN, STD

SQUEEZENET_MEAN = np.array(MEAN, dtype=np.float32)
SQUEEZENET_STD = np.array(STD, dtype=np.float32)

__all__ = ["SQUEEZENET_MEAN", "SQUEEZENET_STD", "preprocess", "deprocess", "rescale", "load_image",
           "preprocess_image", "deprocess_image"]


def _as_pil(img) -> Image.Image:
    if isinstance(img, Image.Image):
        return img.convert("RGB") if img.mode != "RGB" else img
    if isinstance(img, (str, os.PathLike)):
        return Image.fromarray(images.to_uint8(images.load_image(img)))
    return Image.fromarray(images.to_uint8(np.asarray(img)))


def _shorter_side_to(pil: Image.Image, size: int) -> Image.Image:
    """torchvision ``Resize(size)`` on a PIL image: shorter side to `size`, the longer one
    ``int(size * long / short)``, PIL bilinear."""
    w, h = pil.size
    if (w <= h and w == size) or (h <= w and h == size):
        return pil
    if w < h:
        ow, oh = size, int(size * h / w)
    else:
        ow, oh = int(size * w / h), size
    return pil.resize((ow, oh), Image.BILINEAR)


def preprocess(img, size: int = 512) -> torch.Tensor:
    """A PIL image (also a path or an (H, W, 3) array) -> normalized float tensor (1, 3, H, W).

    As the course's ``T.Resize(size), T.ToTensor(), T.Normalize(SQUEEZENET_MEAN, SQUEEZENET_STD)``: the shorter
    side is resized to `size` with PIL bilinear, then pixels / 255 are normalized. vislab's own pipeline keeps
    [0, 1] pixels (`vislab.images.load_image`) and normalizes inside the backbone.
    """
    pil = _shorter_side_to(_as_pil(img), size) if size is not None else _as_pil(img)
    x = images.from_array(np.asarray(pil))
    # device: cpu-ok (a decoded picture's normalization on the CPU)
    mean = torch.from_numpy(SQUEEZENET_MEAN).view(3, 1, 1)
    # device: cpu-ok (a decoded picture's normalization on the CPU)
    std = torch.from_numpy(SQUEEZENET_STD).view(3, 1, 1)
    return ((x - mean) / std)[None]


def rescale(x: torch.Tensor) -> torch.Tensor:
    """Stretch values to [0, 1]: ``(x - min) / (max - min)``."""
    low, high = x.min(), x.max()
    return (x - low) / (high - low)


def deprocess(img: torch.Tensor, should_rescale: bool = True) -> Image.Image:
    """Normalized (1, 3, H, W) (or (3, H, W)) tensor -> PIL image: un-normalize, then min-max `rescale` (the
    course's default) or clip to [0, 1]; 8-bit by `vislab.images.to_uint8` (rounded; torchvision truncates)."""
    x = img.detach().float().cpu()
    x = x[0] if x.dim() == 4 else x
    # device: cpu-ok (deprocess works on .cpu() pixels)
    x = x * torch.from_numpy(SQUEEZENET_STD).view(3, 1, 1) + torch.from_numpy(SQUEEZENET_MEAN).view(3, 1, 1)
    x = rescale(x) if should_rescale else x.clamp(0, 1)
    return Image.fromarray(images.to_uint8(x))


def preprocess_image(img: np.ndarray) -> np.ndarray:
    """The numpy variant: uint8 (H, W, 3) -> float32 ``(img / 255 - mean) / std``."""
    return (np.asarray(img).astype(np.float32) / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img: np.ndarray, rescale: bool = False) -> np.ndarray:
    """The numpy variant: undo `preprocess_image` -> uint8 (H, W, 3); min-max stretched when `rescale`."""
    img = np.asarray(img) * SQUEEZENET_STD + SQUEEZENET_MEAN
    if rescale:
        vmin, vmax = img.min(), img.max()
        img = (img - vmin) / (vmax - vmin)
    return np.clip(255 * img, 0.0, 255.0).astype(np.uint8)


def load_image(filename, size: int | None = None) -> np.ndarray:
    """Read an image file as uint8 (H, W, 3), the shorter side resized to `size` when given.

    Reads with `vislab.images.load_image` (any mode -> RGB, EXIF orientation, clear `ImageError`s) where the
    course used ``imread``; resizes with PIL bilinear to ``int(side * size / shorter)`` (the course's scipy
    ``imresize`` no longer exists).
    """
    img = images.to_uint8(images.load_image(filename))
    if size is not None:
        shape = np.array(img.shape[:2])
        new_h, new_w = (shape * (float(size) / shape.min())).astype(int)
        img = np.asarray(Image.fromarray(img).resize((int(new_w), int(new_h)), Image.BILINEAR))
    return img
