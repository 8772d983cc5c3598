"""The quick tour end to end on the GPU (every step ok), and one job through the web server on the GPU (the server
picks the device: auto) against the library on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DEVICE, skip_without_device

skip_without_device()
pytestmark = pytest.mark.gpu
REPO = Path(__file__).resolve().parents[2]


def test_quick_tour_runs_every_step_on_the_gpu(tmp_path):
    out = tmp_path / "tour"
    proc = subprocess.run([sys.executable, "-m", "vislab", "tour", "--quick", "--device", DEVICE, "--out", str(out)],
                          cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "ok", status
    assert (out / "index.html").is_file()


def test_one_server_job_on_the_gpu_matches_the_library_on_the_cpu(tmp_path, monkeypatch):
    pytest.importorskip("fastapi")
    from tests.serve.conftest import Driver, make_client
    from vislab.backbones.classify_job import ClassifySettings, run

    if DEVICE == "cpu":  # the dry run: the server's "auto" would pick a GPU only where there is one
        monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with make_client(tmp_path / "runs", workers=1, threads=2) as c:
        s = Driver(c, tmp_path / "runs").run("classify", timeout=300, images=["sample:coffee"], topk=5)
    assert s["state"] == "ok", s
    config = json.loads((tmp_path / "runs" / s["run"] / "config.json").read_text())
    assert config["config"]["device"] == "auto"
    direct = run(ClassifySettings(images=["sample:coffee"], topk=5, device="cpu"), tmp_path / "cpu").as_json()
    table = s["result"]["table"]
    assert [r["name"] for r in table] == [t["name"] for t in direct[0]["top"]]
    assert [r["prob"] for r in table] == pytest.approx([t["prob"] for t in direct[0]["top"]], abs=1e-3)
