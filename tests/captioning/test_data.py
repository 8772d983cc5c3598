"""Dataset loaders (shapes, COCO, Karpathy, cs231n) all give one CaptionData; bad input, one clear error."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from vislab.captioning.data import load_data
from vislab.captioning.features import FeatureSpec
from vislab.captioning.tokenize import tokenize
from vislab.errors import DataError, ImageError

from .conftest import TINY

FAST = FeatureSpec(TINY, image_size=32)


def test_coco_mini(coco_train):
    json_path, image_dir = coco_train
    data = load_data(f"coco:{json_path}:{image_dir}", feature_spec=FAST, max_length=12, progress=False)
    raw = json.loads(json_path.read_text())
    assert len(data.image_names) == 80 and data.captions.shape == (400, 14)
    assert data.features.shape == (80, 16 * 4) and data.features.dtype == np.float32
    # Splits partition the images; the vocabulary holds exactly the training words.
    parts = [set(data.split_images(s).tolist()) for s in ("train", "val", "test")]
    assert sum(map(len, parts)) == 80 and set.union(*parts) == set(range(80))
    train_words = {w for i in data.split_images("train") for r in data.references[i] for w in r.split()}
    assert set(data.vocab.idx_to_word[4:]) == train_words
    # Captions are <START> words <END> padded with <NULL>, for the right image.
    by_file = {im["id"]: im["file_name"] for im in raw["images"]}
    ann = raw["annotations"][0]
    i = data.image_names.index(str(image_dir / by_file[ann["image_id"]]))
    assert " ".join(tokenize(ann["caption"])) in data.references[i]
    rows = data.captions[data.image_idxs == i]
    assert (rows[:, 0] == data.vocab.start).all()
    assert {data.vocab.decode(r) for r in rows} <= {" ".join(r.split()[:12]) for r in data.references[i]} | {
        data.vocab.decode(data.vocab.encode(r.split(), 12)) for r in data.references[i]}


def test_karpathy_layout(tmp_path, coco_val):
    _, image_dir = coco_val
    files = sorted(p.name for p in image_dir.iterdir())[:6]
    (tmp_path / "val2014").mkdir()
    for f in files:
        shutil.copy(image_dir / f, tmp_path / "val2014" / f)
    images = [{"filepath": "val2014", "filename": f, "split": s,
               "sentences": [{"tokens": ["a", "photo", str(k)], "raw": "A photo."},
                             {"tokens": ["an", "image"]}]}
              for k, (f, s) in enumerate(zip(files, ["train", "restval", "val", "test", "train", "test"]))]
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    data = load_data(f"karpathy:{tmp_path / 'dataset_coco.json'}:{tmp_path}", feature_spec=FAST,
                     progress=False)
    assert data.split_images("train").tolist() == [0, 1, 4]  # restval trains, as in Karpathy's code
    assert data.split_images("test").tolist() == [3, 5]
    assert data.references[2] == ["a photo 2", "an image"]
    assert "2" not in data.vocab.word_to_idx and "4" in data.vocab.word_to_idx


def _write_cs231n(root, vocab_file, n_train=6, n_val=4, dim=8, nan=False):
    """A tiny dataset in the exact layout of the cs231n assignment's coco_captioning folder."""
    root.mkdir(exist_ok=True)
    shutil.copy(vocab_file, root / "coco2014_vocab.json")
    rng = np.random.default_rng(0)
    with h5py.File(root / "coco2014_captions.h5", "w") as f:
        for split, n in (("train", n_train), ("val", n_val)):
            caps = np.zeros((2 * n, 17), np.int32)
            caps[:, 0] = 1
            caps[:, 1:4] = rng.integers(4, 1004, size=(2 * n, 3))
            caps[:, 4] = 2
            f.create_dataset(f"{split}_captions", data=caps)
            f.create_dataset(f"{split}_image_idxs", data=np.repeat(np.arange(n), 2).astype(np.int32))
    for split, n in (("train", n_train), ("val", n_val)):
        x = rng.standard_normal((n, dim)).astype(np.float32)
        if nan and split == "val":
            x[1, 3] = np.nan
        with h5py.File(root / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
            f.create_dataset("features", data=x)
        (root / f"{split}2014_urls.txt").write_text("".join(f"http://x/{split}/{i}.jpg\n" for i in range(n)))


def test_cs231n_layout(tmp_path, shared_data):
    vocab_file = shared_data / "captioning" / "cs231n" / "coco2014_vocab.json"
    _write_cs231n(tmp_path / "c", vocab_file)
    data = load_data(f"cs231n:{tmp_path / 'c'}")
    assert data.features.shape == (10, 8) and data.captions.shape == (20, 17)
    assert data.split_images("val").tolist() == [6, 7, 8, 9]
    assert data.image_names[6] == "http://x/val/0.jpg"
    words = json.loads(vocab_file.read_text())["idx_to_word"]
    with h5py.File(tmp_path / "c" / "coco2014_captions.h5") as f:
        first_val = f["val_captions"][0]
    assert data.references[6][0] == " ".join(words[i] for i in first_val[1:4])
    assert data.feature_spec is None  # precomputed VGG16 features: no backbone reproduces them
    with pytest.raises(DataError, match="split 'test' is empty"):
        data.split_images("test")


def test_cs231n_nan_features(tmp_path, shared_data):
    _write_cs231n(tmp_path / "c", shared_data / "captioning" / "cs231n" / "coco2014_vocab.json", nan=True)
    with pytest.raises(DataError, match="NaN"):
        load_data(f"cs231n:{tmp_path / 'c'}")


def _coco_json(tmp_path, images, annotations):
    p = tmp_path / "captions.json"
    p.write_text(json.dumps({"images": images, "annotations": annotations}))
    return p


def test_bad_inputs(tmp_path, coco_val):
    _, image_dir = coco_val
    one = sorted(image_dir.iterdir())[0].name
    spec = lambda p, d=image_dir: f"coco:{p}:{d}"  # noqa: E731
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_data(spec(bad_json), feature_spec=FAST)
    with pytest.raises(DataError, match="x.json: no such caption file"):
        load_data(spec(tmp_path / "x.json"), feature_spec=FAST)
    no_ann = tmp_path / "noann.json"
    no_ann.write_text(json.dumps({"images": []}))
    with pytest.raises(DataError, match="no 'annotations' field"):
        load_data(spec(no_ann), feature_spec=FAST)
    p = _coco_json(tmp_path, [{"id": 1}], [])
    with pytest.raises(DataError, match=r"images\[0\] has no 'file_name'"):
        load_data(spec(p), feature_spec=FAST)
    p = _coco_json(tmp_path, [{"id": 1, "file_name": "missing.jpg"}], [{"image_id": 1, "caption": "a cat"}])
    with pytest.raises(DataError, match="missing.jpg"):
        load_data(spec(p), feature_spec=FAST)
    # Captions that are all unknown words: nothing reaches --min-count.
    p = _coco_json(tmp_path, [{"id": 1, "file_name": one}], [{"image_id": 1, "caption": "a cat"}])
    with pytest.raises(DataError, match="unknown words"):
        load_data(spec(p), feature_spec=FAST, min_count=5)
    with pytest.raises(DataError, match="unknown data kind"):
        load_data("flickr:x")
    with pytest.raises(DataError, match="expected coco:CAPTIONS_JSON:IMAGE_DIR"):
        load_data("coco:only.json")


def test_corrupt_image_names_the_file(tmp_path, coco_val):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "broken.jpg").write_bytes(b"not a jpeg")
    p = _coco_json(tmp_path, [{"id": 1, "file_name": "broken.jpg"}], [{"image_id": 1, "caption": "a cat"}])
    with pytest.raises(ImageError, match="broken.jpg"):
        load_data(f"coco:{p}:{tmp_path / 'img'}", feature_spec=FAST)


def test_shapes_data_with_fast_features():
    data = load_data("shapes:40", feature_spec=FeatureSpec(TINY, image_size=32), progress=False)
    assert data.features.shape[0] == 40 and len(data.references[0]) in (3, 4)
    assert data.captions.shape[1] == 18 and data.image_names[3] == "shapes:3"
    with pytest.raises(DataError, match="shapes:N"):
        load_data("shapes:abc")
