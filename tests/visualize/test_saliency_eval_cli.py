"""`vislab saliency FOLDER --evaluate`: the saliency-eval job from the saliency command (the same settings, the same
files and numbers as `vislab saliency-eval`), and its refusals of what it cannot score."""

from __future__ import annotations

import csv
import json

from tests.conftest import assert_one_line_error
from tests.visualize.test_faithfulness_job import TINY, _folder

FLAGS = ("--methods", "vanilla,gradcam", "--model", TINY, "--road-fractions", "0.5", "--cascade", "1", "--samples", "3")


def _table(path):
    with open(path / "faithfulness.csv") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]  # time: not compared


def test_evaluate_equals_saliency_eval(cli, tmp_path):
    folder = _folder(tmp_path)
    a = cli("saliency", folder, "--evaluate", *FLAGS, "--out", tmp_path / "a")
    b = cli("saliency-eval", folder, *FLAGS, "--out", tmp_path / "b")
    assert a.rc == 0 and b.rc == 0, (a.err, b.err)
    config = [json.loads((tmp_path / d / "config.json").read_text()) for d in "ab"]
    assert config[0]["kind"] == config[1]["kind"] == "saliency-eval"
    assert config[0]["config"] == config[1]["config"]
    assert config[0]["config"]["samples"] == 3 and config[0]["config"]["steps"] == 16  # saliency-eval's chunks
    assert _table(tmp_path / "a") == _table(tmp_path / "b")
    assert [r["method"] for r in _table(tmp_path / "a")] == ["vanilla", "gradcam"]
    assert "faithfulness.md" in a.out and (tmp_path / "a" / "faithfulness.png").is_file()


def test_evaluate_refuses_images_unlabelled_folders_and_saliency_only_flags(cli, tmp_path):
    folder = _folder(tmp_path)
    cases = [((folder / "images" / "chelsea.png",), "not single images"),
             ((folder / "images",), "no labels.json"),
             ((), "needs a labelled folder"),
             ((folder, "--target", "cat"), "--target is not used with --evaluate"),
             ((folder, "--method", "ig"), "--method is not used"),
             ((folder, "--methods", "vanilla,nope"), "--methods")]
    for i, (args, fragment) in enumerate(cases):
        r = cli("saliency", *args, "--evaluate", "--model", TINY, "--out", tmp_path / f"o{i}")
        assert_one_line_error(r, fragment)
        assert not (tmp_path / f"o{i}").exists()


def test_evaluation_flags_without_evaluate_are_refused_in_either_order(cli, tmp_path):
    r = cli("saliency", "sample:coffee", "--model", TINY, "--methods", "gradcam", "--out", tmp_path / "s")
    assert_one_line_error(r, "--methods is used with --evaluate only")
    assert not (tmp_path / "s").exists()
    folder = _folder(tmp_path)
    r = cli("saliency", folder, "--cascade", "0", "--evaluate", "--model", TINY, "--methods", "vanilla",
            "--road-fractions", "0.5", "--out", tmp_path / "e")
    assert r.rc == 0, r.err
    config = json.loads((tmp_path / "e" / "config.json").read_text())["config"]
    assert (config["cascade"], config["methods"], config["road_fractions"]) == (0, ["vanilla"], [0.5])
