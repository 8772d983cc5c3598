"""`torchrun --nproc_per_node 2` (gloo, CPU) trains the same model as one process at the same global batch.

Exact for the MLP GAN (no BatchNorm). Each process takes its half of the same global batch of images and
noise, and gradients are averaged, so the global-batch losses and the weights agree with one process up to
float rounding (different summation order). The DCGAN generator's BatchNorm uses per-process batch statistics
on CPU (no SyncBatchNorm there), so it is not expected to match exactly; see vislab.gan.distributed.
"""

import os
import socket
import subprocess
import sys

import torch

from vislab.gan.train import TrainConfig, train
from vislab.runs import load_checkpoint, read_metrics

ARGS = dict(arch="mlp", loss="bce", data="digits", batch_size=32, noise_dim=16, max_steps=6, log_every=1,
            checkpoint_every=100, sample_every=100, eval_samples=0, seed=5, device="cpu", ema=0.999)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_processes_match_one_process(tmp_path):
    flags = []
    for k, v in ARGS.items():
        flags += [f"--{k.replace('_', '-')}", str(v)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "vislab", "gan", "train", *flags,
           "--out", str(tmp_path / "ddp"), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = (tmp_path / "ddp" / "config.json").read_text()
    assert '"processes": 2' in cfg

    one = train(TrainConfig(**ARGS), tmp_path / "one")
    a = load_checkpoint(one["checkpoint"], kind="gan")
    b = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt", kind="gan")
    assert a["step"] == b["step"] == 6

    # Global-batch losses step by step: step 1 checks that the shards and noise slices make up the same batch,
    # later steps that the averaged gradients made the same updates.
    la = [(m["d_loss"], m["g_loss"]) for m in read_metrics(tmp_path / "one") if "d_loss" in m]
    lb = [(m["d_loss"], m["g_loss"]) for m in read_metrics(tmp_path / "ddp") if "d_loss" in m]
    assert len(la) == len(lb) == 6
    torch.testing.assert_close(torch.tensor(lb), torch.tensor(la), rtol=1e-4, atol=1e-5)

    init = train(TrainConfig(**{**ARGS, "max_steps": 1}), tmp_path / "init")
    w0 = load_checkpoint(init["checkpoint"], kind="gan")
    for net in ("generator", "discriminator", "generator_ema"):
        for name, wa in a[net].items():
            wb = b[net][name]
            moved = (wa - w0[net][name]).norm()
            # Adam's first steps move a weight by about lr * sign(grad), so a float-rounding sign flip of a
            # near-zero gradient moves single weights by up to ~2*lr*steps; everything else agrees to 1e-5.
            assert (wa - wb).abs().max() < 2e-3 * 6, (net, name)
            assert ((wa - wb).abs() > 1e-5).float().mean() < 1e-3, (net, name)
            assert (wa - wb).norm() < 1e-2 * moved, (net, name)
