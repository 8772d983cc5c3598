"""Image loading and saving, resizing, grids and heatmap overlays.

Inside vislab an image is a float32 tensor in [0, 1], shape (3, H, W) (or a batch (N, 3, H, W)). Loading accepts
any common format and mode and refuses anything that could hang or crash the process (decompression bombs,
truncated files); saving is atomic.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .fileio import atomic_path

_PIL_LIMIT_LOCK = threading.Lock()

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest image (width x height) `load_image` accepts unless told otherwise: 100 megapixels.
The environment variable ``VISLAB_MAX_PIXELS`` changes the default for every command (0 disables the check)."""

SAMPLE_PAINTINGS = ("starry_night", "the_scream", "shipwreck")
"""Public-domain paintings that ship in ``vislab/assets`` (downscaled; provenance in assets/README.md)."""

DEFAULT_PAINTING = "sample:starry_night"
"""The style picture of style transfer and texture synthesis when none is given."""

SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "grace_hopper")
"""Photos that ship with vislab's dependencies (scikit-image, matplotlib)."""

SAMPLE_IMAGES = (*SAMPLE_PHOTOS, *SAMPLE_PAINTINGS)
"""Every built-in picture: load one as ``sample:NAME``."""


def default_max_pixels() -> int:
    """The size limit in effect: ``$VISLAB_MAX_PIXELS`` when set, else `DEFAULT_MAX_PIXELS`."""
    env = os.environ.get("VISLAB_MAX_PIXELS", "").strip()
    if not env:
        return DEFAULT_MAX_PIXELS
    try:
        return int(float(env))
    except ValueError as e:
        raise ImageError(f"VISLAB_MAX_PIXELS={env!r} is not a number") from e


def load_image(path: str | os.PathLike, *, max_pixels: int | None = None,
               min_side: int | None = None) -> torch.Tensor:
    """Read an image file as a float32 RGB tensor (3, H, W) in [0, 1].

    Handles JPEG/PNG/WebP/BMP/TIFF/GIF (first frame); grayscale, 16-bit, palette, RGBA/LA (composited on white),
    CMYK; EXIF orientation is applied. ``sample:NAME`` loads one of `SAMPLE_IMAGES`.
    Raises `ImageError` naming the path for missing files, folders, non-images, truncated or corrupt data, and
    images larger than `max_pixels` (None: `default_max_pixels()`; 0 or less: no limit).
    `min_side`: for a caller that resizes the image down anyway and needs its shorter side only this long; an image
    more than twice that is decoded reduced (see `decode_image`), with a shorter side still >= 2 * `min_side`.
    """
    spath = os.fspath(path)
    if spath.startswith("sample:"):
        return from_array(sample_image(spath[len("sample:"):]))
    arr = decode_image(path, max_pixels=max_pixels, min_side=min_side)
    if arr.dtype != np.uint8:
        # device: cpu-ok (decoded image file)
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    # uint8 planes first, floats last: peak memory 15 bytes a pixel instead of 40 (a 100-megapixel image)
    # device: cpu-ok (decoded image file)
    planes = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    del arr
    return planes.to(torch.float32).div_(255.0)


def load_rgb8(path: str | os.PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """The image as uint8 (H, W, 3): exactly ``to_uint8(load_image(path))``, without the float copy (what an
    upload needs to be re-encoded: 7 bytes a pixel at most instead of 15)."""
    spath = os.fspath(path)
    if spath.startswith("sample:"):
        return sample_image(spath[len("sample:"):])
    arr = decode_image(path, max_pixels=max_pixels)
    return arr if arr.dtype == np.uint8 else to_uint8(arr)


def image_header(path: str | os.PathLike) -> tuple[int, int, str]:
    """(width, height, PIL mode) from the file's header only (nothing decoded): what an image will cost in
    memory, known before any work. Raises `ImageError` like `load_image` for files that are no image."""
    spath = os.fspath(path)
    if spath.startswith("sample:"):
        h, w = _sample_size(spath[len("sample:"):])
        return w, h, "RGB"
    p = _check_file(Path(spath))
    with _opened(p) as im:
        return im.size[0], im.size[1], im.mode


HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def decode_bytes(width: int, height: int, mode: str = "RGB") -> int:
    """Estimated peak memory of `load_image` on an image of that size and mode: PIL's decoded copy, the RGB
    conversion and the uint8 planes, then the float32 tensor (15 bytes a pixel for 8-bit images; 16-bit and
    float images go through float64)."""
    per_pixel = 48 if mode in HIGH_DEPTH_MODES else 15 + (4 if mode in ("RGBA", "LA", "PA", "P") else 0)
    return int(width) * int(height) * per_pixel


def held_bytes(width: int, height: int) -> int:
    """Memory a loaded image keeps: the float32 (3, H, W) tensor."""
    return int(width) * int(height) * 12


def decode_image(path: str | os.PathLike, *, max_pixels: int | None = None,
                 min_side: int | None = None) -> np.ndarray:
    """The image file as (H, W, 3): uint8 for 8-bit images, float32 in [0, 1] for 16-bit and float ones.
    The size is checked from the header, before anything is decoded (decompression bombs).

    `min_side`: when the shorter side is over 4 * `min_side`, the image is decoded reduced by a whole factor,
    keeping the shorter side >= 2 * `min_side`: a JPEG in its decoder (DCT scaling to 1/2, 1/4 or 1/8: neither
    the memory nor the time of the full size), any other format by PIL's box `reduce` before the RGB and float
    conversions (the 12 float bytes a pixel are never made for the full size)."""
    if max_pixels is None:
        max_pixels = default_max_pixels()
    p = _check_file(Path(os.fspath(path)))
    with _opened(p) as im:
        w, h = im.size
        if max_pixels > 0 and w * h > max_pixels:
            raise ImageError(
                f"{p}: image is {w}x{h} = {w * h / 1e6:.1f} megapixels, over the limit of "
                f"{max_pixels / 1e6:g} (possible decompression bomb; raise VISLAB_MAX_PIXELS to allow it)"
            )
        try:
            im.seek(0)  # first frame of animations
            if _factor(im.size, min_side) > 1 and im.format == "JPEG":
                im.draft("RGB" if im.mode == "RGB" else None, tuple(v // _factor(im.size, min_side) for v in im.size))
            im.load()  # decode now, so truncation is detected here
            if im.getexif().get(0x0112, 1) != 1:  # exif_transpose would copy even an upright image
                im = ImageOps.exif_transpose(im)
            if _factor(im.size, min_side) > 1:
                im = _reduced(im, _factor(im.size, min_side))
            return _to_rgb_array(im)
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ImageError(f"{p}: corrupt or truncated image ({e})") from e


def _factor(size: tuple[int, int], min_side: int | None) -> int:
    """The whole factor an image of `size` may be shrunk by for a caller needing `min_side` (1: none)."""
    if not min_side or min_side <= 0:
        return 1
    factor = min(size) // (2 * min_side)
    return factor if factor >= 2 else 1


_REDUCE_AS = {"1": "L", "P": "RGBA", "PA": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I", "I;16N": "I"}
"""Modes PIL's `reduce` does not take, and the mode holding the same pixels that it does."""


def _reduced(im: Image.Image, factor: int) -> Image.Image:
    if im.mode in _REDUCE_AS:
        im = im.convert(_REDUCE_AS[im.mode])
    return im.reduce(factor)


def _check_file(p: Path) -> Path:
    if p.is_dir():
        raise ImageError(f"{p}: is a directory, not an image file")
    if not p.exists():
        raise ImageError(f"{p}: no such file")
    if not p.is_file():  # a FIFO or device would block or never end
        raise ImageError(f"{p}: not a regular file (a pipe, socket or device), not an image file")
    return p


@contextlib.contextmanager
def _opened(p: Path) -> Iterator[Image.Image]:
    """PIL's lazy open (header only), with PIL's own size limit off (we enforce ours) and its errors as
    `ImageError`s naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _PIL_LIMIT_LOCK:  # PIL's limit is process-wide; a server decodes in several threads
                old_limit = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = None
                try:
                    im = Image.open(p)
                finally:
                    Image.MAX_IMAGE_PIXELS = old_limit
    except UnidentifiedImageError as e:
        kind = _sniff(p)
        if kind:
            raise ImageError(f"{p}: corrupt image (starts like a {kind} file but cannot be decoded)") from e
        raise ImageError(f"{p}: not an image file (or an unsupported format)") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{p}: corrupt or truncated image ({e})") from e
    with im:
        yield im


_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
          b"MM\x00*": "TIFF"}


def _sniff(p: Path) -> str | None:
    """The format a file's first bytes announce, to tell a corrupt image from a file that is no image at all."""
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def _to_rgb_array(im: Image.Image) -> np.ndarray:
    """Any PIL mode -> uint8 (H, W, 3), or float32 (H, W, 3) in [0, 1] for 16-bit and float modes."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        # 16-bit PNGs come as I;16 or I; 32-bit integer images beyond 16 bits are scaled by their own range.
        top = 65535.0 if a.max(initial=0) <= 65535 else float(a.max())
        a = np.clip(a / top, 0, 1)
        return np.repeat(a[..., None], 3, axis=2).astype(np.float32)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a = a / 255.0 if a.max(initial=0) > 1.0 else a
        return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info) or im.mode == "RGBa":
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    rgb = im.convert("RGB") if im.mode != "RGB" else im
    return np.asarray(rgb)


def sample_image(name: str) -> np.ndarray:
    """One of the offline sample photos as uint8 (H, W, 3)."""
    if name not in SAMPLE_IMAGES:
        raise ImageError(f"sample:{name}: unknown sample image; choose from {', '.join(SAMPLE_IMAGES)}")
    if name in SAMPLE_PAINTINGS:
        with Image.open(Path(__file__).resolve().parent / "assets" / f"{name}.jpg") as im:
            return np.asarray(im.convert("RGB"))
    if name == "grace_hopper":
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    import skimage.data

    arr = getattr(skimage.data, name)()
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


@functools.lru_cache(maxsize=len(SAMPLE_IMAGES))
def _sample_size(name: str) -> tuple[int, int]:
    return sample_image(name).shape[:2]


def from_array(arr: np.ndarray) -> torch.Tensor:
    """(H, W), (H, W, 3) or (H, W, 4) array, uint8 or float in [0, 1] -> float32 tensor (3, H, W)."""
    a = np.asarray(arr)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ImageError(f"expected an (H, W, 3) image array, got shape {a.shape}")
    a = a[..., :3]
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    # device: cpu-ok (from a numpy array)
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def to_uint8(img: torch.Tensor | np.ndarray) -> np.ndarray:
    """(3, H, W) / (1, 3, H, W) tensor or (H, W, 3) array in [0, 1] -> uint8 (H, W, 3), rounded, clipped."""
    if isinstance(img, torch.Tensor):
        t = img.detach().float().cpu()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ImageError(f"expected one image, got a batch of {t.shape[0]}")
            t = t[0]
        if t.dim() == 3 and t.shape[0] in (1, 3):
            t = t.expand(3, -1, -1) if t.shape[0] == 1 else t
            a = t.permute(1, 2, 0).numpy()
        elif t.dim() == 2:
            a = np.repeat(t.numpy()[..., None], 3, axis=2)
        else:
            raise ImageError(f"expected an image tensor (3, H, W), got shape {tuple(t.shape)}")
    else:
        a = np.asarray(img)
        if a.dtype == np.uint8:
            return a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2)
        a = a.astype(np.float32)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
    if not np.isfinite(a).all():
        raise ImageError("image contains NaN or infinite values; refusing to save it")
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def save_image(img: torch.Tensor | np.ndarray, path: str | os.PathLike, *, quality: int = 95) -> Path:
    """Write an image atomically; the format follows the suffix (.png lossless, .jpg/.jpeg, .webp, .bmp, .tif)."""
    path = Path(path)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF"}.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: unsupported image file suffix {path.suffix!r} (use .png or .jpg)")
    pil = Image.fromarray(to_uint8(img))
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    try:
        with atomic_path(path) as tmp:
            pil.save(tmp, format=fmt, **kwargs)
    except OSError as e:
        raise ImageError(f"{path}: cannot write image ({e})") from e
    return path


def resize(img: torch.Tensor, size: int | tuple[int, int], *, antialias: bool = True) -> torch.Tensor:
    """Resize (3, H, W) or (N, 3, H, W). An int sets the shorter side (aspect kept); a tuple is (H, W)."""
    batched = img.dim() == 4
    x = img if batched else img[None]
    h, w = x.shape[-2:]
    if isinstance(size, int):
        scale = size / min(h, w)
        out_hw = (max(1, round(h * scale)), max(1, round(w * scale)))
    else:
        out_hw = (int(size[0]), int(size[1]))
    if out_hw != (h, w):
        x = F.interpolate(x, size=out_hw, mode="bilinear", align_corners=False, antialias=antialias)
        x = x.clamp(0, 1)
    return x if batched else x[0]


def center_crop(img: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop the central (H, W) region (an int gives a square)."""
    th, tw = (size, size) if isinstance(size, int) else size
    h, w = img.shape[-2:]
    if th > h or tw > w:
        raise ImageError(f"cannot crop {th}x{tw} from an image of {h}x{w}")
    top, left = (h - th) // 2, (w - tw) // 2
    return img[..., top:top + th, left:left + tw]


def resize_center_crop(img: torch.Tensor, size: int, *, resize_to: int | None = None) -> torch.Tensor:
    """The usual classifier view: resize the shorter side to `resize_to` (default `size`), then center crop."""
    return center_crop(resize(img, resize_to or size), size)


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile (N, C, H, W) images (C = 1 or 3) into one (3, H', W') image, `nrow` images per row."""
    if images.dim() == 3:
        images = images[:, None]
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ImageError(f"make_grid expects (N, 1|3, H, W), got {tuple(images.shape)}")
    images = images.detach().float().cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, _, h, w = images.shape
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    # device: cpu-ok (the grid is built from .cpu() images for saving)
    grid = torch.full((3, nrows * (h + padding) + padding, ncol * (w + padding) + padding), float(pad_value))
    for i in range(n):
        r, c = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[:, y:y + h, x:x + w] = images[i]
    return grid


def colorize(values: torch.Tensor | np.ndarray, cmap: str = "inferno", *, vmin: float | None = None,
             vmax: float | None = None) -> torch.Tensor:
    """A 2-D map (H, W) -> RGB (3, H, W) through a matplotlib colormap, scaled to [vmin, vmax] (default min..max)."""
    import matplotlib

    v = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    v = v.astype(np.float64)
    lo = float(np.nanmin(v)) if vmin is None else vmin
    hi = float(np.nanmax(v)) if vmax is None else vmax
    norm = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    rgba = matplotlib.colormaps[cmap](np.clip(norm, 0, 1))
    # device: cpu-ok (a colour map for a picture file)
    return torch.from_numpy(rgba[..., :3].transpose(2, 0, 1).astype(np.float32))


def overlay(img: torch.Tensor, heat: torch.Tensor | np.ndarray, *, alpha: float = 0.5,
            cmap: str = "inferno") -> torch.Tensor:
    """Blend a heatmap (H', W') over an image (3, H, W); the heatmap is resized to the image when needed."""
    # device: cpu-ok (an overlay for a picture file)
    h = torch.as_tensor(np.asarray(heat.detach().cpu() if isinstance(heat, torch.Tensor) else heat),
                        dtype=torch.float32)
    if tuple(h.shape) != tuple(img.shape[-2:]):
        h = F.interpolate(h[None, None], size=img.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    color = colorize(h, cmap)
    return ((1 - alpha) * img.detach().float().cpu() + alpha * color).clamp(0, 1)
