"""What the page shows of an attack run and a robustness run (issue 25), from the history like any run folder:
per image the original, adversarial and change pictures and a table row (class before/after, fooled, L-inf in
0-255 levels, L2); the robustness curve as a table beside its plot. Malformed result files show "unreadable"
(HTTP 200), never an error page."""

from __future__ import annotations

import json

import pytest

from tests.attacks.conftest import TINY, random_images
from tests.serve.conftest import server  # noqa: F401 - the in-process server fixture
from vislab.attacks.attack_job import run as attack
from vislab.attacks.robustness_job import run as robustness
from vislab.attacks.settings import AttackSettings, RobustnessSettings


def _attack_run(root, tmp_path):
    images = random_images(tmp_path / "imgs", 2)
    return attack(AttackSettings(images=images, model=TINY, attack="pgd", eps=2.0, steps=2, seed=0),
                  root / "attack-1")


def _robustness_run(root, tmp_path):
    random_images(tmp_path / "imgs", 3)
    s = RobustnessSettings(folder=str(tmp_path / "imgs"), model=TINY, eps=(0.0, 1.0, 4.0), steps=2, batch_size=3)
    return robustness(s, root / "robustness-1")


def test_an_attack_run_shows_each_image_pictures_and_its_row(server, tmp_path):  # noqa: F811
    res = _attack_run(server.root, tmp_path)
    view = server.c.get("/api/view/attack-1").json()
    assert view["status"] == "ok"
    pictures = [(i["label"], i["url"]) for i in view["images"]]
    expected = [(f"0{k}_img{k}: {role}", f"/runs/attack-1/0{k}_img{k}_{suffix}.png") for k in range(2)
                for role, suffix in (("original", "clean"), ("adversarial", "adv"), ("change", "perturbation"))]
    assert pictures == [*expected, ("figure", "/runs/attack-1/figure.png")]
    for _, url in pictures:
        assert server.c.get(url).status_code == 200
    assert len(view["table"]) == 2
    for shown, r in zip(view["table"], res.rows):
        assert shown == {"image": r["image"], "before": r["before_name"], "before_prob": r["before_prob"],
                         "after": r["after_name"], "after_prob": r["after_prob"],
                         "fooled": "yes" if r["success"] else "no", "linf_levels": r["linf_levels"], "l2": r["l2"]}
        assert 0 < shown["linf_levels"] <= 2.0  # levels, within the budget
    assert view["numbers"]["success_rate"] == res.numbers["success_rate"]


def test_a_robustness_run_shows_its_curve_as_a_table_and_its_plot(server, tmp_path):  # noqa: F811
    res = _robustness_run(server.root, tmp_path)
    view = server.c.get("/api/view/robustness-1").json()
    assert view["status"] == "ok"
    assert [(i["label"], i["url"]) for i in view["images"]] == [("figure", "/runs/robustness-1/robustness.png")]
    assert view["table"] == [{k: r[k] for k in ("eps", "accuracy", "accuracy_8bit", "correct", "images")}
                             for r in res.curve]
    assert view["table"][0]["accuracy"] == 1.0 and view["table"][-1]["accuracy"] < 1.0
    assert view["texts"] == ["pgd, 2 steps; eps in 0-255 levels (L-inf)"]
    assert {"id": "robustness-1", "kind": "robustness"}.items() <= {
        r["id"]: r for r in server.c.get("/api/runs").json()}["robustness-1"].items()


MALFORMED = [
    ("attack", "result.json", [1, 2]),
    ("attack", "result.json", {"rows": 5}),
    ("attack", "result.json", {"rows": [1]}),
    ("attack", "result.json", {"rows": [{"image": "a", "before_prob": "high", "after_prob": 0.1,
                                         "linf_levels": 1, "l2": 0.1, "success": True}]}),
    ("attack", "result.json", {"rows": [{"image": "a", "before_prob": 0.5, "after_prob": 0.1,
                                         "linf_levels": 1, "l2": 0.1, "success": "yes"}]}),
    ("robustness", "robustness.json", [1]),
    ("robustness", "robustness.json", {"curve": {"eps": 1}}),
    ("robustness", "robustness.json", {"curve": [{"eps": 1, "accuracy": "most"}]}),
    ("robustness", "robustness.json", {"curve": [{"eps": True, "accuracy": 1, "accuracy_8bit": 1, "correct": 1,
                                                  "images": 1}]}),
]


@pytest.mark.parametrize("kind, name, content", MALFORMED)
def test_a_malformed_attack_or_robustness_run_shows_unreadable(server, kind, name, content):  # noqa: F811
    run = server.root / "copied"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"kind": kind, "command": "vislab x", "config": {}}))
    (run / "status.json").write_text(json.dumps({"status": "ok", "files": {}, "numbers": {}}))
    (run / name).write_text(json.dumps(content))
    r = server.c.get("/api/view/copied")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "unreadable" and name in r.json()["message"]


@pytest.mark.parametrize("kind", ["attack", "robustness"])
def test_a_run_without_its_result_file_shows_what_there_is(server, kind):  # noqa: F811
    run = server.root / "bare"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"kind": kind, "command": "vislab x", "config": {}}))
    (run / "status.json").write_text(json.dumps({"status": "cancelled", "files": {}, "numbers": {}}))
    view = server.c.get("/api/view/bare").json()
    assert view["status"] == "cancelled" and "table" not in view


def test_a_tour_attack_step_shows_the_pictures_of_its_folder(server, tmp_path):  # noqa: F811
    """The tour writes its own status.json (no "files"): the pictures are found in the folder, in the same order."""
    _attack_run(server.root, tmp_path)
    run = server.root / "attack-1"
    (run / "status.json").write_text(json.dumps({"step": "attack", "status": "ok", "message": "",
                                                 "headline": "figure.png"}))
    (run / "01_img1_perturbation.png").unlink()  # a picture missing is left out, not an error
    view = server.c.get("/api/view/attack-1").json()
    assert view["status"] == "ok" and len(view["table"]) == 2
    assert [i["label"] for i in view["images"]] == ["00_img0: original", "00_img0: adversarial", "00_img0: change",
                                                    "01_img1: original", "01_img1: adversarial", "figure"]
    assert all(server.c.get(i["url"]).status_code == 200 for i in view["images"])
