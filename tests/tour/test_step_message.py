"""A tour step keeps the message its job left in status.json (the GAN step's "trained on scikit-learn 8x8
digits, not MNIST") when the tour writes the step's status, and the tour's output prints it."""

from __future__ import annotations

import json
import time

import vislab.tour as tour
from vislab import jobs
from vislab.backbones.classify_job import ClassifySettings

WARNING = "trained on scikit-learn's 8x8 digits (upscaled), not MNIST: MNIST was not found"


def _job_with_a_message(run_dir, s):
    """A step that runs a job which finishes with a message, as the GAN training does without MNIST."""
    run = jobs.start_run("classify", ClassifySettings(images=["sample:coffee"]), run_dir, command="vislab fake")
    jobs.finish_run(jobs.JobResult(run, status="ok"), time.perf_counter(), f"{WARNING}\nsecond line")


def _job_without(run_dir, s):
    run = jobs.start_run("classify", ClassifySettings(images=["sample:coffee"]), run_dir, command="vislab fake")
    jobs.finish_run(jobs.JobResult(run, status="ok"), time.perf_counter())


def _failing(run_dir, s):
    _job_with_a_message(run_dir, s)
    raise ValueError("broke after its job")


def test_the_jobs_message_is_kept_and_printed(tmp_path, monkeypatch, cli):
    monkeypatch.setattr(tour, "steps", lambda: [("gan", _job_with_a_message), ("plain", _job_without),
                                                ("broken", _failing)])
    res = cli("tour", "--out", tmp_path / "t", "--device", "cpu")
    assert res.rc == 1  # the broken step
    status = {d.name: json.loads((d / "status.json").read_text()) for d in sorted((tmp_path / "t").glob("0*"))}
    assert status["01-gan"]["status"] == "ok" and status["01-gan"]["message"] == f"{WARNING}\nsecond line"
    assert status["01-gan"]["step"] == "gan" and "seconds" in status["01-gan"]  # the tour's own fields too
    assert status["02-plain"]["message"] == ""
    assert status["03-broken"]["message"] == "ValueError: broke after its job"  # the failure, not the job's words
    lines = res.err.splitlines()
    assert any(line.startswith("tour [1/3] gan: ok (") and line.endswith(f"s): {WARNING}") for line in lines), lines
    assert any(line.startswith("tour [2/3] plain: ok (") and line.endswith(" s)") for line in lines), lines
    assert any(line.endswith("s): ValueError: broke after its job") for line in lines), lines
