"""The queue: at most `workers` jobs at once, each waiting job knows its place, cancel works both waiting and
running, and stopping the server marks every unfinished job interrupted with its folder complete."""

from __future__ import annotations

import json
import threading
import time

import pytest

from vislab import jobs
from vislab.report import scan_run
from vislab.serve.queue import JobQueue

from .conftest import make_client


class Gate:
    """A job that follows the contract (folder, progress, stop, status) and waits until let through."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, settings, out, *, progress=None, should_stop=None, command=None):
        run_dir = jobs.start_run("classify", settings, out, command=command)
        started = time.perf_counter()
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        status, step = "ok", 0
        try:
            while not self.open.wait(0.01):
                if should_stop():
                    status = "cancelled"
                    break
                step += 1
                progress(step, None, loss=1.0 / step)
        finally:
            with self.lock:
                self.running -= 1
        return jobs.finish_run(jobs.JobResult(run_dir, status=status), started)


def _settings():
    from vislab.backbones.classify_job import ClassifySettings

    return ClassifySettings(images=["sample:coffee"])


def _wait(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("workers", [1, 2])
def test_at_most_workers_run_and_the_rest_know_their_place(tmp_path, workers):
    gate, q = Gate(), JobQueue(tmp_path, workers)
    try:
        js = [q.submit("classify", _settings(), gate) for _ in range(4)]
        _wait(lambda: gate.running == workers)  # inside the job, not only taken off the queue
        assert [q.position(j) for j in js] == [None] * workers + list(range(1, 5 - workers))
        q.cancel(js[workers])  # a waiting job leaves the line; the ones behind move up
        assert js[workers].state == "cancelled" and not js[workers].run_dir.exists()
        assert [q.position(j) for j in js[workers + 1:]] == list(range(1, 4 - workers))
        gate.open.set()
        _wait(lambda: all(j.is_final for j in js))
        assert gate.most == workers
        assert [j.state for j in js] == ["ok"] * workers + ["cancelled"] + ["ok"] * (3 - workers)
    finally:
        gate.open.set()
        q.shutdown()


def test_cancel_a_running_job(tmp_path):
    gate, q = Gate(), JobQueue(tmp_path, 1)
    try:
        j = q.submit("classify", _settings(), gate)
        _wait(lambda: j.step > 2)
        assert j.numbers["loss"] == pytest.approx(1.0 / j.step, rel=0.5)
        q.cancel(j)
        _wait(lambda: j.is_final)
        assert j.state == "cancelled"
        assert json.loads((j.run_dir / "status.json").read_text())["status"] == "cancelled"
    finally:
        q.shutdown()


def test_shutdown_marks_running_and_waiting_jobs_interrupted(tmp_path):
    gate, q = Gate(), JobQueue(tmp_path, 1)
    running = q.submit("classify", _settings(), gate)
    waiting = q.submit("classify", _settings(), gate)
    _wait(lambda: running.step > 0)
    q.shutdown()
    assert running.state == waiting.state == "interrupted"
    for j in (running, waiting):
        status = json.loads((j.run_dir / "status.json").read_text())
        assert status["status"] == "interrupted" and status["message"]
        info = scan_run(j.run_dir)  # `vislab report` reads the folder and names the state
        assert info.state == "interrupted" and "classify" in (info.command or "")
    with pytest.raises(Exception, match="stopping"):
        q.submit("classify", _settings(), gate)


def test_a_real_style_job_cancelled_through_the_api(tmp_path):
    with make_client(tmp_path / "runs", workers=1, threads=1) as c:
        from .conftest import Driver

        d = Driver(c, tmp_path / "runs")
        r = d.submit("style", content="sample:chelsea", styles=["sample:hubble_deep_field"], image_size=32,
                     iterations=5000)
        job = d.wait(r.json()["id"], until=("running",))
        deadline = time.monotonic() + 60
        while c.get(f"/api/jobs/{job['id']}").json()["step"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        s = c.post(f"/api/jobs/{job['id']}/cancel", headers={"X-Vislab": "1"}).json()
        s = d.wait(s["id"])
        assert s["state"] == "cancelled" and 2 <= s["step"] < 5000
        assert (tmp_path / "runs" / s["run"] / "result.png").is_file()
        assert s["result"]["status"] == "cancelled"


def test_stopping_the_app_interrupts_a_real_job_and_keeps_its_folder(tmp_path):
    with make_client(tmp_path / "runs", workers=1, threads=1) as c:
        from .conftest import Driver

        d = Driver(c, tmp_path / "runs")
        first = d.submit("dream", class_="tarantula", steps=100000, size=32).json()["id"]
        second = d.submit("classify", images=["sample:coffee"]).json()
        assert second["position"] in (1, 2)
        d.wait(first, until=("running",))
    for run in (first, second["id"]):
        status = json.loads((tmp_path / "runs" / run / "status.json").read_text())
        assert status["status"] == "interrupted", (run, status)
    assert (tmp_path / "runs" / first / "dream.png").is_file()


def test_a_job_failing_midway_says_so_in_its_folder(tmp_path, capsys):
    from vislab.errors import DataError

    def broken(settings, out, *, progress, should_stop, command):
        jobs.start_run("classify", settings, out, command=command)
        raise DataError("images.zip: truncated")

    def buggy(settings, out, *, progress, should_stop, command):
        raise ZeroDivisionError("oops")

    q = JobQueue(tmp_path, 1)
    try:
        a, b = q.submit("classify", _settings(), broken), q.submit("classify", _settings(), buggy)
        _wait(lambda: a.is_final and b.is_final)
    finally:
        q.shutdown()
    assert (a.state, a.message) == ("failed", "images.zip: truncated")
    status = json.loads((a.run_dir / "status.json").read_text())
    assert status == {"status": "failed", "message": "images.zip: truncated"}
    assert b.state == "failed" and b.message == "internal error: ZeroDivisionError: oops"
    assert not b.run_dir.exists() and "ZeroDivisionError" in capsys.readouterr().err  # the traceback is logged


def test_old_finished_jobs_are_forgotten_but_their_folders_stay(tmp_path, monkeypatch):
    from vislab.serve import queue as queue_module

    monkeypatch.setattr(queue_module, "KEEP_JOBS", 3)
    gate, q = Gate(), JobQueue(tmp_path, 1)
    gate.open.set()
    try:
        js = []
        for _ in range(5):
            js.append(q.submit("classify", _settings(), gate))
            _wait(lambda: js[-1].is_final)
        assert list(q.jobs) == [j.id for j in js[-3:]]
        assert all((j.run_dir / "status.json").is_file() for j in js)
    finally:
        q.shutdown()
