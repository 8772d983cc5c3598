"""Bad input to `vislab style | invert | texture`: one line ``vislab: error: ...``, exit 2, nothing written, and
found before any optimization (each of these fails in well under a second of work)."""

from __future__ import annotations

import os

import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab.images import save_image

CHEAP = ["--image-size", "32", "--iterations", "1", "--device", "cpu"]
COMMANDS = {"style": ["sample:chelsea", "sample:coffee"], "invert": ["sample:chelsea"], "texture": ["sample:coffee"]}
NUMERIC_FLAGS = {
    "style": ["--content-weight", "--style-weight", "--tv-weight", "--style-scale", "--image-size", "--iterations",
              "--scales", "--save-every", "--lr", "--seed", "--style-blend-weights", "--style-layer-weights",
              "--content-layer-weights", "--coarse-factor", "--stop-tolerance"],
    "invert": ["--content-weight", "--tv-weight", "--image-size", "--iterations", "--scales", "--save-every",
               "--lr", "--seed", "--coarse-factor", "--stop-tolerance"],
    "texture": ["--style-weight", "--tv-weight", "--style-scale", "--image-size", "--iterations", "--scales",
                "--save-every", "--lr", "--seed", "--style-layer-weights", "--coarse-factor", "--stop-tolerance"],
}
# 0 is a fine value for these; style refuses both weights at 0 (tested below), invert/texture their only weight
ZERO_OK = {"style": {"--tv-weight", "--seed", "--content-weight", "--style-weight", "--stop-tolerance"},
           "invert": {"--tv-weight", "--seed", "--stop-tolerance"},
           "texture": {"--tv-weight", "--seed", "--stop-tolerance"}}
INTEGER = {"--image-size", "--iterations", "--scales", "--save-every", "--seed"}


def refused(cli, out, *args, fragments=()) -> None:
    r = cli(*args, "--out", out)
    assert_one_line_error(r, *fragments)
    assert not out.exists()


def value_for(flag: str, value: str) -> str:
    """A list flag's value with one entry per item (so only the value is wrong)."""
    n = {"--style-layer-weights": 5, "--content-layer-weights": 1, "--style-blend-weights": 1}.get(flag, 1)
    return ",".join([value] * n)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_numeric_flag_refuses_zero_negative_nan_inf_and_huge(cli, tmp_path, command):
    out = tmp_path / "run"
    for flag in NUMERIC_FLAGS[command]:
        values = ["-1", "nan", "inf", "-inf", "1e400", str(10**30), "abc"]
        values += [] if flag in ZERO_OK[command] else ["0"]
        values += ["2.5"] if flag in INTEGER else []
        for v in values:
            arg = value_for(flag, v)
            refused(cli, out, command, *COMMANDS[command], *CHEAP, flag, arg, fragments=[flag])


def test_adam_with_an_infinite_lr_is_refused_not_run(cli, tmp_path):
    refused(cli, tmp_path / "run", "style", "sample:chelsea", "sample:coffee", "--optimizer", "adam", "--lr", "inf",
            *CHEAP, fragments=["--lr", "finite"])
    refused(cli, tmp_path / "run", "style", "sample:chelsea", "sample:coffee", "--optimizer", "adam", "--lr", "5",
            *CHEAP, fragments=["--lr", "<= 1"])


def test_a_size_that_cannot_fit_in_memory_is_refused_with_the_estimate(cli, tmp_path, monkeypatch):
    import vislab.machine

    monkeypatch.setattr(vislab.machine, "available_memory", lambda: 8 * 2**30)
    for command in COMMANDS:
        refused(cli, tmp_path / "run", command, *COMMANDS[command], "--image-size", "100000", "--device", "cpu",
                fragments=["--image-size 100000", "needs about", "TiB", "8.0 GiB is available"])
    refused(cli, tmp_path / "run", "texture", "sample:coffee", "--style-scale", "16", "--image-size", "2000",
            "--device", "cpu", fragments=["--style-scale", "style image", "needs about"])


@pytest.fixture
def bad_images(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("hello, not an image")
    (d / "folder.png").mkdir()
    save_image(torch.zeros(3, 1, 1), d / "one.png")
    save_image(torch.zeros(3, 1, 300), d / "strip.png")
    os.mkfifo(d / "fifo.png")
    return d


def test_bad_image_files_are_refused_for_every_input(cli, tmp_path, bad_images):
    cases = {"empty.png": "not an image", "text.png": "not an image", "folder.png": "directory",
             "one.png": "1x1 px", "strip.png": "300x1 px", "fifo.png": "not a regular file",
             "missing.png": "no such file"}
    out = tmp_path / "run"
    for name, fragment in cases.items():
        bad = str(bad_images / name)
        refused(cli, out, "style", bad, "sample:coffee", *CHEAP, fragments=[name, fragment])
        refused(cli, out, "style", "sample:chelsea", "sample:coffee", bad, *CHEAP, fragments=[name, fragment])
        refused(cli, out, "style", "sample:chelsea", "sample:coffee", "--init", bad, *CHEAP,
                fragments=[name, fragment])
        refused(cli, out, "invert", bad, *CHEAP, fragments=[name, fragment])
        refused(cli, out, "texture", bad, *CHEAP, fragments=[name, fragment])


def test_an_image_squeezed_under_a_few_pixels_by_the_size_is_refused(cli, tmp_path):
    strip = tmp_path / "strip.png"
    save_image(torch.rand(3, 12, 400), strip)
    refused(cli, tmp_path / "run", "invert", strip, *CHEAP, fragments=["--image-size 32", "strip.png", "1 px"])
    refused(cli, tmp_path / "run", "style", "sample:chelsea", strip, "--style-scale", "0.5", "--image-size", "64",
            "--iterations", "1", fragments=["--style-scale", "strip.png"])


def test_unknown_layers_and_mismatched_lists_are_refused(cli, tmp_path):
    out = tmp_path / "run"
    base = ["style", "sample:chelsea", "sample:coffee", *CHEAP]
    refused(cli, out, *base, "--style-layers", "stem,conv4_2", fragments=["--style-layers", "'conv4_2'", "block9"])
    refused(cli, out, *base, "--content-layers", "relu4", fragments=["--content-layers", "'relu4'"])
    refused(cli, out, "invert", "sample:chelsea", *CHEAP, "--layer", "block99", fragments=["--layer", "block99"])
    refused(cli, out, "texture", "sample:coffee", *CHEAP, "--style-layers", "stem,nope", fragments=["'nope'"])
    refused(cli, out, *base, "--style-layers", "stem,stem", fragments=["--style-layers", "more than once"])
    refused(cli, out, *base, "--style-layer-weights", "1,2", fragments=["--style-layer-weights", "2 weight", "5"])
    refused(cli, out, *base, "--style-layers", "stem,block2", "--style-layer-weights", "1,2,3",
            fragments=["--style-layer-weights", "3 weight", "2"])
    refused(cli, out, *base, "--content-layer-weights", "1,1", fragments=["--content-layer-weights", "2 weight"])
    refused(cli, out, *base, "--style-blend-weights", "1,1", fragments=["--style-blend-weights", "2 weight"])
    refused(cli, out, *base, "--content-weight", "0", "--style-weight", "0",
            fragments=["--content-weight", "--style-weight", "nothing to optimize"])


def test_an_output_that_cannot_be_written_is_found_before_the_optimization(cli, tmp_path):
    out = tmp_path / "run"
    base = ["style", "sample:chelsea", "sample:coffee", *CHEAP]
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder.png").mkdir()
    refused(cli, out, *base, "-o", tmp_path / "file.txt" / "x.png", fragments=["--output", "not a folder"])
    refused(cli, out, *base, "-o", tmp_path / "folder.png", fragments=["--output", "is a folder"])
    refused(cli, out, *base, "-o", tmp_path / "x.gif", fragments=["--output", "suffix"])
    refused(cli, out, "texture", "sample:coffee", *CHEAP, "-o", tmp_path / "x.txt", fragments=["--output"])
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        refused(cli, out, *base, "-o", locked / "sub" / "x.png", fragments=["--output", "not writable"])
        assert not (locked / "sub").exists()
    if os.path.isdir("/proc/self"):  # read-only even for root
        refused(cli, out, *base, "-o", "/proc/x.png", fragments=["--output", "not writable"])


def test_a_folder_holding_another_run_is_left_untouched(cli, tmp_path):
    out = tmp_path / "run"
    r = cli("texture", "sample:coffee", *CHEAP, "--style-layers", "stem", "--out", out)
    assert r.rc == 0, r.err
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    assert_one_line_error(cli("texture", "sample:coffee", *CHEAP, "--out", out), "--out", "--overwrite")
    assert_one_line_error(cli("invert", "sample:coffee", *CHEAP, "--layer", "nope", "--out", out), "--layer")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir()) == before


def test_an_empty_input_name_is_named_by_its_argument(cli, tmp_path):
    refused(cli, tmp_path / "run", "style", "", "sample:coffee", *CHEAP, fragments=["CONTENT must be a non-empty"])
    refused(cli, tmp_path / "run", "texture", " ", *CHEAP, fragments=["STYLE must be a non-empty"])
