"""Bad input to `vislab attack` / `vislab robustness`: one line `vislab: error: ...`, exit status 2, nothing
written."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error

from .conftest import TINY


@pytest.mark.parametrize("args, fragments", [
    (["nope.png"], ["nope.png"]),
    (["sample:chelsea", "--eps", "-1"], ["--eps", ">= 0"]),
    (["sample:chelsea", "--eps", "300"], ["--eps", "255"]),
    (["sample:chelsea", "--attack", "fgsm", "--norm", "l2"], ["--norm", "fgsm"]),
    (["sample:chelsea", "--attack", "deepfool", "--target", "3"], ["--target", "deepfool"]),
    (["sample:chelsea", "--restarts", "2", "--no-random-start"], ["--restarts", "random"]),
    (["sample:chelsea", "--target", "no such class"], ["no such class"]),
    (["sample:chelsea", "--steps", "0"], ["--steps"]),
    (["sample:chelsea", "--attack", "bim"], ["--attack", "bim"]),
    (["sample:chelsea", "--alpha", "x"], ["--alpha"]),
])
def test_attack_bad_input(cli, tmp_path, args, fragments):
    out = tmp_path / "run"
    r = cli("attack", *args, "--model", TINY, "--out", out)
    assert_one_line_error(r, *fragments)
    assert not (out / "config.json").exists()


def test_robustness_bad_input(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "labels.json").write_text(json.dumps({"missing.png": 3}))
    neg = tmp_path / "neg"
    neg.mkdir()
    (neg / "labels.json").write_text(json.dumps({"a.png": -1}))
    cases = [
        ([str(tmp_path / "absent")], ["absent", "not a folder"]),
        ([str(empty)], ["no images"]),
        ([str(bad)], ["missing.png"]),
        ([str(neg)], ["class indices"]),
        ([str(empty), "--eps", "1,x"], ["--eps"]),
        ([str(empty), "--eps", "1,1"], ["--eps", "twice"]),
        ([str(empty), "--eps", "256"], ["--eps"]),
        ([str(empty), "--batch-size", "0"], ["--batch-size"]),
        ([str(empty), "--resume"], ["resume", "--out"]),
    ]
    for args, fragments in cases:
        out = [] if "--resume" in args else ["--out", str(tmp_path / "run")]
        r = cli("robustness", *args, "--model", TINY, *out)
        assert_one_line_error(r, *fragments)
        assert not (tmp_path / "run" / "config.json").exists()
