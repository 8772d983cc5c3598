"""`vislab saliency | fool | dream` end to end: outputs, run folders, class names, and one-line errors."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from tests.conftest import assert_one_line_error
from vislab.backbones.squeezenet import SqueezeNet11
from vislab.images import load_image, resize, save_image
from vislab.runs import read_metrics
from vislab.visualize.parameterizations import FourierParameterization


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.size


def test_saliency_defaults_to_the_predicted_class_and_writes_readable_pictures(cli, tmp_path):
    out = tmp_path / "sal"
    r = cli("saliency", "sample:coffee", "--out", out)
    assert r.rc == 0, r.err
    row = read_metrics(out)[0]
    assert row["target"] == row["predicted"] and row["target_name"] in r.out
    for suffix, size in (("heatmap", (224, 224)), ("overlay", (224, 224))):
        assert _png_size(out / f"00_coffee_{suffix}.png") == size
    w, h = _png_size(out / "00_coffee_figure.png")
    assert w > 600 and h > 200
    assert json.loads((out / "config.json").read_text())["config"]["method"] == "vanilla"


def test_saliency_target_by_name_with_smoothgrad_and_ig(cli, tmp_path):
    r = cli("saliency", "sample:chelsea", "sample:coffee", "--target", "Tarantula", "--method", "smoothgrad",
            "--samples", "2", "--out", tmp_path / "sg")
    assert r.rc == 0, r.err
    rows = read_metrics(tmp_path / "sg")
    assert [row["target"] for row in rows] == [76, 76] and rows[0]["predicted"] != 76
    assert (tmp_path / "sg" / "01_coffee_figure.png").exists()
    r = cli("saliency", "sample:chelsea", "--method", "ig", "--steps", "4", "--max-steps", "12",
            "--out", tmp_path / "ig")
    assert r.rc == 0, r.err
    row = read_metrics(tmp_path / "ig")[0]
    assert 4 <= row["ig_steps"] <= 12 and row["ig_completeness_error"] >= 0
    assert "ig:" in r.out


@pytest.mark.parametrize("args, fragments", [
    (["--target", "no such beast"], ["no such beast", "closest"]),
    (["--target", "1000"], ["1000", "out of range"]),
    (["--method", "ig", "--steps", "8", "--max-steps", "4"], ["--max-steps"]),
])
def test_saliency_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, args, fragments):
    out = tmp_path / "never"
    r = cli("saliency", "sample:coffee", *args, "--out", out)
    assert_one_line_error(r, *fragments)
    assert not out.exists()


def test_images_of_the_wrong_kind_are_one_line_errors(cli, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image")
    for command in (["saliency", bogus], ["fool", bogus, "--target", "tarantula"]):
        r = cli(*command, "--out", tmp_path / "never")
        assert_one_line_error(r, "notes.png")
    assert_one_line_error(cli("saliency", tmp_path / "missing.jpg"), "missing.jpg")
    assert not (tmp_path / "never").exists()


def test_fool_writes_an_image_that_vislab_classify_calls_the_target(cli, tmp_path):
    photo = tmp_path / "coffee.png"  # not square and not 224: the attack goes through the classifier's view
    save_image(resize(load_image("sample:coffee"), 240), photo)
    out = tmp_path / "fool"
    r = cli("fool", photo, "--target", "tarantula", "--out", out, "--linf", "16")
    assert r.rc == 0, r.err + r.out
    assert "fooled" in r.out and "tarantula" in r.out
    assert _png_size(out / "fooling.png") == (360, 240)  # the input's resolution (W, H)
    assert _png_size(out / "figure.png")[0] > 600
    result = json.loads((out / "result.json").read_text())
    assert result["success"] and result["target"] == 76 and result["linf"] <= 16 / 255 + 1e-6
    assert len(read_metrics(out)) == result["iterations"] + 1
    c = cli("classify", out / "fooling.png", "--json", "--topk", "1")
    assert json.loads(c.out)[0]["top"][0]["index"] == 76


@pytest.mark.parametrize("args, fragments", [
    (["--target", "tarantla"], ["tarantla", "tarantula"]),
    (["--target", "-3"], ["-3"]),
    (["--target", "tarantula", "--linf", "0"], ["--linf"]),
    (["--target", "tarantula", "--lr", "-1"], ["--lr"]),
])
def test_fool_bad_input(cli, tmp_path, args, fragments):
    r = cli("fool", "sample:coffee", *args, "--out", tmp_path / "never")
    assert_one_line_error(r, *fragments)
    assert not (tmp_path / "never").exists()


def test_fool_that_runs_out_of_iterations_says_so_with_status_1(cli, tmp_path):
    photo = tmp_path / "coffee.png"
    save_image(resize(load_image("sample:coffee"), 160), photo)
    r = cli("fool", photo, "--target", "tarantula", "--max-iters", "1", "--lr", "0.01", "--out", tmp_path / "f")
    assert r.rc == 1 and "NOT fooled" in r.out
    assert (tmp_path / "f" / "fooling.png").exists()


def test_dream_writes_the_image_figure_and_metrics(cli, tmp_path):
    out = tmp_path / "dream"
    r = cli("dream", "--class", "goldfish", "--steps", "3", "--size", "64", "--views", "1", "--out", out)
    assert r.rc == 0, r.err
    assert _png_size(out / "dream.png") == (64, 64) and _png_size(out / "figure.png")[0] > 400
    rows = read_metrics(out)
    assert rows[-1]["final"] and 0 <= rows[-1]["target_prob"] <= 1
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["target"] == 1 and cfg["param"] == "fourier" and cfg["lr"] == FourierParameterization().lr
    r = cli("dream", "--class", "1", "--param", "pixel", "--steps", "2", "--size", "48",
            "--out", tmp_path / "px")
    assert r.rc == 0, r.err
    assert "goldfish" in r.out


@pytest.mark.parametrize("args, fragments", [
    (["--class", "unicornfish"], ["unicornfish"]),
    (["--class", "crane"], ["ambiguous", "134", "517"]),
    (["--class", "1", "--size", "8"], ["--size"]),
    (["--class", "1", "--param", "wavelet"], ["--param"]),
])
def test_dream_bad_input(cli, tmp_path, args, fragments):
    r = cli("dream", *args, "--out", tmp_path / "never")
    assert_one_line_error(r, *fragments)
    assert not (tmp_path / "never").exists()


def test_every_command_works_with_squeezenet_weights_from_a_file(cli, tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "squeezenet_random.pth"
    torch.save(SqueezeNet11().state_dict(), weights)
    common = ["--model", "squeezenet1_1", "--weights", weights]
    r = cli("saliency", "sample:coffee", *common, "--out", tmp_path / "s")
    assert r.rc == 0, r.err
    r = cli("fool", "sample:coffee", "--target", "5", "--max-iters", "3", *common, "--out", tmp_path / "f")
    assert r.rc in (0, 1), r.err
    assert (tmp_path / "f" / "fooling.png").exists()
    r = cli("dream", "--class", "5", "--steps", "2", "--size", "64", "--views", "1", *common,
            "--out", tmp_path / "d")
    assert r.rc == 0, r.err
    assert_one_line_error(cli("saliency", "sample:coffee", "--model", "squeezenet1_1", "--weights",
                              tmp_path / "missing.pth"), "missing.pth")
