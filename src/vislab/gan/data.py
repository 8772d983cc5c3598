"""MNIST from the original IDX files, a checksummed download when online, and a built-in offline fallback.

Where MNIST is looked for (``--data auto``, the default): ``$VISLAB_DATA/mnist``, then the download cache
``vislab.paths.cache_dir("mnist")``; if neither has it, the four files are downloaded into the cache (sha256
verified). ``--data DIR`` reads DIR (or DIR/MNIST/raw, the torchvision layout). ``--data digits`` is
scikit-learn's 1,797 8x8 handwritten digits, upscaled into a 28x28 frame like MNIST's: tiny, always offline,
and enough to watch a GAN learn.

Images come back as uint8 tensors (N, 28, 28) and labels as int64 (N,); `to_gan_input` maps them to the GAN's
flattened [-1, 1] form.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataSettingError
from ..fileio import atomic_path
from ..paths import cache_dir, data_dir

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049

# The four original gzip files and their sha256 (the values dataset loaders pin for these files).
FILES = {
    "train-images": ("train-images-idx3-ubyte.gz",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels": ("train-labels-idx1-ubyte.gz",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test-images": ("t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test-labels": ("t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# Sub-folders where people keep MNIST: flat, torchvision's MNIST/raw, a plain raw/ or mnist/.
_LAYOUTS = ("", "MNIST/raw", "raw", "mnist", "mnist/MNIST/raw")


@dataclass
class Digits:
    """A labelled set of 28x28 grayscale digits."""

    images: torch.Tensor  # uint8 (N, 28, 28)
    labels: torch.Tensor  # int64 (N,)
    name: str             # "mnist" or "digits"
    source: str           # where it came from, for config.json

    def __len__(self) -> int:
        return int(self.images.shape[0])


def to_gan_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 784) in [-1, 1], the range of the generator's tanh."""
    return images.reshape(images.shape[0], -1).float() / 127.5 - 1.0


def load_dataset(spec: str = "auto", split: str = "train", *, log=None) -> Digits:
    """``auto`` | ``mnist`` | ``digits`` | a folder with the MNIST IDX files.

    ``auto`` falls back to ``digits`` (with a warning through `log` that says how to get MNIST) when MNIST is
    neither on disk nor downloadable; ``mnist`` and a folder raise `DataError` instead.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if spec == "digits":
        return load_digits(split)
    if spec in ("auto", "mnist"):
        try:
            return load_mnist(None, split)
        except DataError as e:
            if spec == "mnist":
                raise
            if log is not None:
                log(f"vislab: warning: {e} -- using the built-in 8x8 digits instead (--data digits)")
            return load_digits(split)
    return load_mnist(spec, split, download=False)


def load_mnist(root: str | os.PathLike | None = None, split: str = "train", *,
               download: bool = True) -> Digits:
    """MNIST `split` from `root` (or the default places, then a download into the cache when `download`)."""
    if root is not None:
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise DataSettingError("data", f"{folder}: no such folder")
        found = find_mnist(folder)
        if found is None:
            raise DataSettingError("data", f"{folder}: no MNIST IDX files for the {split} split there (expected "
                                           f"e.g. {FILES[split + '-images'][0]} and {FILES[split + '-labels'][0]}, "
                                           "gzipped or not, in the folder or in MNIST/raw/)")
        return _read_split(found, split)
    searched = []
    for folder in _default_folders():
        searched.append(str(folder))
        found = find_mnist(folder)
        if found is not None:
            return _read_split(found, split)
    if not download:
        raise DataError(f"MNIST not found in {', '.join(searched)}")
    cache = cache_dir("mnist")
    download_mnist(cache)
    return _read_split(cache, split)


def find_mnist(folder: Path) -> Path | None:
    """The folder (`folder` or one of its usual sub-folders) that holds both files of at least one split."""
    for sub in _LAYOUTS:
        d = folder / sub if sub else folder
        if d.is_dir() and any(_find_file(d, k) and _find_file(d, k.replace("images", "labels"))
                              for k in ("train-images", "test-images")):
            return d
    return None


def _default_folders() -> list[Path]:
    out = []
    shared = data_dir()
    if shared is not None:
        out.append(shared / "mnist")
    out.append(cache_dir("mnist"))
    return out


def _find_file(folder: Path, key: str) -> list[Path] | None:
    """Paths whose bytes, joined, are the file `key`: gz or raw, both naming styles, or byte-split .partNN."""
    gz_name = FILES[key][0]
    raw_name = gz_name[:-3]
    dotted = raw_name.replace("-idx", ".idx")  # train-images.idx3-ubyte, as some mirrors name it
    for name in (gz_name, raw_name, dotted + ".gz", dotted):
        p = folder / name
        if p.is_file():
            return [p]
        parts = sorted(folder.glob(name + ".part*"))
        if parts:
            return parts
    return None


@functools.lru_cache(maxsize=8)
def _read_split_cached(folder: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    d = Path(folder)
    img_paths = _find_file(d, f"{split}-images")
    lbl_paths = _find_file(d, f"{split}-labels")
    if img_paths is None or lbl_paths is None:
        raise DataError(f"{d}: no MNIST IDX files for the {split} split (expected "
                        f"{FILES[split + '-images'][0]} and {FILES[split + '-labels'][0]}, gzipped or not)")
    images = read_idx(img_paths, IMAGES_MAGIC)
    labels = read_idx(lbl_paths, LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{img_paths[0]}: expected 28x28 images, got shape {images.shape}")
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{lbl_paths[0]}: {labels.shape[0]} labels for {images.shape[0]} images")
    if labels.size and labels.max() > 9:
        raise DataError(f"{lbl_paths[0]}: label {int(labels.max())} is not a digit 0-9")
    # device: cpu-ok (decoded files; the trainer moves them)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def _read_split(folder: Path, split: str) -> Digits:
    images, labels = _read_split_cached(str(folder.resolve()), split)
    return Digits(images, labels, "mnist", str(folder))


def read_idx(paths: Path | list[Path], magic: int) -> np.ndarray:
    """Parse an IDX file (gzipped or not; several paths are byte parts joined in memory, never on disk)."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    where = paths[0] if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} parts)"
    try:
        data = b"".join(p.read_bytes() for p in paths)
    except OSError as e:
        raise DataError(f"{where}: cannot read ({e.strerror or e})") from e
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, ValueError, zlib.error) as e:
            raise DataError(f"{where}: corrupt or truncated gzip file ({e})") from e
    if len(data) < 8:
        raise DataError(f"{where}: too short to be an IDX file ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{where}: wrong IDX magic number {found} (expected {magic} for MNIST {kind})")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims)) if dims else 0
    if len(data) - header != expected:
        raise DataError(f"{where}: IDX header says {dims} = {expected} bytes of data, file has "
                        f"{len(data) - header} (truncated or corrupt)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _fetch(url: str, timeout: float = 30.0) -> bytes:
    """One HTTP GET (the only network access in vislab.gan; tests replace it)."""
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - fixed https mirrors
        return r.read()


def download_mnist(folder: Path) -> None:
    """Download the four gzip files into `folder`, verifying each sha256; files already there are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sha in FILES.values():
        target = folder / name
        if target.is_file() and _sha256(target.read_bytes()) == sha:
            continue
        errors = []
        for mirror in MIRRORS:
            try:
                blob = _fetch(mirror + name)
            except OSError as e:  # URLError, timeouts, DNS failures: all mean "not reachable"
                errors.append(f"{mirror}: {getattr(e, 'reason', e)}")
                continue
            if _sha256(blob) != sha:
                errors.append(f"{mirror}: checksum mismatch")
                continue
            with atomic_path(target) as tmp:
                tmp.write_bytes(blob)
            break
        else:
            raise DataError(
                f"MNIST is not on disk and could not be downloaded ({'; '.join(errors)}). Get the four files "
                f"{', '.join(n for n, _ in FILES.values())} (e.g. from {MIRRORS[0]}) into {folder}, or pass "
                "--data DIR with a folder that has them")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=2)
def _digits_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits as sk_load_digits

    d = sk_load_digits()  # bundled with scikit-learn: no network
    # device: cpu-ok (decoded data set; the trainer moves it)
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    # MNIST digits fill a 20x20 box centred in 28x28; do the same so the two sets look alike.
    x = torch.nn.functional.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    x = torch.nn.functional.pad(x, (4, 4, 4, 4))
    images = (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8)
    # device: cpu-ok (decoded data set; the trainer moves it)
    return images, torch.from_numpy(d.target.astype(np.int64))


def load_digits(split: str = "train") -> Digits:
    """scikit-learn's 8x8 digits as 28x28 images; every 6th image is the test split (300), the rest train."""
    images, labels = _digits_arrays()
    # device: cpu-ok (a split mask over CPU labels)
    test = torch.arange(len(labels)) % 6 == 0
    keep = test if split == "test" else ~test
    return Digits(images[keep], labels[keep], "digits", "sklearn.datasets.load_digits (8x8, upscaled)")
