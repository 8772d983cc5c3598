"""MNIST IDX reading (gz, raw, parts, torchvision layout), bad files, offline download, digits fallback."""

import gzip
import hashlib
import urllib.error

import numpy as np
import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab.errors import DataError
from vislab.gan import data


def _idx(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_mnist():
    """20 random 28x28 'images' with labels, as IDX bytes."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    return images, labels, _idx(images, 2051), _idx(labels, 2049)


def test_reads_the_shared_mnist_with_its_byte_split_training_images(shared_data):
    train = data.load_mnist(shared_data / "mnist", "train", download=False)
    test = data.load_mnist(shared_data / "mnist", "test", download=False)
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 28, 28)
    # The well-known first training labels, and the class counts of the test set.
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The parts were joined in memory to the original file (sha256 from the MNIST distribution) ...
    parts = sorted((shared_data / "mnist").glob("train-images-idx3-ubyte.gz.part*"))
    joined = b"".join(p.read_bytes() for p in parts)
    assert hashlib.sha256(joined).hexdigest() == data.FILES["train-images"][1]
    # ... and the pixels decoded from it are those of that file, read independently here.
    raw = np.frombuffer(gzip.decompress(joined), np.uint8, offset=16).reshape(60000, 28, 28)
    assert np.array_equal(train.images.numpy(), raw)
    assert not list((shared_data / "mnist").glob("train-images-idx3-ubyte.gz")), "joined file written to disk"


@pytest.mark.parametrize("layout", ["flat-gz", "raw", "dotted", "torchvision"])
def test_reads_the_usual_layouts(tmp_path, tiny_mnist, layout):
    images, labels, img_bytes, lbl_bytes = tiny_mnist
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "flat-gz":
        (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(img_bytes))
        (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(lbl_bytes))
    elif layout == "dotted":
        (folder / "t10k-images.idx3-ubyte").write_bytes(img_bytes)
        (folder / "t10k-labels.idx1-ubyte").write_bytes(lbl_bytes)
    else:
        (folder / "t10k-images-idx3-ubyte").write_bytes(img_bytes)
        (folder / "t10k-labels-idx1-ubyte").write_bytes(lbl_bytes)
    got = data.load_dataset(str(tmp_path), "test")
    assert got.name == "mnist"
    assert np.array_equal(got.images.numpy(), images)
    assert np.array_equal(got.labels.numpy(), labels)


def test_bad_files_raise_data_errors_naming_the_file(tmp_path, tiny_mnist):
    _, _, img_bytes, lbl_bytes = tiny_mnist
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(lbl_bytes)
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(lbl_bytes)  # a labels file where images belong
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.*magic number 2049 \(expected 2051"):
        data.load_dataset(str(tmp_path), "test")
    bad.write_bytes(img_bytes[:-100])
    with pytest.raises(DataError, match="truncated"):
        data.load_dataset(str(tmp_path), "test")
    bad.unlink()
    gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(img_bytes)[:-50])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        data.load_dataset(str(tmp_path), "test")
    with pytest.raises(DataError, match="no MNIST IDX files for the train split"):
        data.load_dataset(str(tmp_path), "train")
    with pytest.raises(DataError, match="no such folder"):
        data.load_dataset(str(tmp_path / "nope"), "train")


def test_cli_reports_bad_data_in_one_line(cli, tmp_path, tiny_mnist):
    _, _, img_bytes, lbl_bytes = tiny_mnist
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + img_bytes[4:])  # wrong magic
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(lbl_bytes)
    r = cli("gan", "train", "--data", tmp_path, "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(r, "train-images-idx3-ubyte", "magic number 2049")
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    r = cli("gan", "train", "--data", tmp_path / "missing", "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(r, "--data", "missing", "no such folder")


@pytest.fixture
def no_mnist_anywhere(tmp_path, monkeypatch):
    empty = tmp_path / "shared"
    empty.mkdir()
    monkeypatch.setenv("VISLAB_DATA", str(empty))
    monkeypatch.setenv("VISLAB_CACHE", str(tmp_path / "cache"))
    calls = []

    def offline(url, timeout=30.0):
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(data, "_fetch", offline)
    return calls


def test_offline_without_files_says_how_to_get_them(no_mnist_anywhere):
    with pytest.raises(DataError) as e:
        data.load_dataset("mnist", "train")
    msg = str(e.value)
    assert "could not be downloaded" in msg and "train-images-idx3-ubyte.gz" in msg and "--data DIR" in msg
    assert no_mnist_anywhere and all(u.startswith("https://") for u in no_mnist_anywhere)


def test_auto_falls_back_to_builtin_digits_with_a_warning(no_mnist_anywhere):
    warnings = []
    d = data.load_dataset("auto", "train", log=warnings.append)
    assert d.name == "digits" and len(d) == 1497
    assert len(warnings) == 1 and "--data digits" in warnings[0] and "could not be downloaded" in warnings[0]


def test_download_verifies_checksums_and_caches(no_mnist_anywhere, tmp_path, monkeypatch, shared_data):
    # Serve the real files from the shared folder in place of the network; corrupt the first mirror's copy.
    blobs = {name: (shared_data / "mnist" / name).read_bytes() for name, _ in data.FILES.values()
             if not name.startswith("train-images")}
    blobs["train-images-idx3-ubyte.gz"] = b"".join(
        p.read_bytes() for p in sorted((shared_data / "mnist").glob("train-images-idx3-ubyte.gz.part*")))
    seen = []

    def fetch(url, timeout=30.0):
        seen.append(url)
        name = url.rsplit("/", 1)[1]
        return blobs[name][:-1] + b"x" if url.startswith(data.MIRRORS[0]) else blobs[name]

    monkeypatch.setattr(data, "_fetch", fetch)
    d = data.load_dataset("mnist", "test")
    assert len(d) == 10000
    cache = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(n for n, _ in data.FILES.values())
    assert len(seen) == 8  # each of the 4 files: bad checksum on mirror 1, good on mirror 2
    seen.clear()
    data.load_dataset("mnist", "test")  # cached now: no network
    assert seen == []


def test_builtin_digits_look_like_mnist():
    train, test = data.load_digits("train"), data.load_digits("test")
    assert len(train) + len(test) == 1797 and len(test) == 300
    assert train.images.shape[1:] == (28, 28) and train.images.dtype == torch.uint8
    assert set(train.labels.tolist()) == set(range(10))
    # digits sit in the central 20x20 box, like MNIST's
    assert train.images[:, :4].sum() == 0 and train.images[:, :, -4:].sum() == 0
    assert int(train.images.max()) == 255
    x = data.to_gan_input(train.images[:2])
    assert x.shape == (2, 784) and float(x.min()) >= -1 and float(x.max()) <= 1
