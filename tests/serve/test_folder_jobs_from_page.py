"""The page starts a robustness run and a saliency-eval run on uploaded / sample images (issue 25: every command
on the page). Each page run is checked against the library run the CLI makes: robustness on a folder holding the
same picture (an unlabelled folder: labels are the clean predictions), saliency-eval with the same settings; and
the images' classes are the model's own predictions, said as such."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error
from vislab.attacks.settings import RobustnessSettings
from vislab.errors import SettingError
from vislab.images import load_image, save_image

FGSM = {"attack": "fgsm", "eps": [0.0, 2.0], "batch_size": 1, "seed": 0}


def _form(server, kind):
    return next(f for f in server.c.get("/api/info").json()["forms"] if f["kind"] == kind)


def test_the_page_offers_both_forms_with_images_and_no_server_folder(server):
    rob, ev = _form(server, "robustness"), _form(server, "saliency-eval")
    fields = {f["name"]: f for f in rob["fields"]}
    assert "folder" not in fields and "resume" not in fields  # server paths and --resume stay off the page
    assert fields["images"]["type"] == "images" and fields["eps"]["type"] == "list"
    assert fields["eps"]["default"] == list(RobustnessSettings.__dataclass_fields__["eps"].default)
    assert rob["show"] == "table"
    ev_fields = {f["name"]: f for f in ev["fields"]}
    assert ev_fields["images"]["type"] == "images" and ev_fields["methods"]["type"] == "list"
    assert "top-1 prediction" in ev_fields["images"]["help"] and "clean prediction" in fields["images"]["help"]


def test_a_robustness_run_from_the_page_matches_the_cli_on_a_folder_of_the_same_image(server, tmp_path):
    from vislab.attacks.robustness_job import run

    s = server.run("robustness", images=["sample:chelsea"], **FGSM)
    assert s["state"] == "ok", s
    folder = tmp_path / "imgs"
    folder.mkdir()
    save_image(load_image("sample:chelsea"), folder / "chelsea.png")  # lossless: the same 8-bit pixels
    direct = run(RobustnessSettings(folder=str(folder), **{**FGSM, "eps": tuple(FGSM["eps"])}), tmp_path / "d")
    page = json.loads((server.root / s["run"] / "robustness.json").read_text())
    keys = ("eps", "accuracy", "accuracy_8bit", "correct", "images")
    assert [{k: r[k] for k in keys} for r in page["curve"]] == [{k: r[k] for k in keys} for r in direct.curve]
    assert page["curve"][0]["accuracy"] == 1.0  # labels are the clean predictions
    config = json.loads((server.root / s["run"] / "config.json").read_text())
    assert config["config"]["labels"] == "clean predictions" and config["config"]["images"] == ["sample:chelsea"]
    view = server.c.get(f"/api/view/{s['run']}").json()
    assert [r["eps"] for r in view["table"]] == [0.0, 2.0]
    assert [i["label"] for i in view["images"]] == ["figure"]


def test_a_saliency_eval_run_from_the_page_matches_the_library_and_says_its_classes_are_predictions(server,
                                                                                                   tmp_path):
    from vislab.backbones import load
    from vislab.visualize.saliency_eval import COLUMNS, SaliencyEvalSettings, run

    settings = {"methods": ["vanilla"], "steps": 2, "road_fractions": [0.5], "cascade": 0, "batch_size": 4}
    s = server.run("saliency-eval", images=["sample:coffee"], **settings)
    assert s["state"] == "ok", s
    direct = run(SaliencyEvalSettings(images=["sample:coffee"], methods=("vanilla",), steps=2,
                                      road_fractions=(0.5,), cascade=0, batch_size=4), tmp_path / "d")
    view = server.c.get(f"/api/view/{s['run']}").json()
    assert [r["method"] for r in view["table"]] == ["vanilla"]
    deletion = COLUMNS["deletion_auc"]  # the page's column heading
    assert view["table"][0][deletion] == pytest.approx(direct.table[0]["deletion_auc"], abs=1e-4)
    assert view["numbers"]["labelled_images"] == 0
    bb = load()
    predicted = int(bb(bb.prepare(load_image("sample:coffee"))).argmax())
    assert direct.rows[0]["target"] == predicted and direct.rows[0]["labelled"] is False
    md = (server.root / s["run"] / "faithfulness.md").read_text()
    assert "1 of 1 images had no label" in md and "top-1 prediction" in md


@pytest.mark.parametrize("values, setting", [({}, "folder"), ({"folder": "x", "images": ("sample:coffee",)},
                                                                "images")])
def test_robustness_takes_exactly_one_of_folder_and_images(values, setting):
    with pytest.raises(SettingError) as e:
        RobustnessSettings(**values).validate()
    assert e.value.setting == setting


def test_robustness_from_the_page_without_images_names_the_setting(server):
    r = server.submit("robustness", images=[], **FGSM)
    assert r.status_code == 422 and "folder must be given" in r.text, r.text


def test_the_cli_takes_one_of_folder_and_images_and_runs_the_pages_command(cli, tmp_path):
    from vislab import registry

    assert_one_line_error(cli("robustness", "--out", tmp_path / "o"), "FOLDER")
    assert_one_line_error(cli("robustness", "", "--out", tmp_path / "o"), "FOLDER")
    assert_one_line_error(cli("robustness", tmp_path, "--images", "sample:chelsea", "--out", tmp_path / "o"),
                          "--images")
    assert not (tmp_path / "o").exists()
    settings = RobustnessSettings(images=("sample:chelsea",), **{**FGSM, "eps": (0.0, 2.0)})
    words = registry.command_line(registry.get("robustness"), settings).split()  # what a page run records
    assert words[:2] == ["vislab", "robustness"] and words[2].startswith("--") and "--images" in words  # no FOLDER
    r = cli("robustness", *words[2:], "--out", tmp_path / "c")
    assert r.rc == 0, r.err
    assert json.loads((tmp_path / "c" / "robustness.json").read_text())["curve"][0]["accuracy"] == 1.0
