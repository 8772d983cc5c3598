"""The report fixes of issue 14: long JSON collapsed, real durations (never "0.0 s"), runs named by their folder
(never "."), captions under their pictures (with the out-of-distribution warning), one headline per tour step."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.report.fake_runs import make_image_run, make_small_run, parse
from vislab import runs
from vislab.report import build_report
from vislab.report.html import _fmt_seconds


def test_long_json_outputs_are_collapsed_and_short_ones_open(tmp_path):
    run = make_image_run(tmp_path / "r")
    (run / "captions.json").write_text(json.dumps([{"image": f"shapes:{i}", "generated": "a red circle"}
                                                   for i in range(80)]), encoding="utf-8")
    (run / "short.json").write_text(json.dumps({"BLEU-4": 0.8}), encoding="utf-8")
    page = build_report([run]).read_text()
    lines = len(json.dumps(json.loads((run / "captions.json").read_text()), indent=2).splitlines())
    assert f"<details><summary>captions.json ({lines} lines; click to show)</summary>" in page
    assert "<details open><summary>short.json</summary>" in page


def test_a_quick_run_shows_its_measured_seconds_not_zero(tmp_path):
    run = make_image_run(tmp_path / "eval")
    (run / "status.json").write_text(json.dumps({"status": "ok", "seconds": 0.11}), encoding="utf-8")
    p = parse(build_report([run]))
    assert p.row("duration")[1] == "0.11 s (measured by the run)"
    assert p.rows[1][4] == "0.11 s"  # the overview's time column


def test_a_recorded_zero_falls_back_to_the_timestamps(tmp_path):
    run = make_small_run(tmp_path / "r", rows=[{"step": 0, "time": 100.0, "loss": 1},
                                               {"step": 1, "time": 102.5, "loss": 0.5}])
    (run / "status.json").write_text(json.dumps({"status": "ok", "seconds": 0}), encoding="utf-8")
    assert parse(build_report([run])).row("duration")[1] == "2.5 s (first to last metrics row)"


@pytest.mark.parametrize("seconds, shown", [(0.004, "< 0.01 s"), (0.25, "0.25 s"), (3.14159, "3.1 s"),
                                            (75, "1 min 15 s")])
def test_seconds_keep_their_digits(seconds, shown):
    assert _fmt_seconds(seconds) == shown


def test_a_folder_of_runs_is_named_by_its_folder_never_dot(tmp_path):
    tour = runs.make_run_dir(tmp_path / "tour-quick", "tour")
    runs.write_config(tour, {"level": "quick"})
    runs.MetricsLog(tour).log(0, seconds_classify=1.0)
    make_image_run(tour / "01-style")
    p = parse(build_report([tour]))  # the page inside the tour's folder, as `vislab tour` writes it
    names = [r[1] for r in p.rows if r and r[0].isdigit()]
    assert names == ["tour-quick", "01-style"]


def test_captions_sit_under_their_pictures_with_any_warning(tmp_path):
    run = make_image_run(tmp_path / "cap")
    os.rename(run / "result.jpg", run / "photo.jpg")
    (run / "pictures").mkdir()
    make_image_run(tmp_path / "other")  # a second run: its picture gets no caption
    from vislab.images import load_image, save_image
    save_image(load_image("sample:coffee"), run / "pictures" / "00_coffee.png")
    (run / "captions.json").write_text(json.dumps([
        {"image": "sample:coffee", "caption": "a red <circle>", "picture": "pictures/00_coffee.png",
         "warning": "unlike the images the model was trained on"},
        {"image": "/somewhere/photo.jpg", "generated": "a blue square"},  # matched by file name
        {"image": "sample:none", "caption": "no picture of this one"},
        "not a record"]), encoding="utf-8")
    html = build_report([tmp_path]).read_text()
    figures = {m.group(1): m.group(0) for m in re.finditer(r'<figure><a href="([^"]+)">.*?</figure>', html)}
    assert "a red &lt;circle&gt;" in figures["cap/pictures/00_coffee.png"]
    assert "unlike the images the model was trained on" in figures["cap/pictures/00_coffee.png"]
    assert "a blue square" in figures["cap/photo.jpg"] and "unlike" not in figures["cap/photo.jpg"]
    assert 'class="caption"' not in figures["other/result.jpg"]


def test_a_tour_shows_one_headline_per_step_at_the_top(tmp_path):
    from vislab.images import load_image, save_image

    tour = runs.make_run_dir(tmp_path / "t", "tour")
    runs.write_config(tour, {})
    runs.MetricsLog(tour).log(0, x=1)
    save_image(load_image("sample:coffee"), tour / "05-style-painting.png")  # an input beside the steps
    for name in ("02-saliency", "04-dream"):
        step = make_image_run(tour / name)
        (step / "status.json").write_text(json.dumps({"status": "ok", "headline": "result.jpg"}), encoding="utf-8")
    make_image_run(tour / "02-saliency" / "vanilla")  # one method's run inside a step
    make_image_run(tour / "03-extra")  # a run without a named headline, inside the tour
    page = build_report([tour]).read_text()
    highlights = page.split('<div class="card"><div class="gallery">')[1].split("</div></div>")[0]
    assert re.findall(r'<img src="([^"]+)"', highlights) == ["02-saliency/result.jpg", "04-dream/result.jpg"]


def test_long_settings_tables_start_collapsed_and_short_ones_open(tmp_path):
    many = make_small_run(tmp_path / "many", config={"command": "vislab x", "config": {f"s{i}": i for i in range(30)}})
    few = make_small_run(tmp_path / "few", config={"command": "vislab y", "config": {"a": 1}})
    page = build_report([many, few], tmp_path / "r.html").read_text()
    assert page.count("<details><summary>30 settings (click to show)</summary>") == 1
    p = parse(tmp_path / "r.html")
    assert p.row("s29")[1] == "29" and p.row("a")[1] == "1"  # every row is still on the page
