"""The report of an attack run and a robustness run (issue 25): the attack's pictures per image and its table of
before/after classes and changes; the robustness curve as a table per budget beside its plot. Real runs of the
jobs on the tiny classifier, so the report is checked against what the jobs write."""

from __future__ import annotations

import json

import pytest

from tests.attacks.conftest import TINY, random_images
from tests.report.fake_runs import parse, states
from vislab.attacks.attack_job import run as attack
from vislab.attacks.robustness_job import run as robustness
from vislab.attacks.settings import AttackSettings, RobustnessSettings
from vislab.report import build_report


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    random_images(d, 3)
    return d


def test_the_attack_report_shows_each_image_pictures_and_its_row(folder, tmp_path):
    images = [str(folder / "img0.png"), str(folder / "img1.png")]
    res = attack(AttackSettings(images=images, model=TINY, attack="pgd", eps=2.0, steps=2, seed=0), tmp_path / "atk")
    p = parse(build_report([tmp_path / "atk"]))
    assert states(p) == {"atk": "complete"}
    shown = {im["alt"] for im in p.imgs}
    for i in range(2):
        assert {f"0{i}_img{i}_{s}.png" for s in ("clean", "adv", "perturbation")} <= shown
    assert "figure.png" in shown
    assert p.row("image") == ["image", "before_name", "before_prob", "after_name", "after_prob", "success",
                              "linf_levels", "l2"]
    for r in res.rows:  # the rows the job returned, as the report prints numbers (4 significant digits)
        assert p.row(r["image"]) == [r["image"], r["before_name"], f"{r['before_prob']:.4g}", r["after_name"],
                                     f"{r['after_prob']:.4g}", str(r["success"]), f"{r['linf_levels']:.4g}",
                                     f"{r['l2']:.4g}"]
    assert p.row("logged") == ["logged", "2 rows, one per image"]


def test_the_robustness_report_is_a_table_per_budget_beside_the_curve(folder, tmp_path):
    s = RobustnessSettings(folder=str(folder), model=TINY, eps=(0.0, 1.0, 4.0), steps=2, batch_size=2)
    res = robustness(s, tmp_path / "rob")
    assert [r["accuracy"] for r in res.curve][0] == 1.0 and res.curve[-1]["accuracy"] < 1.0  # the curve falls
    p = parse(build_report([tmp_path / "rob"]))
    assert states(p) == {"rob": "complete"}  # its metrics.jsonl is the curve: nothing missing
    assert "robustness.png" in {im["alt"] for im in p.imgs}
    assert "Per budget" in p.all_text and 'class="curves"' not in (tmp_path / "rob" / "index.html").read_text()
    assert p.row("budget") == ["budget", "eps", "accuracy", "accuracy_8bit", "correct", "images"]
    for r in res.curve:
        label = f"{r['eps']:g}/255"
        assert p.row(label) == [label, f"{r['eps']:g}", f"{r['accuracy']:.4g}", f"{r['accuracy_8bit']:.4g}",
                                str(r["correct"]), str(r["images"])]
    assert p.row("logged") == ["logged", "3 rows, one per budget"]
    saved = json.loads((tmp_path / "rob" / "robustness.json").read_text())["curve"]
    assert saved == res.curve


def test_a_resumed_robustness_run_logs_the_whole_curve_once(folder, tmp_path):
    s = RobustnessSettings(folder=str(folder), model=TINY, eps=(0.0, 2.0), steps=1, batch_size=3)
    robustness(s, tmp_path / "rob")
    s.eps, s.resume = (0.0, 2.0, 8.0), True
    robustness(s, tmp_path / "rob")
    rows = [json.loads(line) for line in (tmp_path / "rob" / "metrics.jsonl").read_text().splitlines()]
    assert [r["budget"] for r in rows] == ["0/255", "2/255", "8/255"]
