"""A run validates its settings once (before it reads anything; `start_run(checked=True)` then trusts them)."""

from __future__ import annotations

import pytest

from vislab.visualize import fool_job, saliency_job
from vislab.visualize.settings import FoolSettings, SaliencySettings

TINY = dict(model="tests.visualize.tiny_classifier:build", device="cpu")
RUNS = {"fool": (fool_job.run, FoolSettings(image="sample:coffee", target="1", max_iters=1, **TINY)),
        "saliency": (saliency_job.run, SaliencySettings(images=["sample:coffee"], **TINY))}


@pytest.mark.parametrize("job", list(RUNS))
def test_settings_are_validated_once_per_run(job, monkeypatch, tmp_path):
    run, settings = RUNS[job]
    calls = []
    original = type(settings).validate
    monkeypatch.setattr(type(settings), "validate", lambda self: (calls.append(1), original(self))[1])
    assert run(settings, tmp_path / job).status == "ok"
    assert len(calls) == 1
