"""Fixtures for the server tests: an in-process app on a temporary runs folder, and helpers to drive it."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

try:
    with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what every FastAPI user has
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
except ImportError:  # the extra is not installed (`pip install "vislab[serve]" httpx`): those tests skip
    TestClient = None

H = {"X-Vislab": "1"}


class Driver:
    def __init__(self, client: TestClient, root: Path) -> None:
        self.c, self.root = client, root

    def submit(self, kind: str, **settings):
        return self.c.post("/api/jobs", json={"kind": kind, "settings": settings}, headers=H)

    def run(self, kind: str, timeout: float = 120, **settings) -> dict:
        r = self.submit(kind, **settings)
        assert r.status_code == 202, r.text
        return self.wait(r.json()["id"], timeout)

    def wait(self, job_id: str, timeout: float = 120, until=("ok", "cancelled", "failed", "interrupted")) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.c.get(f"/api/jobs/{job_id}").json()
            if s["state"] in until:
                return s
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {s['state']} after {timeout} s")

    def upload(self, data: bytes):
        return self.c.post("/api/uploads", content=data, headers={**H, "Content-Type": "application/octet-stream"})


def make_client(root: Path, **kwargs) -> TestClient:
    if TestClient is None:
        pytest.skip('needs the serve extra and httpx: pip install "vislab[serve]" httpx')
    from vislab.serve import create_app

    kwargs.setdefault("hosts", ["testserver"])  # TestClient's Host name: answered only when a test asks for it
    return TestClient(create_app(root, **kwargs))


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "runs"
    with make_client(root, workers=1, threads=1) as c:
        yield Driver(c, root)


def png_bytes(arr) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()
