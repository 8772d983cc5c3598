"""torchrun on GPUs: two processes, one GPU each, NCCL; and more processes than GPUs refused in one line.

With fewer than 2 GPUs the 2-process tests skip and say so (the CPU suite keeps the 2-process gloo tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vislab.gan.train import TrainConfig, train
from vislab.runs import read_metrics

from .conftest import DEVICE, gpu_count, skip_without_device

skip_without_device()
pytestmark = pytest.mark.gpu
REPO = Path(__file__).resolve().parents[2]
GAN = dict(arch="mlp", loss="bce", data="digits", batch_size=32, noise_dim=16, max_steps=6, log_every=1,
           checkpoint_every=100, sample_every=100, eval_samples=0, seed=5, device=DEVICE)


def _torchrun(n: int, *args: str) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n), "--master_addr",
           "127.0.0.1", "--master_port", str(port), "-m", "vislab", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _flags(d: dict) -> list[str]:
    return [x for k, v in d.items() for x in (f"--{k.replace('_', '-')}", str(v))]


needs_two = pytest.mark.skipif(gpu_count() < 2, reason=f"2-process NCCL run needs 2 GPUs; this machine has "
                                                        f"{gpu_count()} (the CPU suite runs 2 gloo processes)")


@needs_two
def test_two_gpu_processes_train_the_gan_of_one_process(tmp_path):
    proc = _torchrun(2, "gan", "train", *_flags(GAN), "--out", str(tmp_path / "ddp"), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = train(TrainConfig(**GAN), tmp_path / "one")
    la = [(m["d_loss"], m["g_loss"]) for m in read_metrics(one["run_dir"]) if "d_loss" in m]
    lb = [(m["d_loss"], m["g_loss"]) for m in read_metrics(tmp_path / "ddp") if "d_loss" in m]
    torch.testing.assert_close(torch.tensor(lb), torch.tensor(la), rtol=1e-4, atol=1e-5)


@needs_two
def test_two_gpu_processes_train_the_captioner(tmp_path):
    proc = _torchrun(2, "caption", "train", "--data", "shapes:40", "--image-size", "32", "--engine", "torch",
                     "--epochs", "1", "--batch-size", "9", "--hidden-dim", "16", "--wordvec-dim", "8", "--dtype",
                     "float64", "--log-every", "1", "--eval-images", "4", "--device", DEVICE, "--out",
                     str(tmp_path / "two"), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any("loss" in r for r in read_metrics(tmp_path / "two"))


@pytest.mark.skipif(gpu_count() < 1, reason="needs a CUDA GPU")
def test_more_processes_than_gpus_are_refused_in_one_line(tmp_path):
    n = gpu_count() + 1
    proc = _torchrun(n, "gan", "train", *_flags({**GAN, "batch_size": 32 * n}), "--out", str(tmp_path / "x"),
                     "--quiet")
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("vislab: error:")]
    assert errors and all(f"torchrun started {n} processes" in e for e in errors), proc.stderr[-3000:]
    # (torchrun itself then prints its ChildFailedError traceback; the processes print one line each)
    assert proc.stderr.count("Traceback") <= 1, proc.stderr[-3000:]
