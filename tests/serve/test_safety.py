"""The safety rules: nothing outside the runs folder can be read or written, bad uploads are refused with a
message, forms cannot name files, modules or devices, other sites cannot post to the server."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from .conftest import H, make_client, png_bytes


@pytest.fixture
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text("do not serve me")
    return p


def test_names_leading_out_of_the_runs_folder_are_refused(server, secret):
    run = server.run("classify", images=["sample:coffee"], topk=1)["run"]
    (server.root / "link-out").symlink_to(secret.parent)
    (server.root / run / "escape.txt").symlink_to(secret)
    os.mkfifo(server.root / run / "pipe.png")
    for url in ["/runs/../secret.txt", "/runs/%2e%2e/secret.txt", "/runs/..%2Fsecret.txt",
                f"/runs/{run}/../../secret.txt", f"/runs//{secret}", f"/runs/{run}/%2Fetc%2Fpasswd",
                "/runs/link-out/secret.txt", f"/runs/{run}/escape.txt", f"/runs/{run}/pipe.png",
                "/runs/.uploads/x.png", "/uploads/..%2F..%2Fsecret.txt", "/uploads/0123.png",
                f"/api/view/{run}/../..", "/runs/link-out/report", "/static/..%2Findex.html"]:
        r = server.c.get(url)
        assert r.status_code in (404, 400), (url, r.status_code)
        assert "do not serve me" not in r.text
    assert server.c.get(f"/runs/{run}/config.json").status_code == 200


def test_run_files_linking_out_or_special_are_not_read(server, tmp_path):
    """The history and the result view read a run's JSON as the report does: a status.json that links out of
    its run, or is a FIFO (opening it would hang), is not read."""
    outside = tmp_path / "outside.json"
    outside.write_text('{"status": "ok", "message": "read from outside"}')
    for name, make in [("linked", lambda p: p.symlink_to(outside)), ("fifo", os.mkfifo)]:
        (server.root / name).mkdir()
        (server.root / name / "config.json").write_text('{"kind": "classify"}')
        make(server.root / name / "status.json")
    assert {r["id"]: r["status"] for r in server.c.get("/api/runs").json()} == {"linked": "incomplete",
                                                                              "fifo": "incomplete"}
    for name in ("linked", "fifo"):
        assert server.c.get(f"/api/view/{name}").json()["status"] is None


@pytest.mark.parametrize("settings, fragment", [
    ({"images": ["/etc/passwd"]}, "no such image '/etc/passwd'"),
    ({"images": ["upload:../../secret"]}, "no such image"),
    ({"images": ["sample:coffee"], "output": "/tmp/x.png"}, "output cannot be set"),
    ({"images": ["sample:coffee"], "weights": "/tmp/w.pt"}, "weights cannot be set"),
    ({"images": ["sample:coffee"], "model": "os:system"}, "model must be one of"),
    ({"images": ["sample:coffee"], "device": "cuda"}, "device cannot be set"),
    ({"images": ["sample:coffee"], "topk": 0}, "topk"),
    ({"images": "sample:coffee"}, "images"),
    ({"images": ["sample:coffee"] * 33}, "at most 32"),
])
def test_forms_cannot_name_files_modules_or_bad_values(server, settings, fragment):
    r = server.submit("classify", **settings)
    assert r.status_code == 422 and fragment in r.json()["error"], r.text
    assert not [p for p in server.root.iterdir() if not p.name.startswith(".")]  # no run folder was made


def test_other_inputs_that_could_name_files(server, tmp_path):
    r = server.submit("style", content="sample:chelsea", styles=["sample:astronaut"], init="/etc/passwd")
    assert r.status_code == 422 and "init must be one of content, recolored, noise" in r.json()["error"]
    r = server.submit("caption", images=["sample:coffee"], checkpoint="../../etc")
    assert r.status_code == 422 and "no such run" in r.json()["error"]
    assert server.submit("nope").status_code == 422
    bad = server.c.post("/api/jobs", content=b"{not json", headers=H)
    assert bad.status_code == 422 and "JSON" in bad.json()["error"]
    huge = server.c.post("/api/jobs", content=b"[" * 200_000, headers=H)
    assert huge.status_code == 413 and "larger than" in huge.json()["error"]
    deep = server.c.post("/api/jobs", content=b"[" * 30_000 + b"]" * 30_000, headers=H)  # nested too deep
    assert deep.status_code == 422 and "JSON" in deep.json()["error"]


def _upload_error(server, data: bytes, status: int, fragment: str) -> None:
    r = server.upload(data)
    assert r.status_code == status, (r.status_code, r.text)
    message = r.json()["error"]
    assert fragment in message and "\n" not in message, message
    assert str(server.root) not in message  # the server's own paths are not shown
    assert not any(p.suffix == ".part" for p in (server.root / ".uploads").iterdir())


def test_bad_uploads_are_refused_with_a_message(server, monkeypatch):
    _upload_error(server, b"", 422, "empty")
    _upload_error(server, b"hello, I am text\n" * 10, 422, "not an image")
    _upload_error(server, png_bytes(np.zeros((1, 1, 3), np.uint8)), 422, "at least 16 pixels")
    _upload_error(server, png_bytes(np.zeros((40, 40, 3), np.uint8))[:60], 422, "corrupt")
    monkeypatch.setenv("VISLAB_MAX_PIXELS", "1000")  # the same limit (and message) as every command
    _upload_error(server, png_bytes(np.zeros((40, 40, 3), np.uint8)), 422, "decompression bomb")


def test_a_real_decompression_bomb_is_refused_before_decoding(server):
    buf = io.BytesIO()
    Image.new("1", (12_000, 9_000)).save(buf, format="PNG")  # 108 megapixels in ~14 kB
    assert len(buf.getvalue()) < 200_000
    _upload_error(server, buf.getvalue(), 422, "decompression bomb")


def test_uploads_over_the_byte_limit_are_cut_off(tmp_path):
    with make_client(tmp_path / "runs", max_upload_bytes=10_000) as c:
        data = png_bytes(np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8))
        r = c.post("/api/uploads", content=data, headers=H)
        assert r.status_code == 413 and "larger than" in r.json()["error"]

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(20):
                yield b"\0" * 1000

        r = c.post("/api/uploads", content=chunks(), headers=H)
        assert r.status_code == 413
        assert not any((tmp_path / "runs" / ".uploads").iterdir())


def test_posts_need_the_header_and_a_local_host_name(server):
    r = server.c.post("/api/jobs", json={"kind": "classify", "settings": {"images": ["sample:coffee"]}})
    assert r.status_code == 403 and "X-Vislab" in r.json()["error"]
    assert server.c.get("/api/info", headers={"Host": "evil.example"}).status_code == 400
    page = server.c.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched from elsewhere
    js = server.c.get("/static/app.js").text + server.c.get("/static/app.css").text
    assert "http://" not in js and "https://" not in js


def test_a_missing_required_setting_is_named(server):
    r = server.submit("fool", image="sample:chelsea")
    assert r.status_code == 422 and r.json()["error"] == "target must be given for a fool job"
