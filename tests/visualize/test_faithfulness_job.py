"""`vislab saliency-eval`: a labelled folder in, one table row per method out (the scores themselves are checked
against closed forms and quantus in test_faithfulness.py)."""

from __future__ import annotations

import json

from tests.conftest import assert_one_line_error
from vislab.images import load_image, resize, save_image
from vislab.runs import read_metrics
from vislab.visualize.saliency_eval import SaliencyEvalSettings, expand_inputs, run

TINY = "tests.visualize.test_faithfulness_job:small"


def small() -> dict:
    """The tiny classifier at a 48-pixel input: the job's curves and ROAD refills stay cheap."""
    from tests.visualize.tiny_classifier import TinyImageNet

    return {"model": TinyImageNet(), "input_size": 48}


def _folder(tmp_path, labels=True):
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    for name in ("chelsea", "coffee"):
        save_image(resize(load_image(f"sample:{name}"), 32), folder / "images" / f"{name}.png")
    if labels:
        (folder / "labels.json").write_text(json.dumps({"images/chelsea.png": 285, "images/coffee.png": 504}))
    return folder


def test_a_labelled_folder_gives_one_row_per_method(tmp_path):
    folder = _folder(tmp_path)
    settings = SaliencyEvalSettings(images=[str(folder)], methods=("vanilla", "gradcam"), model=TINY, steps=4,
                                    road_fractions=(0.5,), cascade=1)
    result = run(settings, tmp_path / "out")
    assert [r["method"] for r in result.table] == ["vanilla", "gradcam"]
    assert all(r["images"] == 2 for r in result.table)
    rows = read_metrics(tmp_path / "out")
    assert sorted({r["target"] for r in rows}) == [285, 504]  # the labels, not the predictions
    for r in rows:
        assert 0 <= r["deletion_auc"] <= 1 and 0 <= r["insertion_auc"] <= 1 and -1 <= r["randomized_rank_corr"] <= 1
    table = (tmp_path / "out" / "faithfulness.md").read_text()
    assert "| gradcam |" in table and "deletion AUC" in table
    assert (tmp_path / "out" / "faithfulness.png").is_file() and (tmp_path / "out" / "faithfulness.csv").is_file()


def test_unlabelled_folders_use_the_predicted_class(tmp_path):
    specs, labels = expand_inputs([str(_folder(tmp_path, labels=False)), "sample:coffee"])
    assert [s.rsplit("/", 1)[-1] for s in specs] == ["chelsea.png", "coffee.png", "sample:coffee"]
    assert labels == [None, None, None]


def test_bad_settings_are_one_line(cli, tmp_path):
    folder = _folder(tmp_path)
    r = cli("saliency-eval", folder, "--methods", "vanilla", "--road-fractions", "1.5", "--out", tmp_path / "a")
    assert_one_line_error(r, "road")
    (folder / "labels.json").write_text(json.dumps({"images/chelsea.png": 5000}))
    r = cli("saliency-eval", folder, "--model", TINY, "--out", tmp_path / "b")
    assert_one_line_error(r, "label 5000")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
