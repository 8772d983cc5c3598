"""vislab.cs231n.data_utils.load_imagenet_val against numpy's own reading of the course's file (allow_pickle, as
the course), and its errors for absent, foreign and crafted files."""

import os

import numpy as np
import pytest

from vislab.cs231n.data_utils import load_imagenet_val
from vislab.errors import DataError


def _course_load(path, num=None):
    """The course's load_imagenet_val body (np.load with allow_pickle=True)."""
    f = np.load(path, allow_pickle=True)
    X, y, class_names = f["X"], f["y"], f["label_map"].item()
    if num is not None:
        X, y = X[:num], y[:num]
    return X, y, class_names


def test_the_courses_file_from_the_shared_data(shared_data, monkeypatch):
    monkeypatch.setenv("VISLAB_DATA", str(shared_data))
    path = shared_data / "imagenet_samples" / "imagenet_val_25.npz"
    X, y, names = load_imagenet_val(num=5)
    rX, ry, rnames = _course_load(path, num=5)
    assert X.shape == (5, 224, 224, 3) and X.dtype == np.uint8 and np.array_equal(X, rX)
    assert np.array_equal(y, ry) and y.dtype == ry.dtype
    assert names == {int(k): str(v) for k, v in rnames.items()}
    assert names[int(y[0])] == str(rnames[int(ry[0])])
    X25, y25, _ = load_imagenet_val(path=path)  # num=None: all 25
    assert X25.shape[0] == 25 and np.array_equal(y25, _course_load(path)[1])


def test_a_file_of_the_course_layout_given_by_path(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    y = np.array([2, 0, 1])
    np.savez(tmp_path / "v.npz", X=X, y=y, label_map=np.array({0: "tench", 1: "goldfish", 2: "shark"}))
    gX, gy, names = load_imagenet_val(num=2, path=tmp_path / "v.npz")
    assert np.array_equal(gX, X[:2]) and np.array_equal(gy, y[:2])
    assert names == {0: "tench", 1: "goldfish", 2: "shark"}


def test_absent_file_is_one_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VISLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match="imagenet_val_25.npz: no such file"):
        load_imagenet_val()
    monkeypatch.setenv("VISLAB_DATA", str(tmp_path / "absent"))
    with pytest.raises(DataError, match="VISLAB_DATA"):
        load_imagenet_val()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz: cannot read"):
        load_imagenet_val(path=tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="not the course's"):
        load_imagenet_val(path=tmp_path / "other.npz")


class _CallsOnLoad:
    def __reduce__(self):
        return (os.getcwd, ())  # unpickling this calls os.getcwd()


def test_a_crafted_label_map_cannot_run_code(tmp_path):
    label_map = np.empty((), dtype=object)
    label_map[()] = _CallsOnLoad()
    np.savez(tmp_path / "evil.npz", X=np.zeros((1, 2, 2, 3), np.uint8), y=np.zeros(1, int), label_map=label_map)
    with pytest.raises(ValueError):
        np.load(tmp_path / "evil.npz")["label_map"]  # numpy refuses it too without allow_pickle ...
    ran = np.load(tmp_path / "evil.npz", allow_pickle=True)["label_map"].item()  # ... the course's way runs it
    assert isinstance(ran, str)
    with pytest.raises(DataError, match="refusing to load"):
        load_imagenet_val(path=tmp_path / "evil.npz")
