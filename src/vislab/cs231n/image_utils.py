"""`cs231n.image_utils` (and the notebooks' preprocess/deprocess cells) over `vislab.images`.

`image_from_url` reads local paths and ``file://`` URLs offline, ``http(s)://`` with a timeout, and the shapes
stand-in's ``shapes:i`` names (`vislab.cs231n.coco_utils.shapes_data`); a failure is one `vislab.errors.ImageError`
where the course printed the error and returned None.

The course feeds SqueezeNet *normalized* tensors: ``(pixels / 255 - SQUEEZENET_MEAN) / SQUEEZENET_STD``, shape
(1, 3, H, W). vislab's own functions take pixels in [0, 1] and normalize inside (`Backbone.preprocess`); these
adapters keep the course's convention at the edge.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import torch
from PIL import Image

from .. import images
from ..backbones.squeezenet import MEAN, STD
from ..errors import ImageError

SQUEEZENET_MEAN = np.array(MEAN, dtype=np.float32)
SQUEEZENET_STD = np.array(STD, dtype=np.float32)

__all__ = ["SQUEEZENET_MEAN", "SQUEEZENET_STD", "preprocess", "deprocess", "rescale", "load_image",
           "preprocess_image", "deprocess_image", "image_from_url", "blur_image"]

URL_TIMEOUT_S = 30.0
MAX_URL_BYTES = 64 * 1024 * 1024  # far above any photo; stops a wrong URL from filling the disk
MAX_SHAPES_INDEX = 100_000


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
    """Normalized (1, 3, H, W) (or (3, H, W)) tensor -> PIL image, as the course's torchvision pipeline:
    ``x / (1 / std) + mean`` in float32, then min-max `rescale` (the course's default) and ``(255 x).byte()``
    (8-bit values truncated, as torchvision's ``ToPILImage``). Without rescaling, values outside [0, 1] are
    clipped (torchvision's ``byte()`` wraps them around)."""
    x = img.detach().float().cpu()
    x = x[0] if x.dim() == 4 else x
    # device: cpu-ok (deprocess works on .cpu() pixels)
    inv_std = torch.tensor([1.0 / s for s in SQUEEZENET_STD.tolist()], dtype=torch.float32).view(3, 1, 1)
    # device: cpu-ok (deprocess works on .cpu() pixels)
    x = x / inv_std + torch.from_numpy(SQUEEZENET_MEAN).view(3, 1, 1)
    x = rescale(x) if should_rescale else x.clamp(0, 1)
    return Image.fromarray(np.ascontiguousarray(x.mul(255).byte().numpy().transpose(1, 2, 0)))


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


def blur_image(X: np.ndarray) -> np.ndarray:
    """The course's gentle blur (its ``image_utils.blur_image``): each channel of X (N, 3, H, W) correlated
    with ``[[1, 2, 1], [2, 188, 2], [1, 2, 1]] / 200``, zero padding, same size. The course runs its Cython
    ``conv_forward_fast``; this sums the nine shifted copies. (The NetVis notebooks' Gaussian ``blur_image`` is
    `vislab.cs231n.net_visualization_pytorch.blur_image`.)"""
    X = np.asarray(X)
    k = np.array([[1, 2, 1], [2, 188, 2], [1, 2, 1]], dtype=np.float64) / 200.0
    H, W = X.shape[2:]
    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros(X.shape, dtype=np.result_type(X, np.float64))
    for i in range(3):
        for j in range(3):
            out += k[i, j] * padded[:, :, i:i + H, j:j + W]
    return out


def image_from_url(url: str) -> np.ndarray:
    """Read an image as uint8 (H, W, 3) from a URL: ``http(s)://`` (downloaded with a timeout), ``file://``, a
    local path, ``sample:NAME`` (`vislab.images.SAMPLE_IMAGES`) or ``shapes:i`` (picture i of the shapes
    stand-in). RGB always (vislab's reader: any mode, EXIF orientation); the course returned imread's array
    (grayscale 2-d, RGBA 4 channels) or printed an error and returned None. Any failure is one `ImageError`
    naming the URL."""
    url = os.fspath(url)
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if url.startswith("shapes:"):
        return _shapes_image(url)
    if scheme in ("http", "https"):
        return _download_image(url)
    if scheme == "file":
        url = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
    elif scheme and len(scheme) > 1 and scheme != "sample":  # one letter is a Windows drive
        raise ImageError(f"{url}: unsupported URL scheme {scheme!r} (http, https, file or a local path)")
    return images.to_uint8(images.load_image(url))


def _download_image(url: str) -> np.ndarray:
    fd, tmp = tempfile.mkstemp(suffix=".img")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as resp:
            data = resp.read(MAX_URL_BYTES + 1)
            if len(data) > MAX_URL_BYTES:
                raise ImageError(f"{url}: larger than {MAX_URL_BYTES // 2**20} MiB, not read")
            out.write(data)
        try:
            return images.to_uint8(images.load_image(tmp))
        except ImageError as e:
            raise ImageError(f"{url}: {str(e).split(': ', 1)[-1]}") from e
    except urllib.error.HTTPError as e:
        raise ImageError(f"{url}: HTTP error {e.code} ({e.reason})") from e
    except urllib.error.URLError as e:
        raise ImageError(f"{url}: cannot be downloaded ({e.reason}; offline?)") from e
    except (OSError, ValueError) as e:  # timeouts, resets, malformed URLs
        raise ImageError(f"{url}: cannot be downloaded ({e})") from e
    finally:
        os.unlink(tmp)


def _shapes_image(name: str) -> np.ndarray:
    from ..captioning import shapes

    try:
        i = int(name[len("shapes:"):])
    except ValueError:
        i = -1
    if not 0 <= i < MAX_SHAPES_INDEX:  # scene i is drawn after the i before it: bound the work
        raise ImageError(f"{name}: not a shapes picture name (shapes:<index>, index below {MAX_SHAPES_INDEX})")
    from ..captioning.data import SHAPES_FEATURES

    # Scenes are drawn in order from one generator, so picture i is the same in any set of more than i pictures.
    return np.asarray(shapes.make_shapes(i + 1, seed=0, image_size=SHAPES_FEATURES.image_size).image(i))
