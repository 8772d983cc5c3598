"""The report fixes of issue 24: only real series drawn as curves (per-image values, stage settings and values
logged once are tables), each run once (a step's sub-runs folded into its section), and which data a GAN used."""

from __future__ import annotations

import json
import re

import pytest

from tests.report.fake_runs import make_small_run, parse
from vislab import runs
from vislab.report import build_report
from vislab.report import html as report_html
from vislab.report.series import is_stage, metric_views


@pytest.fixture
def plotted(monkeypatch):
    """The metric names each run's curves figure is drawn for, in page order."""
    drawn: list[list[str]] = []
    real = report_html.plot_series

    def spy(series, **kw):
        drawn.append(list(series))
        return real(series, **kw)

    monkeypatch.setattr(report_html, "plot_series", spy)
    return drawn


def _per_image_run(path):
    """Rows as `vislab saliency` logs them (saliency_job: one per image, step = its position)."""
    rows = [{"step": 0, "image": "sample:chelsea", "class": 285, "target_prob": 0.62, "top1_prob": 0.62},
            {"step": 1, "image": "sample:coffee", "class": 967, "target_prob": 0.91, "top1_prob": 0.91}]
    return make_small_run(path, rows)


def _style_run(path):
    """Rows as style transfer logs them (style/recorder.py: every iteration with its scale and size; then the
    final losses once, style/session.py)."""
    rows, step = [], 0
    for scale, size in enumerate((32, 64, 128)):
        for _ in range(10):
            step += 1
            rows.append({"step": step, "scale": scale, "height": size, "width": size * 3 // 2,
                         "total": 10.0 / step, "style": 5.0 / step})
    rows.append({"step": step, "final_total": 0.3, "final_style": 0.1})
    return make_small_run(path, rows)


def test_per_image_values_are_a_table_not_curves(tmp_path, plotted):
    run = _per_image_run(tmp_path / "saliency")
    p = parse(build_report([run]))
    assert plotted == [[]] and 'class="curves"' not in (tmp_path / "saliency" / "index.html").read_text()
    assert p.row("image") == ["image", "class", "target_prob", "top1_prob"]  # one row per image
    assert p.row("sample:chelsea") == ["sample:chelsea", "285", "0.62", "0.62"]
    assert p.row("sample:coffee") == ["sample:coffee", "967", "0.91", "0.91"]
    assert p.row("logged") == ["logged", "2 rows, one per image"]  # not "steps"


def test_stage_settings_are_a_table_and_the_losses_curves(tmp_path, plotted):
    run = _style_run(tmp_path / "style")
    p = parse(build_report([run]))
    assert plotted == [["total", "style"]]  # not scale, height, width, nor the final values logged once
    assert p.row("steps") == ["steps", "scale", "height", "width"]
    assert p.row("1\u201310") == ["1\u201310", "0", "32", "48"]
    assert p.row("21\u201330") == ["21\u201330", "2", "128", "192"]
    assert p.row("final_total")[1] == "0.3"  # a value logged once: the metrics table
    assert p.row("total")[0] == "total" and not any(r and r[0] == "scale" for r in p.rows)  # stages: once


def test_series_rules():
    assert is_stage([(i, i // 10) for i in range(30)])  # 3 stretches of 10
    assert not is_stage([(i, 1.0 / (i + 1)) for i in range(30)])  # a loss
    assert not is_stage([(i, i % 2) for i in range(30)])  # changes every step: a real series
    assert is_stage([(0, 3), (1, 3)])  # a setting that held (a one-scale style run)
    assert not is_stage([(0, 9), (1, 10)])  # a change at every point: a (short) series
    assert not is_stage([(0, 3)])  # logged once: the metrics table
    views = metric_views([{"step": 0, "a": 1.0}, {"step": 1, "a": 2.0}, {"step": 1, "b": 5.0},
                          {"step": 2, "image": "x", "c": 1.0}])
    assert list(views.curves) == ["a"] and views.items == [{"step": 2, "image": "x", "c": 1.0}]


def _tour_with_saliency(root):
    """A tour folder as `vislab tour` writes it: the step holds one saliency run per method (tour/see.py)."""
    tour = runs.make_run_dir(root, "tour")
    runs.write_config(tour, {"level": "quick"}, command="vislab tour --quick")
    runs.MetricsLog(tour).log(2, seconds_saliency=3.5)
    step = tour / "02-saliency"
    for m in ("vanilla", "smoothgrad"):
        _per_image_run(step / m)
    runs.write_config(step, {"methods": ["vanilla", "smoothgrad"], "runs": ["vanilla", "smoothgrad"]},
                      command="vislab saliency ... ; vislab saliency ...", kind="saliency")
    runs.MetricsLog(step).log(0, image="chelsea", target_prob_vanilla=0.62, target_prob_smoothgrad=0.62)
    return tour


def test_each_run_once_with_a_steps_parts_inside_it(tmp_path):
    tour = _tour_with_saliency(tmp_path / "tour")
    page = build_report([tour]).read_text()
    p = parse(tour / "index.html")
    overview = [r[1] for r in p.rows if r and r[0].isdigit() and len(r) >= 4]
    assert overview == ["tour", "02-saliency"]  # the parts are not runs of their own on the page
    assert "2 runs" in p.all_text
    headings = re.findall(r"<h2><a href=\"#run-\d+\">\d+\. ([^<]+)</a></h2>", page)
    assert sorted(headings) == ["02-saliency", "smoothgrad", "tour", "vanilla"]  # each exactly once
    at = [page.index(s) for s in (">2. 02-saliency<", "Parts (2)", "<details><summary>smoothgrad",
                                  "<details><summary>vanilla", "<footer>")]
    assert at == sorted(at)  # the parts are folded inside the step's section, in folder order
    assert page.count("<section") == 4


def test_a_part_listing_its_holder_is_no_loop(tmp_path):
    a = make_small_run(tmp_path / "a", config={"config": {"runs": ["b"]}})
    make_small_run(a / "b", config={"config": {"runs": [".."]}})
    page = build_report([a]).read_text()
    assert page.count("<section") == 2


@pytest.mark.parametrize("dataset, words", [("mnist", "Data: MNIST (60000 training images)"),
                                            ("digits", "Data: scikit-learn 8x8 digits, not MNIST")])
def test_the_page_says_which_data_a_gan_used(tmp_path, dataset, words):
    config = {"command": "vislab gan train", "config": {"arch": "dcgan", "dataset": dataset, "train_images": 60000}}
    run = make_small_run(tmp_path / "gan", [{"step": 1, "d_loss": 1.0}, {"step": 2, "d_loss": 0.5}], config)
    assert words in parse(build_report([run])).all_text


def test_a_gan_trained_on_the_8x8_digits_says_so(tmp_path):
    from vislab.gan import train
    from vislab.gan.settings import TrainConfig

    settings = TrainConfig(arch="mlp", loss="bce", data="digits", batch_size=8, noise_dim=16, max_steps=2,
                           log_every=1, sample_every=100, checkpoint_every=100, eval_samples=0, seed=0, device="cpu")
    result = train.run(settings, tmp_path / "gan")
    status = json.loads((result.run_dir / "status.json").read_text())
    assert status["status"] == "ok" and "not MNIST" in status["message"] and "\n" not in status["message"]
    text = parse(build_report([result.run_dir])).all_text
    assert "Data: scikit-learn 8x8 digits, not MNIST" in text
