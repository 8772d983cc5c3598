"""The loops of fooling and integrated gradients speak the job contract: ``progress(step, total, **numbers)``
(and fooling's ``should_stop()``), no callbacks of their own; the numbers checked against the model itself."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

from vislab.visualize import fool_job, make_fooling_image
from vislab.visualize.integrated_gradients import IntegratedGradients
from vislab.visualize.maps import make_explainer
from vislab.visualize.settings import FoolSettings

TINY = "tests.visualize.tiny_classifier:build"


def test_no_private_callback_styles_remain():
    assert "on_step" not in inspect.signature(make_fooling_image).parameters
    for fn in (IntegratedGradients, make_explainer):
        params = inspect.signature(fn).parameters
        assert "on_gradients" not in params and "progress" in params


def test_fooling_progress_reports_the_target_probability_of_every_scoring_pass(linear):
    g = torch.Generator().manual_seed(1)
    x0 = torch.round(torch.rand((2, 3, 8, 8), generator=g) * 255) / 255
    y = torch.tensor([0, 4])
    calls = []
    res = make_fooling_image(x0, y, linear, lr=0.05, max_iters=6, margin=1e9,
                             progress=lambda step, total, **n: calls.append((step, total, n)))
    assert [c[0] for c in calls] == list(range(7)) and {c[1] for c in calls} == {6}
    with torch.no_grad():  # pass 0 scores the originals; the last pass scores the saved (8-bit) result
        first = linear(x0).softmax(dim=1).gather(1, y[:, None]).mean()
        last = linear(res.image).softmax(dim=1).gather(1, y[:, None]).mean()
    assert calls[0][2]["target_prob"] == pytest.approx(float(first), rel=1e-5)
    assert calls[-1][2]["target_prob"] == pytest.approx(float(last), rel=1e-5)
    assert all(c[2]["fooled"] == 0 for c in calls)  # a 1e9-logit margin is never reached


def test_fooling_should_stop_ends_the_loop_after_the_report(linear):
    x0 = torch.full((1, 3, 8, 8), 0.5)
    calls = []
    res = make_fooling_image(x0, 1, linear, lr=0.01, max_iters=50, margin=1e9,
                             progress=lambda step, total, **n: calls.append(step), should_stop=lambda: len(calls) >= 3)
    assert calls == [0, 1, 2] and res.stopped and res.iterations == [2]


def test_fool_job_metrics_are_the_progress_numbers(tmp_path):
    calls = []
    settings = FoolSettings(image="sample:coffee", target="tarantula", model=TINY, device="cpu", lr=1e-4,
                            max_iters=3, margin=100.0)
    fool_job.run(settings, tmp_path / "f", progress=lambda step, total, **n: calls.append((step, n)))
    rows = [json.loads(line) for line in (tmp_path / "f" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["target_prob"]) for r in rows] == [(s, n["target_prob"]) for s, n in calls]
    assert len(rows) == 4  # the original and three steps


@pytest.mark.parametrize("method,budget", [("gausslegendre", 20), ("adaptive", 40)])
def test_integrated_gradients_progress_counts_gradients_per_image(smooth, method, budget):
    calls = []
    ig = IntegratedGradients(smooth, n_steps=10, method=method, max_steps=20, internal_batch_size=4, tol=0.0,
                             baseline=[torch.zeros(1), torch.full((1,), 0.5)],
                             progress=lambda step, total, **n: calls.append((step, total)))
    x = torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    ig.attribute(x, [1, 2])
    assert {t for _, t in calls} == {budget}  # per image: n_steps (adaptive: max_steps) per baseline
    # The count starts again for each image and ends at the gradients that image used.
    restarts = [i for i in range(1, len(calls)) if calls[i][0] < calls[i - 1][0]]
    assert len(restarts) == 1
    ends = [calls[restarts[0] - 1][0], calls[-1][0]]
    assert ends == ig.steps_used and all(0 < s <= budget for s in ends)
