"""Issue 22, writing and reading: no write ever goes through a link planted in a run folder (CLI and server), no
file vislab did not make is emptied, no malformed run folder makes a view answer 500, no GET writes, other sites
are refused, the queue and uploads are bounded, a client hanging up leaves no traceback, ``testserver`` is a Host
only when a test asks for it."""

from __future__ import annotations

import asyncio
import json
import os

import numpy as np
import pytest
import torch

from vislab import runs
from vislab.errors import ConfigError
from vislab.fileio import LinkRefused, write_json, write_text

from .conftest import H, make_client, png_bytes

PRECIOUS = "precious: not vislab's\n"


@pytest.fixture
def outside(tmp_path):
    """A file and a folder outside every run folder, which must come out of each test untouched."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "precious.txt").write_text(PRECIOUS)
    return d


def _untouched(outside, *also_missing):
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert (outside / "precious.txt").read_text() == PRECIOUS
    for p in also_missing:
        assert not os.path.lexists(p), p


# -- locks ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("plant", ["link to a file", "dangling link", "foreign file", "hard link"])
def test_the_lock_never_empties_or_creates_a_file_it_did_not_make(tmp_path, outside, plant):
    run = tmp_path / "run"
    run.mkdir()
    lock = run / runs.LOCK_NAME
    if plant == "link to a file":
        lock.symlink_to(outside / "precious.txt")
    elif plant == "dangling link":
        lock.symlink_to(outside / "created.txt")
    elif plant == "foreign file":
        lock.write_text(PRECIOUS)
    else:
        os.link(outside / "precious.txt", lock)
    with pytest.raises(ConfigError, match="lock file"):
        runs.lock_run_dir(run)
    _untouched(outside, outside / "created.txt")
    if plant == "foreign file":
        assert lock.read_text() == PRECIOUS
    with pytest.raises(ConfigError, match="lock file"):  # the CLI's way in: one line, the same refusal
        runs.make_run_dir(run, "classify", resume=True)
    _untouched(outside)


def test_a_real_lock_is_taken_again_after_a_crash(tmp_path):
    """A lock file vislab left (a pid, or empty after release) is still reused."""
    run = tmp_path / "run"
    run.mkdir()
    (run / runs.LOCK_NAME).write_text("12345")
    runs.lock_run_dir(run)
    try:
        assert (run / runs.LOCK_NAME).read_text() == str(os.getpid())
    finally:
        runs.release_run_dir(run)
    assert (run / runs.LOCK_NAME).read_text() == ""


# -- the files of a run ------------------------------------------------------------------------------------

@pytest.fixture
def locked_run(tmp_path):
    run = runs.make_run_dir(tmp_path / "run", "classify")
    yield run
    runs.release_run_dir(run)


def _writers():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vislab.fileio import save_figure
    from vislab.images import save_image

    return {
        "write_json": lambda p: write_json(p.with_suffix(".json"), {"a": 1}),
        "write_text": lambda p: write_text(p.with_suffix(".txt"), "x"),
        "save_image": lambda p: save_image(torch.zeros(3, 4, 4), p.with_suffix(".png")),
        "save_figure": lambda p: save_figure(plt.figure(figsize=(1, 1)), p.with_suffix(".png")),
        "save_checkpoint": lambda p: runs.save_checkpoint({"w": torch.ones(2)}, p.with_suffix(".pt"), kind="t"),
        "write_config": lambda p: runs.write_config(p.parent, {"a": 1}, command="vislab test"),
    }


@pytest.mark.parametrize("writer", sorted(_writers()))
def test_no_writer_goes_through_a_linked_folder_inside_the_run(locked_run, outside, writer):
    (locked_run / "samples").symlink_to(outside)
    with pytest.raises(LinkRefused, match="symlink"):
        _writers()[writer](locked_run / "samples" / "out")
    _untouched(outside)


@pytest.mark.parametrize("writer", sorted(_writers()))
def test_a_link_at_the_target_is_replaced_never_written_through(locked_run, outside, writer):
    names = {"write_json": "out.json", "write_text": "out.txt", "save_image": "out.png", "save_figure": "out.png",
             "save_checkpoint": "out.pt", "write_config": "config.json"}
    target = locked_run / names[writer]
    target.symlink_to(outside / "precious.txt")
    _writers()[writer](locked_run / "out")
    assert target.is_file() and not target.is_symlink()
    _untouched(outside)


def test_metrics_are_never_appended_through_a_link(locked_run, outside):
    log = runs.MetricsLog(locked_run)
    log.log(0, loss=1.0)
    (locked_run / "metrics.jsonl").unlink()
    (locked_run / "metrics.jsonl").symlink_to(outside / "precious.txt")
    with pytest.raises(LinkRefused, match="symlink"):
        log.log(1, loss=0.5)
    (locked_run / "metrics.jsonl").unlink()
    os.link(outside / "precious.txt", locked_run / "metrics.jsonl")
    with pytest.raises(LinkRefused, match="hard link"):
        log.log(2, loss=0.25)
    _untouched(outside)
    (locked_run / "metrics.jsonl").unlink()
    os.mkfifo(locked_run / "metrics.jsonl")  # opening it for writing would block or fail
    with pytest.raises(LinkRefused, match="not a regular file"):
        log.log(3, loss=0.125)


def test_a_cli_job_refuses_a_planted_lock_in_one_line(cli, tmp_path, outside):
    from tests.conftest import assert_one_line_error

    run = tmp_path / "run"
    run.mkdir()
    (run / runs.LOCK_NAME).symlink_to(outside / "precious.txt")
    assert_one_line_error(cli("classify", "sample:coffee", "--out", str(run)), "lock file", "symlink")
    _untouched(outside)


# -- the server's writes -------------------------------------------------------------------------------------

def _abandoned(root, name):
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"kind": "classify", "command": f"vislab serve (classify job {name})",
                                                 "config": {}}))
    return run


def test_recovery_at_start_never_writes_through_links(tmp_path, outside):
    root = tmp_path / "runs"
    locked = _abandoned(root, "locked")
    (locked / runs.LOCK_NAME).symlink_to(outside / "precious.txt")
    dangling = _abandoned(root, "dangling")
    (dangling / runs.LOCK_NAME).symlink_to(outside / "created.txt")
    status_link = _abandoned(root, "status-link")
    (status_link / "status.json").symlink_to(outside / "status.json")  # dangling: "no status yet"
    with make_client(root, workers=1, threads=1) as c:
        rows = {r["id"]: r["status"] for r in c.get("/api/runs").json()}
    _untouched(outside, outside / "created.txt", outside / "status.json")
    assert rows["locked"] == rows["dangling"] == "incomplete"  # left alone: their lock could not be taken
    assert json.loads((status_link / "status.json").read_text())["status"] == "interrupted"
    assert not (status_link / "status.json").is_symlink()


def test_a_planted_uploads_folder_is_refused(tmp_path, outside):
    root = tmp_path / "runs"
    root.mkdir()
    (root / ".uploads").symlink_to(outside)
    with make_client(root, workers=1, threads=1) as c:
        r = c.post("/api/uploads", content=png_bytes(np.zeros((20, 20, 3), np.uint8)), headers=H)
        assert r.status_code == 409 and ".uploads is a symlink" in r.json()["error"]
        token = "0" * 32
        (outside / f"{token}.png").write_bytes(png_bytes(np.zeros((20, 20, 3), np.uint8)))
        assert c.get(f"/uploads/{token}.png").status_code == 404
        r = c.post("/api/jobs", json={"kind": "classify", "settings": {"images": [f"upload:{token}"]}}, headers=H)
        assert r.status_code == 422 and "no such image" in r.json()["error"]
    (outside / f"{token}.png").unlink()
    _untouched(outside)


def test_uploads_are_stored_through_the_folder_not_its_name(server, outside):
    """The upload is written relative to the folder opened at the start: swapping ``.uploads`` for a link
    while the body arrives changes nothing outside."""
    from vislab.serve import uploads

    body = png_bytes(np.zeros((20, 20, 3), np.uint8))

    async def chunks():
        yield body[:10]
        (server.root / ".uploads").rename(server.root / "moved")
        (server.root / ".uploads").symlink_to(outside)
        yield body[10:]

    uploads.uploads_dir(server.root)
    with pytest.raises(uploads.UploadError):  # decoding reads by name, and the name now leads elsewhere
        asyncio.run(uploads.receive(server.root, chunks(), declared=None, max_bytes=10**6))
    _untouched(outside)
    assert not list((server.root / "moved").iterdir())  # nothing left half-written either


# -- views that cannot 500 -----------------------------------------------------------------------------------

MALFORMED = [
    ("classify", "status.json", [1, 2]),
    ("classify", "status.json", {"status": "ok", "files": ["a.png"]}),
    ("classify", "status.json", {"status": "ok", "numbers": [1]}),
    ("classify", "status.json", {"status": 5}),
    ("classify", "predictions.json", {"a": 1}),
    ("classify", "predictions.json", [{"image": 3, "top": 5}]),
    ("fool", "config.json", [1]),
    ("fool", "config.json", {"kind": "fool", "config": [1]}),
    ("fool", "result.json", [1]),
    ("gan-eval", "eval.json", [1, 2]),
    ("caption", "captions.json", 5),
    ("gan-sample", "config.json", {"kind": "gan-sample", "config": "x"}),
    ("gan-sample", "config.json", {"kind": "gan-sample", "config": {"checkpoint": ["x"]}}),
]


@pytest.mark.parametrize("kind, name, content", MALFORMED)
def test_a_malformed_run_shows_as_unreadable_never_an_error_page(server, kind, name, content):
    run = server.root / "copied"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": kind, "command": "vislab x", "config": {"image": 1}}))
    (run / "status.json").write_text(json.dumps({"status": "ok", "files": {}, "numbers": {"loss": 1.5}}))
    (run / name).write_text(json.dumps(content))
    if kind == "gan-sample":  # the sample view looks for an evaluation of the same checkpoint
        (server.root / "gan-eval-1").mkdir()
        (server.root / "gan-eval-1" / "eval.json").write_text("[1, 2]")
    view = server.c.get("/api/view/copied")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["status"] == "unreadable" and name in body["message"], body
    rows = server.c.get("/api/runs")
    assert rows.status_code == 200
    listed = {r["id"]: r for r in rows.json()}["copied"]
    assert listed["status"] == ("unreadable" if name == "status.json" else "ok")
    assert server.c.get("/runs/copied/report").status_code == 200


def test_a_well_formed_copied_run_still_shows_its_results(server):
    run = server.root / "copied"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": "classify", "command": "vislab classify", "config": {}}))
    (run / "status.json").write_text(json.dumps({"status": "ok", "files": {}, "numbers": {"n": 1}}))
    (run / "predictions.json").write_text(json.dumps([{"image": "/x/cat.png", "top": [{"name": "tabby",
                                                                                    "prob": 0.5}]}]))
    body = server.c.get("/api/view/copied").json()
    assert body["status"] == "ok" and body["table"] == [{"name": "tabby", "prob": 0.5, "image": "cat.png"}]
    assert body["numbers"] == {"n": 1}


# -- GETs never write; other sites are refused ---------------------------------------------------------------

def _a_run(root):
    run = root / "classify-1"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"kind": "classify", "command": "vislab classify x",
                                                 "config": {"topk": 1}}))
    (run / "status.json").write_text(json.dumps({"status": "ok", "files": {"image": "a.png"}, "numbers": {}}))
    (run / "a.png").write_bytes(png_bytes(np.zeros((20, 20, 3), np.uint8)))
    (run / "index.html").write_text("<p>my own notes</p>")
    return run


def test_the_report_is_rendered_in_memory_not_over_the_runs_files(server):
    run = _a_run(server.root)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()}
    r = server.c.get("/runs/classify-1/report", follow_redirects=False)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = r.headers["content-security-policy"]
    assert "sandbox" in csp and "allow-scripts" not in csp and "allow-forms" not in csp
    assert 'src="a.png"' in r.text and "my own notes" not in r.text  # links relative to the run, as index.html's
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()} == before


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://testserver:8080"}])
def test_requests_from_other_sites_are_refused(server, headers):
    _a_run(server.root)
    for url in ["/runs/classify-1/report", "/runs/classify-1/a.png", "/api/info", "/api/runs",
                "/api/view/classify-1", "/api/sample/coffee"]:
        r = server.c.get(url, headers=headers)
        assert r.status_code == 403 and "other sites" in r.json()["error"], (url, r.status_code)
    r = server.c.post("/api/jobs", json={"kind": "classify", "settings": {"images": ["sample:coffee"]}},
                      headers={**H, **headers})
    assert r.status_code == 403
    assert server.c.get("/", headers=headers).status_code == 200  # a link to the page itself still opens it
    assert not list(server.c.get("/api/jobs").json())


def test_the_pages_own_requests_pass(server):
    _a_run(server.root)
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    assert server.c.get("/runs/classify-1/report", headers=same).status_code == 200
    assert server.c.get("/api/runs", headers={"Sec-Fetch-Site": "none"}).status_code == 200


# -- bounded -------------------------------------------------------------------------------------------------

def test_a_full_queue_answers_429(tmp_path, monkeypatch):
    from vislab.serve import capabilities

    from .test_queue import Gate, _wait

    gate = Gate()
    monkeypatch.setattr(capabilities, "runner", lambda kind: gate)
    with make_client(tmp_path / "runs", workers=1, threads=1, max_waiting=2) as c:
        try:
            form = {"kind": "classify", "settings": {"images": ["sample:coffee"]}}
            assert c.post("/api/jobs", json=form, headers=H).status_code == 202
            _wait(lambda: gate.running == 1)
            assert [c.post("/api/jobs", json=form, headers=H).status_code for _ in range(2)] == [202, 202]
            r = c.post("/api/jobs", json=form, headers=H)
            assert r.status_code == 429 and "queue is full (2 jobs waiting)" in r.json()["error"]
        finally:
            gate.open.set()


def test_the_queue_starts_a_job_only_when_its_memory_fits(tmp_path):
    from vislab.serve.queue import JobQueue

    from .test_queue import Gate, _settings, _wait

    gate, q = Gate(), JobQueue(tmp_path, 2, max_memory=100)
    try:
        big = [q.submit("classify", _settings(), gate, memory=60) for _ in range(2)]
        _wait(lambda: gate.running == 1)
        assert q.position(big[1]) == 1  # a free worker, but 60 + 60 > 100: it waits
        small = q.submit("classify", _settings(), gate, memory=40)
        assert q.position(small) == 2  # first come, first served: no overtaking
        gate.open.set()
        _wait(lambda: all(j.is_final for j in [*big, small]))
        assert gate.most <= 2 and all(j.state == "ok" for j in [*big, small])
    finally:
        gate.open.set()
        q.shutdown()


def test_a_slow_upload_is_cut_off(tmp_path):
    from vislab.serve import uploads

    async def trickle():
        for _ in range(100):
            await asyncio.sleep(0.05)
            yield b"x"

    with pytest.raises(uploads.UploadError, match="took longer than 0.2 s") as e:
        asyncio.run(uploads.receive(tmp_path, trickle(), declared=None, max_bytes=10**6, deadline=0.2))
    assert e.value.status == 408
    assert not list((tmp_path / ".uploads").iterdir())


def test_a_client_hanging_up_mid_upload_leaves_no_traceback(tmp_path, capsys):
    from vislab.serve import create_app

    app = create_app(tmp_path / "runs", workers=1, threads=1)
    sent, messages = [], iter([{"type": "http.request", "body": b"\x89PNG" * 100, "more_body": True},
                               {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/uploads", "raw_path": b"/api/uploads", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"x-vislab", b"1")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 7860)}
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        app.state.queue.shutdown()
    assert sent and sent[0]["status"] == 400
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out and "ClientDisconnect" not in out.err + out.out
    assert not list((tmp_path / "runs" / ".uploads").iterdir())


def test_testserver_is_a_host_name_only_when_a_test_asks(tmp_path):
    from fastapi.testclient import TestClient

    from vislab.serve import create_app

    with TestClient(create_app(tmp_path / "runs", workers=1, threads=1)) as c:
        assert c.get("/api/info").status_code == 400
        assert c.get("/api/info", headers={"Host": "127.0.0.1:7860"}).status_code == 200
    with make_client(tmp_path / "runs", workers=1, threads=1) as c:  # conftest passes hosts=["testserver"]
        assert c.get("/api/info").status_code == 200


def test_slow_and_silent_connections_are_closed(tmp_path, monkeypatch):
    """A real server (uvicorn, as `vislab serve` configures it): a connection that sends nothing, or its headers
    a byte at a time, is closed once the head deadline passes; a normal request on a kept-alive connection is
    still answered."""
    import socket
    import threading
    import time

    import uvicorn

    from vislab.serve import bind, create_app, uvicorn_config
    from vislab.serve.protocol import DeadlineH11Protocol

    monkeypatch.setattr(DeadlineH11Protocol, "head_seconds", 0.5)
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(create_app(tmp_path / "runs", workers=1, threads=1)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)

        def closed_after(send: bytes, seconds: float) -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(send)
                c.settimeout(seconds)
                try:
                    return c.recv(100) == b""  # the server closed it without an answer
                except TimeoutError:
                    return False

        assert closed_after(b"", 3)
        assert closed_after(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a", 3)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert c.recv(12) == b"HTTP/1.1 200"
    finally:
        server.should_exit = True
        thread.join(30)
