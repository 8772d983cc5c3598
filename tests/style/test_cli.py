"""`vislab style | invert | texture` through the CLI: outputs, run folders, one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab.images import load_image, save_image
from vislab.runs import read_metrics

TINY = ["--image-size", "48", "--device", "cpu"]


@pytest.fixture
def style_png(tmp_path):
    """A small style image file (the offline hubble photo)."""
    path = tmp_path / "style.png"
    save_image(load_image("sample:hubble_deep_field")[:, :300, :300], path)
    return path


def test_style_writes_result_config_metrics_and_snapshots(cli, tmp_path, style_png):
    out, output = tmp_path / "run", tmp_path / "pics" / "out.jpg"
    r = cli("style", "sample:chelsea", style_png, *TINY, "--iterations", "4", "--save-every", "2",
            "--out", out, "-o", output, "--seed", "3", "--init", "content")
    assert r.rc == 0, r.err
    assert str(output) in r.out and "of the start" in r.out
    assert load_image(output).shape == load_image(out / "result.png").shape == (3, 32, 48)
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["iterations"] == 4 and config["seed"] == 3 and config["styles"] == [str(style_png)]
    rows = read_metrics(out)
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 4]  # every step, then the result's final losses
    assert {"total", "content", "style", "tv"} <= set(rows[0]) and rows[0]["content"] == 0.0  # the photo itself
    assert {"final_total", "final_content", "final_style", "final_tv"} == set(rows[-1]) - {"step", "time"}
    assert sorted(p.name for p in out.glob("step_*.png")) == ["step_00002.png", "step_00004.png"]


def test_style_blends_two_styles_with_original_colors_and_an_init_file(cli, tmp_path, style_png):
    init = tmp_path / "init.png"
    save_image(torch.full((3, 20, 20), 0.5), init)
    r = cli("style", "sample:chelsea", style_png, "sample:coffee", "--style-blend-weights", "1,3",
            "--init", init, "--original-colors", "--scales", "2", *TINY, "--iterations", "2",
            "--out", tmp_path / "run")
    assert r.rc == 0, r.err
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["style_blend_weights"] == [1.0, 3.0] and config["init"] == str(init) and config["scales"] == 2
    assert len(read_metrics(tmp_path / "run")) == 5  # 2 scales x 2 iterations + the final row


def test_scales_auto_halves_the_size_while_it_stays_at_least_96_px(cli, tmp_path):
    r = cli("texture", "sample:coffee", "--scales", "auto", "--image-size", "200", "--iterations", "1",
            "--coarse-factor", "1", "--device", "cpu", "--out", tmp_path / "run")
    assert r.rc == 0, r.err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["scales"] is None
    assert len(read_metrics(tmp_path / "run")) == 3  # 100 and 200 px (50 < 96), 1 iteration each + the final row


def test_style_runs_on_squeezenet_with_a_weights_file(cli, tmp_path, style_png):
    from vislab.backbones.squeezenet import SqueezeNet11

    torch.manual_seed(0)
    weights = tmp_path / "squeezenet_random.pth"
    torch.save(SqueezeNet11().state_dict(), weights)
    r = cli("style", "sample:chelsea", style_png, "--model", "squeezenet1_1", "--weights", weights, *TINY,
            "--iterations", "2", "--out", tmp_path / "run")
    assert r.rc == 0, r.err
    assert (tmp_path / "run" / "result.png").is_file()


def test_style_runs_on_a_users_own_model_once_layers_are_named(cli, tmp_path, style_png):
    model = ["--model", "tests.style.tiny_model:build"]
    r = cli("style", "sample:chelsea", style_png, *model, *TINY, "--iterations", "1", "--out", tmp_path / "a")
    assert_one_line_error(r, "no default content layers", "--content-layers")
    assert not (tmp_path / "a").exists()
    r = cli("style", "sample:chelsea", style_png, *model, "--content-layers", "conv2", "--style-layers",
            "conv1,conv2", *TINY, "--iterations", "3", "--out", tmp_path / "b")
    assert r.rc == 0, r.err
    rows = read_metrics(tmp_path / "b")
    assert len(rows) == 4 and rows[-1]["final_total"] < rows[0]["total"]


def test_invert_reports_psnr_and_ssim(cli, tmp_path):
    r = cli("invert", "sample:coffee", "--layer", "stem", *TINY, "--iterations", "5",
            "--out", tmp_path / "run")
    assert r.rc == 0, r.err
    assert "PSNR" in r.out and "SSIM" in r.out and "layer stem" in r.out
    last = read_metrics(tmp_path / "run")[-1]
    assert {"psnr", "ssim", "final_content"} <= set(last) and last["step"] == 5
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["layer"] == "stem"


def test_texture_reports_the_style_loss(cli, tmp_path, style_png):
    r = cli("texture", style_png, *TINY, "--iterations", "5", "--style-layers", "stem,block2", "--out",
            tmp_path / "run")
    assert r.rc == 0, r.err
    assert "style loss" in r.out
    assert load_image(tmp_path / "run" / "result.png").shape == (3, 48, 48)  # the style's aspect


def test_interrupt_saves_the_image_so_far(cli, tmp_path, style_png, monkeypatch):
    from vislab.style.recorder import Recorder

    original = Recorder.__call__

    def interrupt_at_step_2(self, step):
        original(self, step)
        if step.step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Recorder, "__call__", interrupt_at_step_2)
    r = cli("style", "sample:chelsea", style_png, *TINY, "--iterations", "5", "--out", tmp_path / "run")
    assert r.rc == 130
    assert (tmp_path / "run" / "interrupted.png").is_file()
    assert not (tmp_path / "run" / "result.png").exists()


def test_bad_input_gives_one_line_errors_and_writes_nothing(cli, tmp_path, style_png):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    out = tmp_path / "run"
    base = ["--out", out, *TINY, "--iterations", "1"]
    cases = [
        (["style", "sample:chelsea", bad, *base], ["broken.jpg"]),
        (["style", "sample:chelsea", tmp_path / "missing.jpg", *base], ["missing.jpg", "no such file"]),
        (["style", "sample:chelsea", style_png, "sample:coffee", "--style-blend-weights", "1,2,3", *base],
         ["--style-blend-weights", "3 weight", "2"]),
        (["style", "sample:chelsea", style_png, "--style-blend-weights", "0", *base],
         ["--style-blend-weights", "zero"]),
        (["style", "sample:chelsea", style_png, "--style-blend-weights", "a,b", *base],
         ["--style-blend-weights"]),
        (["style", "sample:chelsea", style_png, "--style-layers", "stem,conv4_2", *base],
         ["--style-layers", "conv4_2", "block2"]),
        (["style", "sample:chelsea", style_png, "--content-layers", "relu4", *base],
         ["--content-layers", "relu4"]),
        (["style", "sample:chelsea", style_png, "--content-weight", "0", "--style-weight", "0", *base],
         ["--content-weight", "--style-weight", "0"]),
        (["style", "sample:chelsea", style_png, "--style-layer-weights", "0,0,0,0,0", *base],
         ["--style-layer-weights", "zero"]),
        (["style", "sample:chelsea", style_png, "--style-layer-weights", "1,1", *base],
         ["--style-layer-weights", "2 weight", "5"]),
        (["style", "sample:chelsea", style_png, "--style-weight", "-1", *base], ["--style-weight"]),
        (["style", "sample:chelsea", style_png, "--scales", "4", *base], ["--scales 4"]),
        (["style", "sample:chelsea", style_png, "--init", tmp_path / "nope.png", *base], ["nope.png"]),
        (["style", "sample:chelsea", style_png, "-o", tmp_path / "out.gif", *base], ["out.gif", "suffix"]),
        (["invert", "sample:chelsea", "--layer", "block99", *base], ["--layer", "block99"]),
        (["texture", bad, *base], ["broken.jpg"]),
        (["texture", style_png, "--style-weight", "0", *base], ["--style-weight"]),
    ]
    for args, fragments in cases:
        assert_one_line_error(cli(*args), *fragments)
    assert not out.exists()
