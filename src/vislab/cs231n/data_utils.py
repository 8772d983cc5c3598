"""`cs231n.data_utils.load_imagenet_val`: the course's 25 ImageNet validation images (``imagenet_val_25.npz``).

The course reads ``cs231n/datasets/imagenet_val_25.npz`` next to its package and stops with ``assert False``
when it is absent. Here the file comes from `path`, else ``$VISLAB_DATA/imagenet_samples/imagenet_val_25.npz``
(`vislab.paths.data_dir()`); absent or malformed, it is one `vislab.errors.DataError` naming it. The course
unpickles the file with ``allow_pickle=True`` (its ``label_map`` is a pickled dict); this reads that dict with
an unpickler that builds only numpy arrays, scalars and strings, so a crafted file cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..paths import data_dir

__all__ = ["load_imagenet_val", "imagenet_val_path", "IMAGENET_VAL_FILE"]

IMAGENET_VAL_FILE = "imagenet_val_25.npz"

_SAFE_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")} | {
    (mod, name) for mod in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def imagenet_val_path(path: str | os.PathLike | None = None) -> Path:
    """`path` when given, else ``<VISLAB_DATA>/imagenet_samples/imagenet_val_25.npz``; DataError when absent."""
    if path is not None:
        p = Path(path)
    else:
        root = data_dir()
        if root is None:
            raise DataError(f"{IMAGENET_VAL_FILE}: no data folder (set VISLAB_DATA to the folder holding "
                            f"imagenet_samples/{IMAGENET_VAL_FILE}, or pass path=)")
        p = root / "imagenet_samples" / IMAGENET_VAL_FILE
    if not p.is_file():
        raise DataError(f"{p}: no such file (the course's {IMAGENET_VAL_FILE}, from its get_imagenet_val.sh)")
    return p


def _label_map(z: zipfile.ZipFile, p: Path) -> dict:
    with z.open("label_map.npy") as fp:
        version = np.lib.format.read_magic(fp)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(fp)
        obj = _NumpyOnlyUnpickler(io.BytesIO(fp.read()), encoding="latin1").load() if dtype.hasobject else None
    value = obj.item() if isinstance(obj, np.ndarray) and obj.shape == () == shape else None
    if not isinstance(value, dict):
        raise DataError(f"{p}: label_map is not a dict of class names")
    return {int(k): str(v) for k, v in value.items()}


def load_imagenet_val(num: int | None = None, path: str | os.PathLike | None = None
                      ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """The course's ``(X, y, class_names)``: X uint8 (num, 224, 224, 3), y int64 (num,) ImageNet labels,
    class_names {label: name} as stored in the file (the course's has 999: label 134 is missing). `num` keeps
    the first num images (max 25), as the course.

    `path` (not in the course) names the .npz; by default it is taken from the shared data folder (see
    `imagenet_val_path`). Class names are Python str (the course's are numpy str_, which print the same).
    """
    p = imagenet_val_path(path)
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            if not {"X.npy", "y.npy", "label_map.npy"} <= names:
                raise DataError(f"{p}: not the course's {IMAGENET_VAL_FILE} (needs arrays X, y and label_map)")
            with z.open("X.npy") as fx, z.open("y.npy") as fy:
                X, y = np.lib.format.read_array(fx), np.lib.format.read_array(fy)
            class_names = _label_map(z, p)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, pickle.UnpicklingError) as e:
        raise DataError(f"{p}: cannot read it as the course's {IMAGENET_VAL_FILE} ({e})") from e
    if X.ndim != 4 or X.shape[-1] != 3 or y.shape != X.shape[:1]:
        raise DataError(f"{p}: X has shape {X.shape} and y {y.shape}; expected (N, H, W, 3) and (N,)")
    if num is not None:
        X, y = X[:num], y[:num]
    return X, y, class_names
