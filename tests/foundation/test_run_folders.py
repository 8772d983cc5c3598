"""Never lose a result: run folders are not overwritten, not shared by two processes, survive SIGTERM, keep their
history on resume, and a full disk or exhausted memory is one line with nothing half-written."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab import runs

GAN = ("gan", "train", "--data", "digits", "--arch", "mlp", "--batch-size", "16", "--eval-samples", "0", "--quiet",
       "--device", "cpu")


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.name != runs.LOCK_NAME}


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*") if p.is_file()}


def test_a_run_folder_holding_another_run_is_refused_and_left_untouched(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(*GAN, "--max-steps", "2", "--out", out).rc == 0
    before = _snapshot(out)
    # Another kind of run into it, and the same kind again without --resume: refused, nothing touched.
    assert_one_line_error(cli("fool", "sample:chelsea", "--target", "76", "--out", out), "gan-train", "--overwrite")
    assert_one_line_error(cli(*GAN, "--max-steps", "2", "--seed", "3", "--out", out), "--overwrite")
    assert _snapshot(out) == before
    # A folder that is not a run folder but holds files is never written into, even with --overwrite.
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"precious")
    assert_one_line_error(cli(*GAN, "--max-steps", "2", "--out", mine, "--overwrite"), "no vislab run")
    assert (mine / "holiday.jpg").read_bytes() == b"precious" and len(list(mine.iterdir())) == 1


def test_overwrite_replaces_the_old_run_completely(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(*GAN, "--max-steps", "2", "--out", out).rc == 0
    (out / "samples" / "stale.png").write_bytes(b"old")
    assert cli(*GAN, "--max-steps", "2", "--seed", "5", "--out", out, "--overwrite").rc == 0
    assert not (out / "samples" / "stale.png").exists()
    assert json.loads((out / "config.json").read_text())["config"]["seed"] == 5


def test_resume_keeps_the_original_command_and_records_the_resume(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(*GAN, "--max-steps", "2", "--out", out).rc == 0
    first = json.loads((out / "config.json").read_text())
    assert cli("gan", "train", "--resume", out, "--max-steps", "4", "--quiet").rc == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["command"] == first["command"] and "--resume" not in cfg["command"]
    assert len(cfg["history"]) == 1
    entry = cfg["history"][0]
    assert entry["action"] == "resume" and "--resume" in entry["command"]
    assert entry["changed"].get("max_steps") == 4
    # Resuming as another kind of run is refused.
    assert_one_line_error(cli("caption", "train", "--resume", out), "")


def _start_gan(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "VISLAB_THREADS": "1"}
    cmd = [sys.executable, "-m", "vislab", *GAN, "--max-steps", "100000", "--checkpoint-every", "2",
           "--sample-every", "100000", "--out", str(out), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, f"{path} did not appear"
        time.sleep(0.2)


def test_two_processes_never_write_one_folder_and_a_crash_leaves_no_stuck_lock(tmp_path, cli):
    out = tmp_path / "run"
    proc = _start_gan(out)
    try:
        _wait_for(out / "checkpoint.pt", proc)
        res = cli(*GAN, "--max-steps", "2", "--out", out, "--overwrite")
        assert_one_line_error(res, "another vislab process", str(proc.pid))
        res = cli("gan", "train", "--resume", out, "--max-steps", "2", "--quiet")
        assert_one_line_error(res, "another vislab process")
    finally:
        proc.kill()  # a crash: no chance to clean up
        proc.wait()
    # The kernel dropped the lock with the process: the run can be resumed at once.
    assert cli("gan", "train", "--resume", out, "--max-steps", "6", "--quiet").rc == 0


def test_sigterm_keeps_the_last_checkpoint_says_one_line_and_exits_143(tmp_path):
    out = tmp_path / "run"
    proc = _start_gan(out)
    _wait_for(out / "checkpoint.pt", proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("vislab: terminated"), err
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] >= 2
    assert not [p for p in out.rglob("*.tmp*")]


def test_a_full_disk_is_one_line_and_leaves_no_half_written_checkpoint(tmp_path, cli, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "run"
    res = cli(*GAN, "--max-steps", "2", "--checkpoint-every", "1", "--out", out)
    assert_one_line_error(res, "no space left on device")
    assert not (out / "checkpoint.pt").exists()
    assert not [p for p in out.rglob("*.tmp*")]


def test_exhausted_memory_is_one_line(tmp_path, cli, monkeypatch):
    import vislab.images

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(vislab.images, "load_image", no_memory)
    import vislab.cli.classify as classify

    monkeypatch.setattr(classify, "load_image", no_memory, raising=False)
    res = cli("classify", "sample:coffee")
    assert_one_line_error(res, "out of memory")


def test_check_memory_refuses_with_the_estimate(monkeypatch):
    from vislab import machine
    from vislab.errors import ConfigError

    monkeypatch.setattr(machine, "available_memory", lambda: 2 * 1024**3)
    machine.check_memory(1024**3, "a small job")  # fits: no error
    with pytest.raises(ConfigError, match=r"needs about 3\.0 GiB of memory but only 2\.0 GiB"):
        machine.check_memory(3 * 1024**3, "a big job")
