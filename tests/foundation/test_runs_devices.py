"""Run folders, checkpoints and RNG state: what resume-exactly and the report rely on."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from vislab import devices, runs
from vislab.errors import CheckpointError, ConfigError


def test_rng_state_roundtrip_through_a_checkpoint(tmp_path):
    devices.seed_everything(3)
    random.gauss(0, 1)  # leaves a cached gauss value in Python's state
    np.random.randn()  # and in numpy's
    state = devices.rng_state()
    expected = (random.random(), random.gauss(0, 1), np.random.randn(3), torch.rand(3))
    runs.save_checkpoint({"rng": state}, tmp_path / "c.pt", kind="test")
    devices.seed_everything(99)
    devices.set_rng_state(runs.load_checkpoint(tmp_path / "c.pt", kind="test")["rng"])
    got = (random.random(), random.gauss(0, 1), np.random.randn(3), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1]
    np.testing.assert_array_equal(got[2], expected[2])
    assert torch.equal(got[3], expected[3])


def test_checkpoint_kind_and_corruption(tmp_path):
    path = runs.save_checkpoint({"w": torch.ones(2)}, tmp_path / "a.pt", kind="gan")
    assert torch.equal(runs.load_checkpoint(path, kind="gan")["w"], torch.ones(2))
    with pytest.raises(CheckpointError, match="is a 'gan' checkpoint, expected a 'captioning'"):
        runs.load_checkpoint(path, kind="captioning")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable checkpoint \\(not a PyTorch file\\)"):
        runs.load_checkpoint(tmp_path / "bad.pt")
    good = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        runs.load_checkpoint(tmp_path / "cut.pt")
    torch.save({"w": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a vislab checkpoint"):
        runs.load_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="no such"):
        runs.load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_refuses_arbitrary_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"vislab_kind": "gan", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="Python objects that safe loading") as e:
        runs.load_checkpoint(tmp_path / "evil.pt")
    assert "weights_only` set to `False`" not in str(e.value)  # never advise the unsafe load


def test_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    path = runs.save_checkpoint({"v": 1}, tmp_path / "c.pt", kind="k")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        runs.save_checkpoint({"v": 2}, path, kind="k")
    monkeypatch.undo()
    assert runs.load_checkpoint(path)["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_metrics_log_resume_drops_rows_after_the_checkpoint(tmp_path):
    log = runs.MetricsLog(tmp_path)
    for step in range(5):
        log.log(step, loss=float(step))
    runs.MetricsLog(tmp_path, resume_step=2).log(3, loss=30.0)
    rows = runs.read_metrics(tmp_path)
    assert [(r["step"], r["loss"]) for r in rows] == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 30.0)]


def test_config_and_run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = runs.make_run_dir(None, "style")
    b = runs.make_run_dir(None, "style")
    assert a != b and a.parent.name == "runs" and a.name.startswith("style-")
    runs.write_config(a, {"seed": 1, "path": a}, command="vislab style x y")
    payload = json.loads((a / "config.json").read_text())
    assert payload["command"] == "vislab style x y" and payload["config"]["seed"] == 1
    assert runs.read_config(a)["path"] == str(a)


def test_resolve_device():
    assert devices.resolve_device("cpu").type == "cpu"
    assert devices.resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            devices.resolve_device("cuda")
    with pytest.raises(ConfigError):
        devices.resolve_device("tpu")


def test_atomic_writes_get_ordinary_file_permissions(tmp_path):
    import os

    from vislab.fileio import write_text

    umask = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
