"""The job contract for classify, saliency, fool and dream: settings own the defaults (the CLI shows the same
ones), ``run`` reports progress and stops cleanly when asked, and a stopped run's folder is still a report."""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
import torch

from vislab.backbones import DEFAULT
from vislab.backbones.classify_job import ClassifySettings
from vislab.backbones.classify_job import run as classify_run
from vislab.backbones.settings import DEFAULT_MODEL
from vislab.cli import build_parser
from vislab.jobs import SettingError
from vislab.report import build_report
from vislab.visualize import create_class_visualization, dream_job, fool_job, make_fooling_image, saliency_job
from vislab.visualize.parameterizations import FourierParameterization, PixelParameterization
from vislab.visualize.settings import DREAM_MIN_SIZE, DreamSettings, FoolSettings, SaliencySettings

from .conftest import Linear

TINY = "tests.visualize.tiny_classifier:build"

JOBS = {  # CLI command -> (settings class, the required arguments)
    "classify": (ClassifySettings, ["sample:coffee"]),
    "saliency": (SaliencySettings, ["sample:coffee"]),
    "fool": (FoolSettings, ["sample:coffee", "--target", "tarantula"]),
    "dream": (DreamSettings, []),  # class_, channel, neuron, deepdream all default to None; validate() wants one
}


@pytest.mark.parametrize("command", list(JOBS))
def test_every_cli_default_is_the_settings_default(command):
    cls, required = JOBS[command]
    args = build_parser().parse_args([command, *required])
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    assert defaults, cls
    for name, default in defaults.items():
        assert getattr(args, name) == default, (command, name)
    # Every setting is a flag of the command, so the CLI can set all of them.
    assert set(cls.setting_names()) <= set(vars(args))


def test_defaults_have_one_owner(cli):
    assert DEFAULT_MODEL == DEFAULT
    sig = inspect.signature(make_fooling_image).parameters
    for name in ("lr", "max_iters", "linf", "margin"):
        assert sig[name].default == getattr(FoolSettings, name)
    sig = inspect.signature(create_class_visualization).parameters
    assert (sig["size"].default, sig["steps"].default) == (DreamSettings.size, DreamSettings.steps)
    # Unset parameterization settings take the chosen parameterization's own defaults.
    assert DreamSettings(class_="1").parameterization() == FourierParameterization()
    pixel = DreamSettings(class_="1", param="pixel", lr=2.0).parameterization()
    assert pixel == PixelParameterization(lr=2.0) and pixel.blur_every == PixelParameterization.blur_every
    help_text = " ".join(cli("dream", "--help").out.split())
    assert f"Adam learning rate (default {FourierParameterization.lr})" in help_text
    assert f"step in pixels (default {PixelParameterization.lr})" in help_text


def test_dream_size_limit_is_the_same_in_the_library_and_the_cli(cli, tmp_path):
    with pytest.raises(SettingError, match="size"):
        create_class_visualization(1, Linear(size=DREAM_MIN_SIZE - 1), size=DREAM_MIN_SIZE - 1, steps=1)
    create_class_visualization(1, Linear(size=DREAM_MIN_SIZE), size=DREAM_MIN_SIZE, steps=1)
    r = cli("dream", "--class", "1", "--size", DREAM_MIN_SIZE - 1, "--out", tmp_path / "d")
    assert r.rc == 2 and "--size" in r.err and not (tmp_path / "d").exists()


def test_linf_flag_is_in_levels_and_the_library_in_pixel_units():
    args = build_parser().parse_args(["fool", "sample:coffee", "--target", "1", "--linf", "4"])
    assert args.linf == pytest.approx(4 / 255)
    with pytest.raises(SettingError, match=r"linf .*\(0, 1\]"):
        FoolSettings(image="sample:coffee", target="1", linf=4.0).validate()


class Recorder:
    """A progress callback that remembers its calls, and a stop check that fires after `stop_after` of them."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[tuple[int, int | None, dict]] = []
        self.stop_after = stop_after

    def __call__(self, step, total, **numbers) -> None:
        self.calls.append((step, total, numbers))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.calls) >= self.stop_after

    @property
    def steps(self) -> list[int]:
        return [c[0] for c in self.calls]


def _saliency(**kw):
    return SaliencySettings(**{"images": ["sample:coffee", "sample:chelsea"], "model": TINY, "device": "cpu", **kw})


def _fool(**kw):
    # A tiny step and a margin no logit reaches: every one of the few iterations runs.
    return FoolSettings(**{"image": "sample:coffee", "target": "tarantula", "model": TINY, "device": "cpu",
                            "lr": 1e-4, "max_iters": 3, "margin": 100.0, **kw})


def _dream(**kw):
    return DreamSettings(**{"class_": "tarantula", "model": TINY, "device": "cpu", "size": 32, "steps": 4, "views": 1,
                            **kw})


RUNS = {"saliency": (saliency_job.run, _saliency), "fool": (fool_job.run, _fool), "dream": (dream_job.run, _dream)}


@pytest.mark.parametrize("job", list(RUNS))
def test_run_reports_progress_and_writes_a_complete_folder(job, tmp_path):
    run, settings = RUNS[job]
    rec = Recorder()
    result = run(settings(), tmp_path / "run", progress=rec, command=f"vislab {job} (test)")
    assert result.status == "ok" and not result.cancelled
    assert len(rec.steps) >= 2 and rec.steps == sorted(set(rec.steps))  # strictly increasing
    assert rec.steps[-1] == rec.calls[-1][1]  # ends at its total
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "ok" and set(status["files"]) == set(result.files)
    assert all(p.is_file() for p in result.files.values())
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["command"] == f"vislab {job} (test)" and config["config"]["model"] == TINY


@pytest.mark.parametrize("job", list(RUNS))
def test_run_stops_cleanly_and_the_folder_is_a_report(job, tmp_path):
    run, settings = RUNS[job]
    rec = Recorder(stop_after=1)
    result = run(settings(), tmp_path / "run", progress=rec, should_stop=rec.should_stop)
    assert result.status == "cancelled" and result.cancelled
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "cancelled"
    assert len(rec.calls) == 1  # nothing ran after the stop
    page = build_report([tmp_path / "run"], tmp_path / "r.html")
    assert page.is_file() and "cancelled" in page.read_text().lower()


def test_stopped_runs_keep_what_was_done(tmp_path):
    sal = saliency_job.run(_saliency(), tmp_path / "s", should_stop=Recorder(stop_after=0).should_stop)
    assert sal.rows == [] and sal.numbers["images"] == 0
    rec = Recorder(stop_after=1)
    sal = saliency_job.run(_saliency(), tmp_path / "s2", progress=rec, should_stop=rec.should_stop)
    assert [r["image"] for r in sal.rows] == ["sample:coffee"] and (tmp_path / "s2" / "00_coffee_figure.png").is_file()
    assert not (tmp_path / "s2" / "01_chelsea_figure.png").exists()
    rec = Recorder(stop_after=2)
    dream = dream_job.run(_dream(), tmp_path / "d", progress=rec, should_stop=rec.should_stop)
    assert dream.numbers["steps"] == 2 and dream.image.shape == (3, 32, 32)
    assert (tmp_path / "d" / "dream.png").is_file()


def test_classify_run_writes_a_folder_only_when_asked(tmp_path):
    rec = Recorder()
    settings = ClassifySettings(images=["sample:coffee", "sample:chelsea"], topk=2, batch_size=1, model=TINY,
                                device="cpu")
    result = classify_run(settings, progress=rec)
    assert result.run_dir is None and len(result.predictions) == 2 and len(result.predictions[0]) == 2
    assert rec.steps == [1, 2]
    result = classify_run(settings, tmp_path / "c")
    saved = json.loads((tmp_path / "c" / "predictions.json").read_text())
    assert saved == result.as_json() and saved[1]["image"] == "sample:chelsea"
    stopped = classify_run(settings, tmp_path / "c2", progress=(rec := Recorder(1)), should_stop=rec.should_stop)
    assert stopped.cancelled and [p for p in stopped.images] == ["sample:coffee"]


def test_fool_result_numbers_are_in_pixel_units(tmp_path):
    result = fool_job.run(_fool(linf=2 / 255, lr=1.0), tmp_path / "f")
    s = json.loads((tmp_path / "f" / "result.json").read_text())
    assert 0 < s["linf"] <= 2 / 255 + 1e-6 and s["units"] == "[0, 1] pixels"
    assert result.numbers["linf"] == pytest.approx(s["linf"])
    img = torch.round(result.image * 255) / 255
    assert torch.equal(img, result.image)  # what was saved: the 8-bit image


def test_dream_progress_passes_preview_pictures(tmp_path):
    rec = Recorder()
    result = dream_job.run(_dream(steps=12), tmp_path / "d", progress=rec)
    previews = [(step, numbers["preview"]) for step, _, numbers in rec.calls if "preview" in numbers]
    assert [step for step, _ in previews] == [10, 12]  # every 10 steps and the last
    for _, img in previews:
        assert img.shape == (3, 32, 32) and img.device.type == "cpu" and 0 <= img.min() <= img.max() <= 1
    # The last preview is the final image before it is rounded to 8 bits.
    torch.testing.assert_close(previews[-1][1], result.image, atol=0.5 / 255 + 1e-6, rtol=0)
    assert all(isinstance(n["target_prob"], float) for _, _, n in rec.calls)
