"""Shared test helpers: the shared data folder (tests that need it skip without it) and an in-process CLI runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from vislab.paths import data_dir

# CI has 2 cores; keep torch from oversubscribing them when numpy's BLAS also runs. The suite must pass at 1 and
# at 2 threads: `VISLAB_THREADS=1 make test` checks the first.
torch.set_num_threads(int(os.environ.get("VISLAB_THREADS") or min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``$VISLAB_DATA`` or ``../shared/data``; tests using it are skipped where it does not exist."""
    d = data_dir()
    if d is None:
        pytest.skip("shared data folder not available (set VISLAB_DATA)")
    return d


@dataclass
class CliResult:
    rc: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run ``vislab ARGS...`` in-process; returns exit status, stdout and stderr."""
    from vislab.cli import main

    def run(*args: str) -> CliResult:
        # The CLI sizes torch's thread pool (--threads, else $VISLAB_THREADS, else the CPUs it may use). Unless
        # the environment chose, it runs at the calling test's count: on a machine with more CPUs than the tests
        # use, a DCGAN resumed through the CLI would otherwise take its last steps at another thread count and
        # end bitwise different from the uninterrupted in-process run (measured: 27 weight tensors differ).
        with pytest.MonkeyPatch.context() as mp:
            if "VISLAB_THREADS" not in os.environ:
                mp.setenv("VISLAB_THREADS", str(torch.get_num_threads()))
            try:
                rc = main([str(a) for a in args])
            except SystemExit as e:  # argparse and error paths exit
                rc = e.code if isinstance(e.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(rc, captured.out, captured.err)

    return run


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """The CLI failure contract: exit 2, exactly one stderr line starting ``vislab: error:``, no traceback."""
    assert result.rc == 2, (result.rc, result.err)
    lines = [l for l in result.err.splitlines() if l.strip() and "%|" not in l]  # ignore tqdm bars
    assert len(lines) == 1, result.err
    assert lines[0].startswith("vislab: error: "), result.err
    assert "Traceback" not in result.err
    for f in fragments:
        assert f.lower() in lines[0].lower(), (f, lines[0])
