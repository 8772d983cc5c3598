"""The registry's promise: a capability is a library module and one record. This file is the whole of a toy
capability (settings + run, a few lines), registered here; the CLI, the page's forms and the tour find it with no
other file edited."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vislab import registry
from vislab.images import save_image
from vislab.jobs import JobResult, JobSettings, check_choice, check_count, finish_run, start_run

COLORS = ("red", "green", "blue")


@dataclass
class ToySettings(JobSettings):
    color: str = field(default="green", metadata={"help": "the square's colour", "choices": COLORS})
    size: int = field(default=16, metadata={"help": "side in pixels", "min": 1})

    def validate(self) -> None:
        check_choice("color", self.color, COLORS)
        check_count("size", self.size, hi=4096)


def run(settings: ToySettings, out=None, *, progress=None, should_stop=None, command=None, overwrite=False):
    run_dir = start_run("toy", settings, out, command=command, overwrite=overwrite)
    started = time.perf_counter()
    img = torch.zeros(3, settings.size, settings.size)
    img[COLORS.index(settings.color)] = 1
    return finish_run(JobResult(run_dir, files={"image": save_image(img, run_dir / "square.png")}), started)


TOY = registry.Capability("toy", "a square of one colour", settings=f"{__name__}:ToySettings", run=f"{__name__}:run",
                          group="tools", tour=registry.TourStep(settings={"color": "blue"}, smoke={"size": 8}))


@pytest.fixture
def toy():
    registry.register(TOY)
    yield TOY
    registry.unregister("toy")


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_the_cli_lists_and_runs_it(toy, cli, tmp_path):
    listed = cli("--help")
    assert "toy" in listed.out and "a square of one colour" in listed.out
    helped = cli("toy", "--help")
    assert "--color {red,green,blue}" in helped.out and "side in pixels (default 16)" in helped.out
    res = cli("toy", "--size", "4", "--color", "red", "--out", tmp_path / "t")
    assert res.rc == 0, res.err
    assert (_pixels(tmp_path / "t" / "square.png") == [255, 0, 0]).all()
    assert _pixels(tmp_path / "t" / "square.png").shape == (4, 4, 3)


def test_a_bad_value_is_one_line_naming_the_flag(toy, cli, tmp_path):
    from tests.conftest import assert_one_line_error

    assert_one_line_error(cli("toy", "--size", "0", "--out", tmp_path / "t"), "--size", "got 0")
    assert_one_line_error(cli("toy", "--color", "pink"), "--color", "pink")
    assert not (tmp_path / "t").exists()


def test_the_page_gets_its_form(toy, tmp_path):
    from tests.serve.conftest import make_client

    with make_client(tmp_path / "runs", workers=1, threads=1) as c:
        forms = {f["kind"]: f for f in c.get("/api/info").json()["forms"]}
    assert forms["toy"]["summary"] == "a square of one colour" and forms["toy"]["group"] == "tools"
    fields = {f["name"]: f for f in forms["toy"]["fields"]}
    assert fields["color"] == {"name": "color", "type": "choice", "default": "green", "choices": list(COLORS),
                               "help": "the square's colour", "min": None, "max": None, "input": None,
                               "required": False, "flag": None, "flag_scale": None, "example": None}
    assert fields["size"]["type"] == "int" and fields["size"]["default"] == 16 and fields["size"]["min"] == 1


def test_the_page_runs_it(toy, tmp_path):
    from vislab.serve.capabilities import build_settings, runner

    settings = build_settings("toy", {"size": 3.0}, tmp_path, lambda rel, kind: rel)  # 3.0 is taken as 3
    assert settings == ToySettings(size=3) and runner("toy") is run


def test_the_tour_runs_it(toy, tmp_path):
    from vislab.tour import run_tour

    result = run_tour(tmp_path / "t", level="smoke", device="cpu", only=["toy"], say=lambda line: None)
    assert [(s.name, s.status) for s in result.steps] == [("toy", "ok")], result.steps
    square = _pixels(result.steps[0].run_dir / "square.png")
    assert square.shape == (8, 8, 3) and (square == [0, 0, 255]).all()
    assert "vislab toy --color blue --size 8" in (result.steps[0].run_dir / "config.json").read_text()
