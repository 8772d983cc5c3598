"""Threads sized to the CPUs this process may really use, waits that sleep, users' own choice respected."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab import machine
from vislab.errors import ConfigError


def _py(code: str, **env: str) -> str:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "VISLAB_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**full_env, **env},
                         check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("text, expected", [("150000 100000\n", 1.5), ("max 100000\n", None), ("200000 50000", 4.0)])
def test_cgroup_v2_quota(tmp_path, text, expected):
    (tmp_path / "cpu.max").write_text(text)
    assert machine.cgroup_cpu_quota(tmp_path) == expected


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) == 0.5
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert machine.cgroup_cpu_quota(tmp_path) is None


@pytest.mark.parametrize("busy, expected", [(0.0, 2), (0.6, 1), (2.0, 1), (None, 2)])
def test_cpus_other_processes_keep_busy_are_left_to_them(monkeypatch, busy, expected):
    monkeypatch.delenv("VISLAB_THREADS", raising=False)
    monkeypatch.setattr(machine, "available_cpus", lambda: 2)
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(machine, "busy_cpus", lambda: busy)
    assert machine.choose_threads() == expected
    assert machine.choose_threads(2) == 2  # an explicit choice is kept whatever the load


def test_busy_cpus_reads_the_machine():
    busy = machine.busy_cpus(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 1e-9


def test_a_quota_caps_the_cpus(monkeypatch):
    monkeypatch.setattr(machine, "cgroup_cpu_quota", lambda: 0.5)
    assert machine.available_cpus() == 1


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_threads_follow_the_affinity_mask():
    cpu = sorted(os.sched_getaffinity(0))[0]
    code = (f"import os; os.sched_setaffinity(0, {{{cpu}}}); import torch; from vislab.machine import "
            "configure_threads; n = configure_threads(); print(n, torch.get_num_threads())")
    assert _py(code) == "1 1"


def test_env_and_flag_choose_the_threads(cli, monkeypatch):
    old = torch.get_num_threads()
    try:
        monkeypatch.setenv("VISLAB_THREADS", "1")
        assert machine.choose_threads() == 1
        assert machine.choose_threads(3) == 3  # the flag wins over the environment
        torch.set_num_threads(2)
        with machine.thread_limits(1) as n:
            assert n == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2  # restored after the block
        assert cli("classify", "sample:coffee", "--topk", "1", "--threads", "1").rc == 0
        assert torch.get_num_threads() == 2  # a command run in-process leaves no thread count behind
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("bad", ["0", "-2", "abc", "1e400", "nan", "100000"])
def test_bad_thread_counts_are_one_line_errors(cli, monkeypatch, bad):
    assert_one_line_error(cli("classify", "sample:coffee", "--threads", bad), "--threads")
    monkeypatch.setenv("VISLAB_THREADS", bad)
    assert_one_line_error(cli("classify", "sample:coffee"), "VISLAB_THREADS")
    with pytest.raises(ConfigError):
        machine.choose_threads()


def test_openmp_threads_wait_passively_unless_the_user_chose():
    code = "import vislab, os; print(os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'])"
    assert _py(code) == "PASSIVE 10000"
    assert _py(code, OMP_WAIT_POLICY="ACTIVE", GOMP_SPINCOUNT="5") == "ACTIVE 5"
