"""Every kind of bad input to `vislab caption` (train, eval, IMAGE...) is one line ``vislab: error: ...``, exit 2,
and nothing written: flags with zero, negative, NaN, infinite and huge values, sizes that cannot fit in memory,
bad data specs, malformed or hostile caption files, damaged h5 files and checkpoints, unreadable images, and
output folders that cannot be used."""

from __future__ import annotations

import copy
import json
import os

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import assert_one_line_error
from vislab.runs import load_checkpoint, save_checkpoint

from .tiny_runs import SMALL_FLAGS, nothing_written, train_tiny

HUGE = str(10**30)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("cap") / "run").run_dir


def _refused(cli, out, *args, fragments=()):
    """Run `vislab caption ARGS --out OUT`: a one-line error naming `fragments`, and OUT left unmade."""
    r = cli("caption", *args, "--out", out)
    assert_one_line_error(r, *fragments)
    assert nothing_written(out), sorted(p.name for p in out.iterdir())


NUMERIC_FLAGS = ["--lr", "--lr-decay", "--batch-size", "--hidden-dim", "--wordvec-dim", "--max-length", "--min-count",
                 "--pca-dim", "--save-every", "--log-every", "--eval-images", "--epochs", "--image-size", "--seed"]
ZERO_MEANS_SOMETHING = ("--save-every", "--eval-images", "--seed")  # each epoch only / all images / seed 0


@pytest.mark.parametrize(("flag", "value"), [(f, v) for f in NUMERIC_FLAGS
                                             for v in ["0", "-1", "nan", "inf", "1e400", HUGE, "abc"]
                                             if not (v == "0" and f in ZERO_MEANS_SOMETHING)])
def test_train_numeric_flags(cli, tmp_path, flag, value):
    _refused(cli, tmp_path / "o", "train", *SMALL_FLAGS, flag, value, fragments=[flag])


@pytest.mark.parametrize("value", ["0", "-1", "1e400", HUGE, "1001"])
def test_beam_flags(cli, tmp_path, trained, value):
    _refused(cli, tmp_path / "o", "eval", "--checkpoint", trained, "--beam", value, fragments=["--beam"])
    _refused(cli, tmp_path / "p", "sample:coffee", "--checkpoint", trained, "--beam", value, fragments=["--beam"])


def test_sizes_that_cannot_fit_are_refused_before_any_work(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("vislab.machine.available_memory", lambda: 2**30)
    for flag, value, setting in (("--hidden-dim", "100000", "hidden_dim 100000"),
                                 ("--max-length", "10000000", "max_length 10000000"),
                                 ("--wordvec-dim", "10000000", "wordvec_dim 10000000")):
        _refused(cli, tmp_path / "o", "train", *SMALL_FLAGS, flag, value,
                 fragments=["needs about", "GiB", "only 1.0 GiB is available", setting])
    _refused(cli, tmp_path / "o", "train", *SMALL_FLAGS, "--data", "shapes:5000000",
             fragments=["data shapes:5000000", "needs about"])
    # Not memory but the data: PCA keeps at most min(training images, feature dimensions) directions.
    _refused(cli, tmp_path / "o", "train", *SMALL_FLAGS, "--pca-dim", "500",
             fragments=["--pca-dim must be between 1 and 32"])


@pytest.mark.parametrize(("grid", "fragment"), [("0x0", "from 1 to 64"), ("abc", "RxC"), ("1x100000", "1 to 64"),
                                                ("1x", "RxC"), ("1x3", "needs feature_layer")])
def test_feature_grid(cli, tmp_path, grid, fragment):
    _refused(cli, tmp_path / "o", "train", *SMALL_FLAGS, "--feature-grid", grid, fragments=["--feature-grid", fragment])


def test_data_specs(cli, tmp_path):
    (tmp_path / "adir.json").mkdir()
    os.mkfifo(tmp_path / "fifo.json")
    for spec, fragment in (("", "must be a data spec"), ("shapes:", "shapes:N with N from 10"),
                           ("shapes:5", "N from 10"), ("shapes:1e400", "N from 10"), ("coco:x", "expected coco:"),
                           (f"coco:{tmp_path}/missing.json:{tmp_path}", "no such caption file"),
                           (f"coco:{tmp_path}/adir.json:{tmp_path}", "not a regular file"),
                           (f"coco:{tmp_path}/fifo.json:{tmp_path}", "not a regular file"),
                           (f"karpathy:{tmp_path}/adir.json:{tmp_path}/nope", "not a regular file"),
                           ("cs231n:/nonexistent", "no such folder"), ("flickr:x", "unknown data kind")):
        _refused(cli, tmp_path / "o", "train", "--data", spec, fragments=["--data", fragment])
        _refused(cli, tmp_path / "o", "eval", "--checkpoint", tmp_path, "--data", spec, fragments=["--data"])


def _pictures(folder, n=12):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return [{"id": i, "file_name": f"{i}.png"} for i in range(n)], [{"image_id": i, "caption": "a red shape"}
                                                                  for i in range(n)]


def test_hostile_and_malformed_caption_files(cli, tmp_path):
    images, anns = _pictures(tmp_path / "img")
    (tmp_path / "secret.png").write_bytes((tmp_path / "img" / "0.png").read_bytes())
    coco = {
        "../": ({"id": 99, "file_name": "../secret.png"}, {"image_id": 99, "caption": "x"}, "outside the image folder"),
        "absolute": ({"id": 99, "file_name": str(tmp_path / "secret.png")}, {"image_id": 99, "caption": "x"},
                     "outside the image folder"),
        "null caption": (None, {"image_id": 1, "caption": None}, "caption must be text, got null"),
        "number caption": (None, {"image_id": 1, "caption": 5}, "caption must be text, got 5"),
        "list id": (None, {"image_id": [1], "caption": "x"}, "refers to image_id [1]"),
    }
    for image, ann, fragment in coco.values():
        p = tmp_path / "c.json"
        p.write_text(json.dumps({"images": images + ([image] if image else []), "annotations": anns + [ann]}))
        _refused(cli, tmp_path / "o", "train", "--data", f"coco:{p}:{tmp_path / 'img'}", fragments=["c.json", fragment])
    karpathy = {"tokens": ({"tokens": ["a", 5]}, "", "tokens must be a list of words"),
                "raw": ({"raw": None}, "", "raw must be text"),
                "filepath": ({"tokens": ["a"]}, str(tmp_path), "outside the image folder")}
    for sentence, filepath, fragment in karpathy.values():
        p = tmp_path / "k.json"
        p.write_text(json.dumps({"images": [{"split": "train", "filename": "0.png", "filepath": filepath,
                                             "sentences": [sentence]}]}))
        _refused(cli, tmp_path / "o", "train", "--data", f"karpathy:{p}:{tmp_path / 'img'}",
                 fragments=["k.json", fragment])


def _cs231n(root):
    """A tiny dataset in the cs231n assignment's layout, made without the shared data."""
    root.mkdir()
    words = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "blue", "shape"]
    (root / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": words}))
    with h5py.File(root / "coco2014_captions.h5", "w") as f:
        for split, n in (("train", 6), ("val", 4)):
            f.create_dataset(f"{split}_captions", data=np.tile([1, 4, 5, 7, 2, 0], (n, 1)).astype(np.int32))
            f.create_dataset(f"{split}_image_idxs", data=np.arange(n, dtype=np.int32))
    for split, n in (("train", 6), ("val", 4)):
        with h5py.File(root / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
            f.create_dataset("features", data=np.ones((n, 8), np.float32))
    return root


def test_damaged_cs231n_files(cli, tmp_path):
    def damage(name, how):
        root = _cs231n(tmp_path / name)
        how(root)
        return f"cs231n:{root}"

    def rewrite(path, key, data):
        with h5py.File(path, "a") as f:
            del f[key]
            f.create_dataset(key, data=data)

    cases = [
        (damage("corrupt", lambda r: (r / "coco2014_captions.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))),
         "not a readable HDF5 file"),
        (damage("nofeat", lambda r: (r / "val2014_vgg16_fc7_pca.h5").unlink()), "no val2014_vgg16_fc7_pca.h5"),
        (damage("flat", lambda r: rewrite(r / "train2014_vgg16_fc7_pca.h5", "features", np.ones(6, np.float32))),
         "features must be a 2-d array"),
        (damage("text", lambda r: rewrite(r / "coco2014_captions.h5", "train_captions", np.array([b"abc"] * 6))),
         "train_captions must be a 2-d array of integers"),
        (damage("vocab", lambda r: (r / "coco2014_vocab.json").write_text('{"idx_to_word": 5}')),
         "idx_to_word must be a list of words"),
        (damage("empty", lambda r: h5py.File(r / "train2014_vgg16_fc7_pca.h5", "w").close()), "no 'features'"),
    ]
    for spec, fragment in cases:
        _refused(cli, tmp_path / "o", "train", "--data", spec, "--epochs", "1", fragments=[fragment])
    r = cli("caption", "train", "--data", f"cs231n:{_cs231n(tmp_path / 'ok')}", "--image-size", "64",
            "--out", tmp_path / "o")
    assert_one_line_error(r, "--image-size does not apply", "precomputed")


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda s: s["model"].__setitem__("dtype", "float16"), "dtype 'float16' unknown"),
    (lambda s: s["model"].__setitem__("hidden_dim", -1), "hidden_dim must be a whole number"),
    (lambda s: s["params"].__setitem__("Wh", torch.zeros(3, 3)), "parameter Wh is (3, 3)"),
    (lambda s: s["params"]["W_vocab"].fill_(float("nan")), "parameter W_vocab holds NaN"),
    (lambda s: s["features"]["transform"].pop("mean"), "feature transform mean"),
    (lambda s: s["features"]["transform"]["std"].fill_(0), "std must be > 0"),
    (lambda s: s["features"]["transform"].__setitem__("components", torch.zeros(3, 2)), "mismatched parts"),
    (lambda s: s["features"]["spec"].__setitem__("grid", [0, 0]), "feature spec"),
    (lambda s: s.__setitem__("vocab", [1, 2, 3]), "vocab must be a list of words"),
    (lambda s: s["config"].__setitem__("max_length", "long"), "max_length must be a whole number"),
])
def test_checkpoints_with_wrong_values(cli, tmp_path, trained, damage, fragment):
    state = copy.deepcopy(load_checkpoint(trained / "checkpoint.pt", kind="captioning"))
    damage(state)
    bad = tmp_path / "bad.pt"
    save_checkpoint(state, bad, kind="captioning")
    _refused(cli, tmp_path / "p", "sample:coffee", "--checkpoint", bad, fragments=["bad.pt", fragment])
    _refused(cli, tmp_path / "e", "eval", "--checkpoint", bad, fragments=["bad.pt", fragment])
    assert_one_line_error(cli("caption", "train", "--resume", bad), "bad.pt", fragment)


def test_resume_state_that_cannot_be_restored(cli, tmp_path, trained):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes((trained / "config.json").read_bytes())
    state = load_checkpoint(trained / "checkpoint.pt", kind="captioning")
    save_checkpoint({**state, "rng": {"python": 1}}, run / "checkpoint.pt", kind="captioning")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.iterdir())
    assert_one_line_error(cli("caption", "train", "--resume", run, "--epochs", "2"), "checkpoint.pt",
                          "cannot be restored")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.iterdir() if p.name != ".vislab.lock") == before


def test_unreadable_images(cli, tmp_path, trained):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "dir.png").mkdir()
    os.mkfifo(tmp_path / "fifo.png")
    for name, fragment in (("empty.png", "not an image file"), ("text.png", "not an image file"),
                           ("dir.png", "not a regular file"), ("fifo.png", "not a regular file"),
                           ("missing.png", "no such image file")):
        _refused(cli, tmp_path / "o", "sample:coffee", tmp_path / name, "--checkpoint", trained,
                 fragments=[name, fragment])
    # Tiny and extremely thin pictures are still pictures.
    Image.new("RGB", (1, 1), "red").save(tmp_path / "dot.png")
    Image.new("RGB", (1, 100000), "red").save(tmp_path / "thin.png")
    r = cli("caption", tmp_path / "dot.png", tmp_path / "thin.png", "--checkpoint", trained)
    assert r.rc == 0, r.err
    assert len(r.out.strip().splitlines()) == 2


def test_output_folders_that_cannot_be_used(cli, tmp_path, trained):
    (tmp_path / "file").write_text("x")
    _refused(cli, tmp_path / "file" / "sub", "train", *SMALL_FLAGS, fragments=[])
    assert_one_line_error(cli("caption", "train", *SMALL_FLAGS, "--out", tmp_path / "file"), "not a folder")
    # A folder holding another run is refused and left as it was, for every command.
    before = sorted((p.name, p.stat().st_mtime_ns) for p in trained.iterdir() if p.name != ".vislab.lock")
    for args in (["train", *SMALL_FLAGS], ["eval", "--checkpoint", trained],
                 ["sample:coffee", "--checkpoint", trained]):
        assert_one_line_error(cli("caption", *args, "--out", trained), "holds the results", "--overwrite")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in trained.iterdir() if p.name != ".vislab.lock") == before


def test_resume_conflicts(cli, tmp_path, trained):
    assert_one_line_error(cli("caption", "train", "--resume", trained, "--lr", "0.1"),
                          "--lr cannot change when resuming", "0.005")
    _refused(cli, tmp_path / "o", "train", "--resume", trained, fragments=["continues in its own folder"])
    gan = tmp_path / "gan.pt"
    save_checkpoint({"G": {"w": torch.zeros(2)}}, gan, kind="gan")
    assert_one_line_error(cli("caption", "train", "--resume", gan), "'gan' checkpoint")


def test_a_diverging_run_is_one_line_and_its_folder_says_failed(cli, tmp_path, monkeypatch):
    """Divergence shows only while training, so the folder exists by then; its status.json says what happened."""
    from vislab.captioning.engines import NumpyEngine

    real = NumpyEngine.train_step
    calls = []

    def diverge_at_third(self, *args):
        calls.append(1)
        return real(self, *args) if len(calls) < 3 else float("nan")

    monkeypatch.setattr(NumpyEngine, "train_step", diverge_at_third)
    assert_one_line_error(cli("caption", "train", *SMALL_FLAGS, "--out", tmp_path / "o"),
                          "--lr 0.005 made training diverge", "step 3")
    status = json.loads((tmp_path / "o" / "status.json").read_text())
    assert status["status"] == "failed" and "diverge" in status["message"]
