"""`vislab report`: what a run folder holds appears on the page, correctly; bad folders show as incomplete."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from tests.conftest import assert_one_line_error
from tests.report.fake_runs import make_image_run, make_training_run, parse
from vislab import runs
from vislab.report import build_report, find_runs, scan_run
from vislab.report.plots import moving_average, plot_series
from vislab.report.scan import numeric_series


def _num(cell: str) -> float:
    return float(cell)


def test_page_shows_settings_images_metrics_and_timing(tmp_path):
    run = make_training_run(tmp_path / "runs" / "gan-1")
    page = build_report([run])
    assert page == run / "index.html"
    p = parse(page)
    text = p.all_text

    assert "vislab gan train --epochs 3" in text
    assert p.row("model.kind")[1] == "dcgan" and p.row("lr")[1] == "0.0002"

    # Every result image is linked relative to the page and points at the real file; the curves are embedded.
    linked = [unquote(i["src"]) for i in p.imgs if not i["src"].startswith("data:")]
    assert linked == ["samples/step_0.png", "samples/step_60.png", "samples/step_119.png"]  # natural order
    for src in linked:
        assert (page.parent / src).is_file()
    curves = [i for i in p.imgs if i["src"].startswith("data:image/png;base64,")]
    assert len(curves) == 1
    im = Image.open(io.BytesIO(base64.b64decode(curves[0]["src"].split(",", 1)[1])))
    assert im.format == "PNG" and im.width > 300

    # Metric summary against numpy on the raw log.
    rows = runs.read_metrics(run)
    for name in ("d_loss", "g_loss", "val_acc"):
        vals = np.array([r[name] for r in rows if name in r])
        steps = [r["step"] for r in rows if name in r]
        _, last, lo, hi, n, last_step = p.row(name)
        assert _num(last) == pytest.approx(vals[-1], rel=1e-3)
        assert _num(lo) == pytest.approx(vals.min(), rel=1e-3)
        assert _num(hi) == pytest.approx(vals.max(), rel=1e-3)
        assert int(n) == len(vals) and int(last_step) == steps[-1]
    assert p.row("phase")[1] == "train"  # non-numeric metric: its last value

    # Timing from the metrics clock: first to last row.
    times = [r["time"] for r in rows]
    dur = p.row("duration")[1]
    span = max(times) - min(times)
    if dur.startswith("< 0.01 s"):  # a very fast fake run
        assert 0 < span < 0.005 and "metrics" in dur
    else:  # a short span keeps two decimals (never "0.0 s")
        assert float(dur.split(" s ")[0]) == pytest.approx(span, abs=0.006) and "metrics" in dur
    assert p.row("steps logged")[1] == f"{len(rows)} rows, last step 119"

    # Text outputs are shown escaped; checkpoints listed with their size.
    assert "a red <circle> & a blue square" in text
    assert "<circle>" not in page.read_text().replace("&lt;circle&gt;", "")
    assert "checkpoint.pt" in text


def test_same_runs_give_the_same_page(tmp_path, monkeypatch):
    a = make_training_run(tmp_path / "runs" / "a")
    b = make_image_run(tmp_path / "runs" / "b")
    first = build_report([a, b], tmp_path / "one.html").read_bytes()
    # Later, in another order, with the clock far ahead: nothing about "now" or argument order may show.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86400 * 400)
    second = build_report([b, a], tmp_path / "two.html").read_bytes()
    assert first == second
    assert first.count(b"<section") == 2
    assert first.index(b'id="run-1"') < first.index(b">1. a<") < first.index(b">2. b<")


def test_damaged_runs_show_as_incomplete_not_a_crash(tmp_path):
    root = tmp_path / "runs"
    good = make_image_run(root / "good")
    no_config = make_image_run(root / "no-config")
    (no_config / "config.json").unlink()
    bad_config = make_image_run(root / "bad-config")
    (bad_config / "config.json").write_text('{"command": "vislab sty', encoding="utf-8")
    torn = make_training_run(root / "torn-metrics", steps=5)
    with open(torn / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 5, "d_lo')
    bad_image = make_image_run(root / "bad-image")
    data = (bad_image / "result.jpg").read_bytes()
    (bad_image / "result.jpg").write_bytes(data[: len(data) // 3])  # truncated JPEG
    (bad_image / "junk.png").write_bytes(b"not a png at all")
    no_metrics = make_image_run(root / "no-metrics")
    (no_metrics / "metrics.jsonl").unlink()
    bad_status = make_image_run(root / "bad-status")
    (bad_status / "status.json").write_text("[1, 2", encoding="utf-8")

    page = build_report([root])
    p = parse(page)
    states = {r[1]: r[3] for r in p.rows if r and r[0].isdigit()}
    assert states == {"bad-config": "incomplete", "bad-image": "incomplete", "bad-status": "incomplete",
                      "good": "complete", "no-config": "incomplete", "no-metrics": "incomplete",
                      "torn-metrics": "incomplete"}
    text = p.all_text
    assert "config.json missing" in text
    assert "config.json unreadable" in text
    assert "metrics.jsonl: 1 unreadable line(s) (line 6)" in text
    assert "result.jpg: unreadable image" in text and "junk.png: unreadable image" in text
    assert "metrics.jsonl missing" in text
    assert "status.json unreadable" in text
    # Broken images are named, never put on the page as pictures; the good ones still are.
    srcs = [unquote(i["src"]) for i in p.imgs]
    assert "bad-image/result.jpg" not in srcs and "bad-image/junk.png" not in srcs
    assert "good/result.jpg" in srcs and "no-config/result.jpg" in srcs
    assert scan_run(good).state == "complete" and scan_run(no_config).state == "incomplete"


def test_folder_of_runs_expands_and_nested_runs_keep_their_images(tmp_path):
    tour = runs.make_run_dir(tmp_path / "tour", "tour")
    runs.write_config(tour, {"quick": True}, command="vislab tour --quick")
    runs.MetricsLog(tour).log(0, seconds_classify=1.0)
    make_image_run(tour / "02-style")
    make_training_run(tour / "10-gan", steps=3)
    empty = tmp_path / "tour" / "11-empty"
    empty.mkdir()
    (empty / "status.json").write_text(json.dumps({"status": "failed", "message": "ValueError: boom",
                                                   "seconds": 0.25}), encoding="utf-8")
    found = find_runs([tour])
    assert [f.name for f in found] == ["tour", "02-style", "10-gan", "11-empty"]  # natural sort, parent first
    assert scan_run(tour).images == []  # the steps' pictures belong to the steps
    assert len(scan_run(tour / "10-gan").images) == 3
    failed = scan_run(empty)
    assert failed.state == "failed"
    p = parse(build_report([tour]))
    assert "ValueError: boom" in p.all_text and p.row("duration")  # message and the driver's time are shown


def test_embedded_page_carries_its_images(tmp_path):
    run = make_image_run(tmp_path / "r")
    page = build_report([run], tmp_path / "elsewhere" / "page.html", embed=True)
    p = parse(page)
    assert p.imgs and all(i["src"].startswith("data:image/") for i in p.imgs)
    photo = Image.open(io.BytesIO(base64.b64decode(p.imgs[0]["src"].split(",", 1)[1])))
    assert photo.size == Image.open(run / "result.jpg").size


def test_numeric_series_and_plots(tmp_path):
    rows = [{"step": 0, "time": 1.0, "loss": 2.0, "ok": True, "name": "x"},
            {"time": 2.0, "loss": float("nan"), "acc": 0.5},
            {"step": 7, "loss": 1.0, "acc": 0.75}]
    s = numeric_series(rows)
    assert list(s) == ["loss", "acc"]  # booleans, strings, step and time are not metrics
    assert s["acc"] == [(1.0, 0.5), (7.0, 0.75)]  # a row without a step uses its position
    assert s["loss"][0] == (0.0, 2.0) and np.isnan(s["loss"][1][1])
    png = plot_series(s)
    assert png is not None and Image.open(io.BytesIO(png)).format == "PNG"
    assert plot_series({"loss": [(0.0, 1.0), (1.0, float("nan"))]}) is None  # one finite point: no plot
    assert plot_series(s) == png  # byte-identical: the page stays deterministic

    values = list(np.random.default_rng(0).normal(size=40))
    window = 7
    expected = [np.mean(values[max(0, i - 3): i + 4]) for i in range(40)]
    np.testing.assert_allclose(moving_average(values, window), expected)


def test_cli_report_and_its_errors(tmp_path, cli):
    run = make_image_run(tmp_path / "r")
    res = cli("report", run, "-o", tmp_path / "out" / "page.html")
    assert res.rc == 0 and Path(res.out.strip()) == tmp_path / "out" / "page.html"
    assert (tmp_path / "out" / "page.html").is_file()

    assert_one_line_error(cli("report", tmp_path / "nope"), "nope", "no such run folder")
    assert_one_line_error(cli("report", run, "-o", tmp_path), str(tmp_path), "is a folder")
    assert_one_line_error(cli("report", run, "-o", tmp_path / "x.txt"), "x.txt", ".html")
    assert not (tmp_path / "x.txt").exists()


def test_one_headline_picture_per_run_at_the_top(tmp_path):
    import torch

    from vislab.images import save_image

    gan = make_training_run(tmp_path / "runs" / "a-gan", steps=3)  # samples/step_*.png
    save_image(torch.rand(3, 30, 30), gan / "losses.png")  # a plot: never the headline
    save_image(torch.rand(3, 30, 30), gan / "samples.png")
    named = make_image_run(tmp_path / "runs" / "b-style")
    save_image(torch.rand(3, 30, 30), named / "z_best.png")
    status = {"status": "ok", "headline": "z_best.png"}
    (named / "status.json").write_text(json.dumps(status), encoding="utf-8")
    p = parse(build_report([tmp_path / "runs"]))
    top = [unquote(i["src"]) for i in p.imgs[:2]]
    assert top == ["a-gan/samples.png", "b-style/z_best.png"]
