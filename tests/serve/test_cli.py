"""`vislab serve` from the command line: its flags and one-line errors, a real server process stopped with
SIGTERM (finished runs kept, unfinished ones marked interrupted), and the start-up check that marks what a
killed server left unfinished."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import assert_one_line_error

from .conftest import H, make_client


def test_help_names_the_flags(cli):
    r = cli("serve", "--help")
    assert r.rc == 0
    for flag in ("--host", "--port", "--runs", "--workers"):
        assert flag in r.out


def test_bad_flags_are_one_line_errors(cli):
    assert_one_line_error(cli("serve", "--port", "70000"), "--port")
    assert_one_line_error(cli("serve", "--workers", "0"), "--workers")


def test_a_taken_port_is_a_one_line_error(cli, tmp_path):
    pytest.importorskip("uvicorn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = cli("serve", "--port", str(port), "--runs", str(tmp_path / "r"))
        assert_one_line_error(r, "--port", "cannot listen")


def test_a_runs_folder_that_is_a_file_is_a_one_line_error(cli, tmp_path):
    pytest.importorskip("uvicorn")
    (tmp_path / "runs").write_text("not a folder")
    assert_one_line_error(cli("serve", "--port", "0", "--runs", str(tmp_path / "runs")), str(tmp_path / "runs"))


def test_threads_auto_is_accepted(cli, tmp_path, monkeypatch):
    """``VISLAB_THREADS=auto`` means "choose" (as for every command): serving goes on to bind the port."""
    pytest.importorskip("uvicorn")
    monkeypatch.setenv("VISLAB_THREADS", "auto")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        r = cli("serve", "--port", str(s.getsockname()[1]), "--runs", str(tmp_path / "r"))
        assert_one_line_error(r, "--port", "cannot listen")


def test_without_the_extra_the_message_says_how_to_install_it(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    assert_one_line_error(cli("serve"), 'pip install "vislab[serve]"')


def _get(port: int, path: str, method: str = "GET", body: bytes | None = None) -> dict:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers={**H, "Content-Type": "application/json"})
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def test_sigterm_stops_the_server_and_marks_unfinished_jobs(tmp_path):
    pytest.importorskip("uvicorn")
    env = {**os.environ, "VISLAB_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "vislab", "serve", "--port", "0", "--runs", str(tmp_path),
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("vislab serve: http://127.0.0.1:"), line + proc.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        done = _get(port, "/api/jobs", "POST", json.dumps({"kind": "classify", "settings": {
            "images": ["sample:coffee"]}}).encode())
        long = _get(port, "/api/jobs", "POST", json.dumps({"kind": "dream", "settings": {
            "class_": "tarantula", "steps": 100000, "size": 32}}).encode())
        waiting = _get(port, "/api/jobs", "POST", json.dumps({"kind": "classify", "settings": {
            "images": ["sample:coffee"]}}).encode())
        deadline = time.monotonic() + 60
        while _get(port, f"/api/jobs/{long['id']}")["step"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert _get(port, f"/api/jobs/{waiting['id']}")["position"] == 1
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "2 unfinished job(s) marked interrupted" in out
    states = {j: json.loads((tmp_path / j / "status.json").read_text())["status"]
              for j in (done["id"], long["id"], waiting["id"])}
    assert states == {done["id"]: "ok", long["id"]: "interrupted", waiting["id"]: "interrupted"}
    assert (tmp_path / long["id"] / "dream.png").is_file()


def test_start_up_marks_what_a_killed_server_left(tmp_path):
    from vislab.runs import write_config

    for name, command in [("classify-1", "vislab serve (classify job classify-1)"), ("cli-run", "vislab dream")]:
        (tmp_path / name).mkdir()
        write_config(tmp_path / name, {}, command=command, kind="classify")
    with make_client(tmp_path):
        pass
    status = json.loads((tmp_path / "classify-1" / "status.json").read_text())
    assert status["status"] == "interrupted"
    assert not (tmp_path / "cli-run" / "status.json").exists()  # not ours: left alone


def test_previews_reach_the_page(server):
    from vislab.backbones.classify_job import ClassifySettings
    from vislab.images import to_uint8
    from vislab.serve.job import PREVIEW_EVERY

    picture = torch.linspace(0, 1, 3 * 20 * 30).reshape(3, 20, 30)
    queue = server.c.app.state.queue

    def painter(settings, out, *, progress, should_stop, command):
        progress(1, 2, loss=0.5, preview=picture)
        time.sleep(PREVIEW_EVERY)
        progress(2, 2, loss=0.25, preview=picture.flip(2), note="not a number")
        from vislab import jobs

        return jobs.JobResult(out, status="ok")

    job = queue.submit("classify", ClassifySettings(images=["sample:coffee"]), painter)
    s = server.wait(job.id)
    assert s["numbers"] == {"loss": 0.25} and s["preview"]
    import io

    import numpy as np
    from PIL import Image

    png = server.c.get(s["preview"])
    assert png.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png.content))), to_uint8(picture.flip(2)))
    assert server.c.get("/api/jobs/nope/preview").status_code == 404


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    monkeypatch.setenv("VISLAB_THREADS", "1")
