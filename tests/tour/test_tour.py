"""`vislab tour`: steps run in their own folders, a broken step does not stop the others, the page is
written."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

import vislab.tour as tour
from tests.conftest import assert_one_line_error
from tests.report.fake_runs import parse
from vislab import runs
from vislab.errors import ConfigError
from vislab.tour.steps import TourSettings


def _ok_step(run_dir, s):
    runs.write_config(run_dir, {"level": s.level}, command="vislab fake")
    runs.MetricsLog(run_dir).log(0, loss=float(np.random.rand()))  # seeded by the tour: same value every step


def _broken_step(run_dir, s):
    runs.write_config(run_dir, {}, command="vislab broken")
    raise ValueError("the step broke on purpose")


def test_a_failing_step_is_reported_and_the_others_still_run(tmp_path, monkeypatch, cli):
    monkeypatch.setattr(tour, "steps", lambda: [("first", _ok_step), ("broken", _broken_step), ("last", _ok_step)])
    res = cli("tour", "--out", tmp_path / "t", "--device", "cpu")
    assert res.rc == 1
    # One line to open the page: the file URL of the report and the tour's time.
    assert re.fullmatch(r"Open file://\S+/t/index\.html \((\d+ min \d\d|\d+) s\)", res.out.strip()), res.out
    assert res.out.split()[1] == (tmp_path / "t" / "index.html").as_uri()
    assert not list((tmp_path / "t").rglob(".vislab.lock"))  # nothing left of the locks
    assert "3 steps" in res.err
    assert "1 of 3 steps failed (broken)" in res.err.splitlines()[-1]

    t = tmp_path / "t"
    status = {d.name: json.loads((d / "status.json").read_text())["status"] for d in sorted(t.glob("0*"))}
    assert status == {"01-first": "ok", "02-broken": "failed", "03-last": "ok"}
    assert "the step broke on purpose" in (t / "02-broken" / "error.txt").read_text()  # the traceback is kept
    # Each step starts from the same seed, so the two identical steps logged the same random number.
    assert runs.read_metrics(t / "01-first")[0]["loss"] == runs.read_metrics(t / "03-last")[0]["loss"]

    p = parse(t / "index.html")
    states = {r[1]: r[3] for r in p.rows if r and r[0].isdigit()}
    assert states == {"t": "failed", "01-first": "complete", "02-broken": "failed",
                      "03-last": "complete"}  # the tour's own folder by its name, never "."
    assert "ValueError: the step broke on purpose" in p.all_text
    assert "3 steps: 2 ok, 1 failed" in p.all_text
    config = json.loads((t / "config.json").read_text())
    assert config["config"]["steps"] == ["first", "broken", "last"]


def test_interrupt_stops_the_tour_but_keeps_the_page(tmp_path, monkeypatch):
    def interrupted(run_dir, s):
        raise KeyboardInterrupt

    monkeypatch.setattr(tour, "steps", lambda: [("first", _ok_step), ("stop", interrupted), ("never", _ok_step)])
    with pytest.raises(KeyboardInterrupt):
        tour.run_tour(tmp_path / "t", level="smoke", device="cpu", say=lambda line: None)
    assert json.loads((tmp_path / "t" / "02-stop" / "status.json").read_text())["status"] == "interrupted"
    assert not (tmp_path / "t" / "03-never").exists()
    assert "stopped after 2 of 3 steps" in parse(tmp_path / "t" / "index.html").all_text


def test_rerun_into_the_same_folder_is_refused_unless_overwrite(tmp_path, monkeypatch):
    monkeypatch.setattr(tour, "steps", lambda: [("a", _ok_step), ("b", _ok_step)])
    tour.run_tour(tmp_path / "t", level="smoke", device="cpu", say=lambda line: None)
    (tmp_path / "t" / "02-b" / "stale.png").write_bytes(b"old")
    with pytest.raises(ConfigError, match="overwrite"):
        tour.run_tour(tmp_path / "t", level="smoke", device="cpu", only=["a"], say=lambda line: None)
    assert (tmp_path / "t" / "02-b" / "stale.png").read_bytes() == b"old"
    tour.run_tour(tmp_path / "t", level="smoke", device="cpu", only=["a"], say=lambda line: None, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "t").glob("0*")) == ["01-a"]


def test_unknown_step_is_a_one_line_error_and_writes_nothing(tmp_path, cli):
    res = cli("tour", "--steps", "classify,nope", "--out", tmp_path / "t")
    assert_one_line_error(res, "--steps", "nope", "classify")
    assert not (tmp_path / "t").exists()
    (tmp_path / "file").write_text("x")
    assert_one_line_error(cli("tour", "--steps", "classify", "--out", tmp_path / "file"), "file")


def _folder(result, name):
    return next(s.run_dir for s in result.steps if s.name == name)


@pytest.fixture(scope="module")
def smoke_tour(tmp_path_factory):
    """The real tour, every step, at the tiny "smoke" size (seconds per step), run once for these tests."""
    out = tmp_path_factory.mktemp("tour") / "t"
    return tour.run_tour(out, level="smoke", device="cpu", say=lambda line: None)


def test_every_step_runs_and_fills_its_run_folder(smoke_tour):
    assert [(s.name, s.status) for s in smoke_tour.steps] == [(n, "ok") for n, _ in tour.steps()], \
        [s.message for s in smoke_tour.steps]
    expected = {"classify": ["predictions.png", "predictions.json"],
                "saliency": ["saliency.png", "vanilla/00_coffee_overlay.png"],
                "fool": ["fooling.png", "figure.png", "result.json"], "dream": ["dream.png", "figure.png"],
                "style": ["result.png"], "invert": ["result.png"], "texture": ["result.png"],
                "attack": ["figure.png", "attack.csv", "result.json"],
                "caption": ["test_captions.png", "captions.json", "attention_maps.png"],
                "gan": ["samples.png", "checkpoint.pt", "demo.png", "shipped_samples.png"]}
    for step in smoke_tour.steps:
        for name in expected[step.name]:
            assert (step.run_dir / name).is_file(), (step.name, name)
        # Each job's folder (the step's own, or one per saliency method) holds its equivalent command and metrics.
        job_dirs = [step.run_dir] if (step.run_dir / "config.json").is_file() else sorted(
            d for d in step.run_dir.iterdir() if (d / "config.json").is_file())
        assert job_dirs, step.name
        for d in job_dirs:
            command = json.loads((d / "config.json").read_text())["command"]
            assert command.startswith(f"vislab {step.name}"), command  # the equivalent command, not "vislab tour"
            assert runs.read_metrics(d), d
    p = parse(smoke_tour.report)
    states = [r[3] for r in p.rows if r and r[0].isdigit()]
    # The tour and its steps (the saliency step's one run per method is shown inside its section).
    assert states == ["complete"] * (1 + len(tour.steps()))


def test_classify_step_matches_the_network(smoke_tour):
    """The classify step's numbers against logits computed directly from the backbone's weights."""
    from vislab.backbones import load
    from vislab.images import load_image, resize_center_crop

    preds = {row["image"]: row["top"] for row in
             json.loads((smoke_tour.out / "01-classify" / "predictions.json").read_text())}
    bb = load("efficientnet_lite0")
    mean, std = torch.tensor(bb.mean).view(1, 3, 1, 1), torch.tensor(bb.std).view(1, 3, 1, 1)
    for spec, top in preds.items():
        x = resize_center_crop(load_image(spec), 224)[None]
        with torch.no_grad():
            probs = bb.model((x - mean) / std).softmax(-1)[0]
        assert top[0]["index"] == int(probs.argmax())
        assert top[0]["prob"] == pytest.approx(float(probs.max()), abs=1e-3)
        assert [t["prob"] for t in top] == sorted((t["prob"] for t in top), reverse=True)


def test_fool_step_reports_what_the_saved_image_is(smoke_tour):
    """result.json must describe fooling.png as saved: classify the file again and compare."""
    from vislab.backbones import load
    from vislab.backbones.predict import classify
    from vislab.images import load_image

    d = _folder(smoke_tour, "fool")
    result = json.loads((d / "result.json").read_text())
    top = classify(load("efficientnet_lite0"), [load_image(d / "fooling.png")], topk=1)[0][0]
    assert result["after_class"] == top.index and result["after_prob"] == pytest.approx(top.prob, abs=1e-3)
    assert result["target_name"] == "stingray"


def test_settings_pick_follows_the_level():
    assert TourSettings(level="smoke").pick(full=3, quick=2, smoke=1) == 1
    assert TourSettings(level="full").pick(full=3, quick=2, smoke=1) == 3
    with pytest.raises(Exception, match="unknown tour level"):
        tour.run_tour(None, level="huge")


def test_caption_step_marks_each_shown_caption_and_the_report_puts_it_under_its_picture(smoke_tour):
    d = _folder(smoke_tour, "caption")
    records = json.loads((d / "captions.json").read_text())
    shown = [r for r in records if "picture" in r]
    assert len(shown) == min(8, len(records)) and all((d / r["picture"]).is_file() for r in shown)
    right = sum(r["generated"] in r["references"] for r in shown)
    assert runs.read_metrics(d)[-1]["shown_right"] == right  # what the picture's marks add up to
    page = (smoke_tour.report).read_text()
    for r in shown:  # each shown caption sits in the figure of its own picture
        figure = page.split(f'src="{d.name}/{r["picture"]}"')[1].split("</figure>")[0]
        assert r["generated"] in figure
    # The 80-odd caption records are there, collapsed: a closed <details>, not an open one.
    assert '<details><summary>captions.json (' in page


def test_redo_steps_reruns_only_the_named_steps_at_the_tours_level(tmp_path, monkeypatch):
    levels = []

    def recording_step(run_dir, s):
        levels.append(s.level)
        _ok_step(run_dir, s)

    monkeypatch.setattr(tour, "steps", lambda: [("a", _ok_step), ("b", recording_step)])
    tour.run_tour(tmp_path / "t", level="smoke", device="cpu", say=lambda line: None)
    (tmp_path / "t" / "01-a" / "kept.txt").write_text("mine")
    (tmp_path / "t" / "02-b" / "stale.txt").write_text("old")
    done = tour.redo_steps(tmp_path / "t", ["b"], device="cpu", say=lambda line: None)
    assert [(s.name, s.status) for s in done] == [("b", "ok")] and levels == ["smoke", "smoke"]
    assert (tmp_path / "t" / "01-a" / "kept.txt").is_file() and not (tmp_path / "t" / "02-b" / "stale.txt").exists()
    assert "stale.txt" not in (tmp_path / "t" / "index.html").read_text()  # the page was rewritten
    with pytest.raises(ConfigError, match="unknown step"):
        tour.redo_steps(tmp_path / "t", ["nope"], device="cpu")
    with pytest.raises(ConfigError, match="not a finished tour"):
        tour.redo_steps(tmp_path, ["a"], device="cpu")
