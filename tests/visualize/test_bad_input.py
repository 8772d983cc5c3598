"""Bad input to classify, saliency, fool and dream: one ``vislab: error:`` line, exit status 2, and nothing
written (the --out folder is never made), for every kind of bad value, file, class and model."""

from __future__ import annotations

import json
import os

import pytest
from PIL import Image

from tests.conftest import assert_one_line_error

TINY = "tests.visualize.tiny_classifier:build"
COMMANDS = {  # command -> arguments before the one under test (images come first)
    "classify": ["classify"],
    "saliency": ["saliency"],
    "fool": ["fool"],
}
TARGET = {"classify": [], "saliency": [], "fool": ["--target", "tarantula"]}


def _out_args(command: str, out) -> list:
    return [] if command == "classify" else ["--out", out]


def _nothing_written(out) -> None:
    assert not out.exists() or not any(out.iterdir())


@pytest.fixture
def bad_images(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("not an image")
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    Image.new("RGB", (300, 2)).save(tmp_path / "line.png")
    (tmp_path / "folder.png").mkdir()
    os.mkfifo(tmp_path / "pipe.png")
    return {"empty.png": "not an image", "notes.png": "not an image", "dot.png": "1x1", "line.png": "300x2",
            "folder.png": "directory", "pipe.png": "not a regular file", "missing.png": "no such file"}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_image_files(cli, tmp_path, bad_images, command):
    out = tmp_path / "out"
    for name, what in bad_images.items():
        r = cli(*COMMANDS[command], tmp_path / name, *TARGET[command], "--model", TINY, *_out_args(command, out))
        assert_one_line_error(r, name, what)
        assert r.out == ""
        _nothing_written(out)


@pytest.mark.parametrize("target", ["-1", "1000", "1e400", "nan", ""])
def test_bad_class_names_and_indices(cli, tmp_path, target):
    out = tmp_path / "out"
    for args in (["saliency", "sample:coffee", "--target", target], ["fool", "sample:coffee", "--target", target],
                 ["dream", "--class", target]):
        r = cli(*args, "--model", TINY, "--out", out)
        assert_one_line_error(r, target if target else "class")
        _nothing_written(out)


@pytest.mark.parametrize("args, fragment", [
    (["classify", "sample:coffee", "--topk", "0"], "--topk"),
    (["classify", "sample:coffee", "--batch-size", "1e400"], "--batch-size"),
    (["saliency", "sample:coffee", "--samples", "-3"], "--samples"),
    (["saliency", "sample:coffee", "--noise", "nan"], "--noise"),
    (["saliency", "sample:coffee", "--noise", "inf"], "--noise"),
    (["saliency", "sample:coffee", "--tol", "-0.1"], "--tol"),
    (["saliency", "sample:coffee", "--steps", "0"], "--steps"),
    (["saliency", "sample:coffee", "--max-steps", str(10**30)], "--max-steps"),
    (["saliency", "sample:coffee", "--batch-size", "x"], "--batch-size"),
    (["saliency", "sample:coffee", "--seed", "-1"], "--seed"),
    (["saliency", "sample:coffee", "--baseline-samples", "0"], "--baseline-samples"),
    (["saliency", "sample:coffee", "--baseline-samples", "3"], "--baseline-samples"),  # blur is one image
    (["saliency", "sample:coffee", "--baseline", "white"], "--baseline"),
    (["fool", "sample:coffee", "--target", "1", "--lr", "inf"], "--lr"),
    (["fool", "sample:coffee", "--target", "1", "--lr", "0"], "--lr"),
    (["fool", "sample:coffee", "--target", "1", "--lr", "1e400"], "--lr"),
    (["fool", "sample:coffee", "--target", "1", "--max-iters", "0"], "--max-iters"),
    (["fool", "sample:coffee", "--target", "1", "--max-iters", str(10**30)], "--max-iters"),
    (["fool", "sample:coffee", "--target", "1", "--margin", "nan"], "--margin"),
    (["fool", "sample:coffee", "--target", "1", "--linf", "300"], "--linf"),
    (["fool", "sample:coffee", "--target", "1", "--linf", "-4"], "--linf"),
    (["fool", "sample:coffee", "--target", "1", "--seed", "1180591620717411303424"], "--seed"),
    (["dream", "--class", "1", "--seed", "1180591620717411303424"], "--seed"),
    (["dream", "--class", "1", "--steps", "0"], "--steps"),
    (["dream", "--class", "1", "--steps", str(10**30)], "--steps"),
    (["dream", "--class", "1", "--size", "-5"], "--size"),
    (["dream", "--class", "1", "--lr", "inf"], "--lr"),
    (["dream", "--class", "1", "--l2-reg", "1e400"], "--l2-reg"),
    (["dream", "--class", "1", "--jitter", str(10**20)], "--jitter"),
    (["dream", "--class", "1", "--views", "0"], "--views"),
    (["dream", "--class", "1", "--param", "pixel", "--blur-sigma", "nan"], "--blur-sigma"),
    (["dream", "--class", "1", "--param", "pixel", "--blur-every", "-1"], "--blur-every"),
    (["dream", "--class", "1", "--param", "pixel", "--views", "3"], "--views"),  # a Fourier-only setting
    (["dream", "--class", "1", "--blur-every", "3"], "--blur-every"),  # a pixel-only setting
])
def test_bad_numbers(cli, tmp_path, args, fragment):
    out = tmp_path / "out"
    r = cli(*args, *([] if args[0] == "classify" else ["--out", out]))
    assert_one_line_error(r, fragment)
    _nothing_written(out)


@pytest.mark.parametrize("args, what", [
    (["dream", "--class", "1", "--size", "100000"], "100000x100000 dream"),
    (["dream", "--class", "1", "--size", "2048", "--views", "100000"], "100000 view"),
])
def test_sizes_that_cannot_fit_are_refused_with_the_estimate(cli, tmp_path, args, what):
    out = tmp_path / "out"
    r = cli(*args, "--model", TINY, "--out", out)
    assert_one_line_error(r, what, "TiB of memory")
    _nothing_written(out)


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """A module with a syntax error next to the user's data (the current folder), as `--model` finds it."""
    (tmp_path / "broken_models_syntax.py").write_text("def build(:\n    pass\n")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("factory, fragments", [
    ("tests.visualize.tiny_classifier:raises", ["factory raises() failed", "no weights today"]),
    ("broken_models_syntax:build", ["cannot import", "SyntaxError"]),
    ("tests.visualize.tiny_classifier:ten_outputs", ["10 outputs", "class names"]),
    ("tests.visualize.tiny_classifier:mismatched", ["10 outputs but 2 class names"]),
    ("tests.visualize.tiny_classifier:scalar", ["(N, classes)", "shape ()"]),
    ("tests.visualize.tiny_classifier:no_such_factory", ["no callable"]),
])
def test_broken_user_models(cli, tmp_path, user_models, factory, fragments):
    out = tmp_path / "out"
    for args in (["classify", "sample:coffee"], ["saliency", "sample:coffee", "--out", out],
                 ["fool", "sample:coffee", "--target", "1", "--out", out], ["dream", "--class", "1", "--out", out]):
        r = cli(*args, "--model", factory)
        assert_one_line_error(r, factory, *fragments)
        _nothing_written(out)


def test_a_folder_holding_another_run_is_refused_and_left_untouched(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("dream", "--class", "1", "--model", TINY, "--size", "32", "--steps", "1", "--out", out)
    assert r.rc == 0, r.err
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    for args in (["saliency", "sample:coffee"], ["fool", "sample:coffee", "--target", "1"],
                 ["dream", "--class", "2", "--size", "32", "--steps", "1"], ["classify", "sample:coffee"]):
        assert_one_line_error(cli(*args, "--model", TINY, "--out", out), "--overwrite")
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert json.loads((out / "config.json").read_text())["kind"] == "dream"
