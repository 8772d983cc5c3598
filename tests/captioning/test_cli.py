"""`vislab caption` end to end through the CLI, and the one-line errors users get for bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab.runs import read_metrics, save_checkpoint

from .conftest import TINY
from .test_data import _write_cs231n

SMALL = ["--hidden-dim", "24", "--wordvec-dim", "16", "--log-every", "5"]


def test_coco_minis_end_to_end(cli, tmp_path, coco_train, coco_val):
    """Train on train_mini, caption val_mini images, evaluate on val_mini: a pipeline test with the real
    default backbone (at 32 px to keep it quick), so scores are low but must be real numbers."""
    run = tmp_path / "run"
    r = cli("caption", "train", "--data", f"coco:{coco_train[0]}:{coco_train[1]}", "--epochs", "2",
            "--image-size", "32", "--min-count", "2", "--out", run, *SMALL)
    assert r.rc == 0, r.err
    assert "checkpoint:" in r.out and (run / "checkpoint.pt").is_file() and (run / "curves.png").is_file()
    rows = read_metrics(run)
    assert [r["epoch"] for r in rows if "val_loss" in r] == [1, 2]

    images = sorted(coco_val[1].iterdir())[:2]
    r = cli("caption", *images, "--checkpoint", run, "--beam", "2")
    assert r.rc == 0, r.err
    lines = r.out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{images[0]}: ") and len(lines[0].split(": ")[1]) > 0

    out = tmp_path / "eval"
    r = cli("caption", "eval", "--checkpoint", run, "--data", f"coco:{coco_val[0]}:{coco_val[1]}",
            "--split", "all", "--out", out)
    assert r.rc == 0, r.err
    assert "0-1 scale" in r.out and "CIDEr-D" in r.out and "BLEU-4" in r.out
    records = json.loads((out / "captions.json").read_text())
    assert len(records) == 79 and all(len(rec["references"]) == 5 for rec in records)
    scores = json.loads((out / "scores.json").read_text())
    assert 0 < scores["BLEU-1"] <= 1 and scores["CIDEr-D"] >= 0
    # What was printed is what was written.
    assert f"{scores['BLEU-4']:.4f}" in r.out


def test_shapes_train_samples_caption_and_resume(cli, tmp_path):
    run = tmp_path / "run"
    common = ["--model", TINY, "--image-size", "32", *SMALL]
    r = cli("caption", "train", "--data", "shapes:40", "--epochs", "1", "--out", run, *common)
    assert r.rc == 0, r.err
    samples = sorted((run / "samples").glob("*.png"))
    assert len(samples) == 4  # the test split of 40 images
    r = cli("caption", samples[0], "sample:coffee", "--checkpoint", run / "checkpoint.pt", "--json")
    assert r.rc == 0, r.err
    rec, photo = json.loads(r.out)
    assert rec["image"] == str(samples[0]) and photo["image"] == "sample:coffee"
    assert isinstance(rec["caption"], str) and isinstance(photo["caption"], str)
    # --resume continues the same run to more epochs, with the settings it was started with.
    r = cli("caption", "train", "--resume", run, "--epochs", "2")
    assert r.rc == 0, r.err
    assert [m["epoch"] for m in read_metrics(run) if "val_loss" in m] == [1, 2]
    assert json.loads((run / "config.json").read_text())["config"]["hidden_dim"] == 24


@pytest.fixture
def cs231n_dir(tmp_path, shared_data):
    _write_cs231n(tmp_path / "c", shared_data / "captioning" / "cs231n" / "coco2014_vocab.json")
    return tmp_path / "c"


def test_cs231n_train_and_eval(cli, tmp_path, cs231n_dir):
    run = tmp_path / "run"
    r = cli("caption", "train", "--data", f"cs231n:{cs231n_dir}", "--epochs", "1", "--engine", "torch",
            "--device", "cpu", "--out", run, *SMALL)
    assert r.rc == 0, r.err
    r = cli("caption", "eval", "--checkpoint", run, "--split", "val", "--out", tmp_path / "e")
    assert r.rc == 0, r.err
    assert len(json.loads((tmp_path / "e" / "captions.json").read_text())) == 4
    # No test split in the assignment's files, and its VGG features cannot be made from images.
    assert_one_line_error(cli("caption", "eval", "--checkpoint", run, "--out", tmp_path / "e2"),
                          "split 'test' is empty", "val")
    assert_one_line_error(cli("caption", "x.jpg", "--checkpoint", run), "precomputed features",
                          "cannot read images")


def test_errors_are_one_line(cli, tmp_path, cs231n_dir, coco_val):
    run = tmp_path / "run"
    assert cli("caption", "train", "--data", "shapes:20", "--epochs", "1", "--model", TINY, "--image-size",
               "32", "--out", run, *SMALL).rc == 0
    # Missing image files, to caption and in a dataset.
    assert_one_line_error(cli("caption", tmp_path / "nope.jpg", "--checkpoint", run), "nope.jpg")
    bad = tmp_path / "captions.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "gone.jpg"}],
                               "annotations": [{"image_id": 1, "caption": "a dog"}]}))
    assert_one_line_error(cli("caption", "train", "--data", f"coco:{bad}:{tmp_path}", "--out",
                              tmp_path / "r2"), "gone.jpg")
    # JSON without the expected fields.
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "captions": []}))
    assert_one_line_error(cli("caption", "eval", "--checkpoint", run, "--data", f"coco:{bad}:{tmp_path}"),
                          "'annotations'")
    # Captions that are all unknown words.
    one = sorted(coco_val[1].iterdir())[0]
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": one.name}],
                               "annotations": [{"image_id": 1, "caption": "?!"},
                                               {"image_id": 1, "caption": "x"}]}))
    assert_one_line_error(cli("caption", "train", "--data", f"coco:{bad}:{coco_val[1]}", "--min-count", "3",
                              "--model", TINY, "--image-size", "32", "--out", tmp_path / "r3"),
                          "unknown words")
    # An empty split.
    assert_one_line_error(cli("caption", "eval", "--checkpoint", run, "--data", f"coco:{bad}:{coco_val[1]}",
                              "--split", "val"), "split 'val' is empty")
    # A checkpoint of another model, and a file that is no checkpoint at all.
    gan = tmp_path / "gan.pt"
    save_checkpoint({"G": {"w": torch.zeros(2)}}, gan, kind="gan")
    assert_one_line_error(cli("caption", one, "--checkpoint", gan), "'gan' checkpoint", "captioning")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    assert_one_line_error(cli("caption", "eval", "--checkpoint", junk), "junk.pt",
                          "not a readable checkpoint")
    # No --checkpoint means the shipped captioner (tests/captioning/test_attention_shipped.py).
    # Features with NaN.
    with h5py.File(cs231n_dir / "train2014_vgg16_fc7_pca.h5", "r+") as f:
        x = f["features"][...]
        x[2, 0] = np.nan
        f["features"][...] = x
    assert_one_line_error(cli("caption", "train", "--data", f"cs231n:{cs231n_dir}", "--out", tmp_path / "r4"),
                          "NaN", "train2014_vgg16_fc7_pca.h5")
    # Bad flag values.
    assert_one_line_error(cli("caption", "train", "--feature-grid", "3", "--out", tmp_path / "r5"),
                          "--feature-grid")
    assert_one_line_error(cli("caption", "train", "--cell", "mamba"), "--cell")  # transformer is a cell now
    assert_one_line_error(cli("caption", "train", "--data", "flickr:x", "--out", tmp_path / "r6"),
                          "unknown data kind")
