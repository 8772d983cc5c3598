"""`deterministic`: GPU-only in effect, so on the CPU it must change no number, and it must not leak into the next
job of the same process (a server, the tour)."""

from __future__ import annotations

import torch

from vislab.devices import deterministic
from vislab.gan.settings import TrainConfig
from vislab.gan.train import train
from vislab.runs import load_checkpoint


def test_the_mode_is_on_inside_and_restored_after():
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    with deterministic(True):
        assert torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.benchmark
        assert torch.backends.cudnn.deterministic
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark) == before
    with deterministic(False):
        assert torch.are_deterministic_algorithms_enabled() == before[0]


def test_a_deterministic_gan_run_on_the_cpu_has_the_weights_of_a_plain_one(tmp_path, cli):
    cfg = dict(arch="mlp", loss="bce", data="digits", batch_size=8, noise_dim=16, max_steps=3, limit=64,
               checkpoint_every=100, sample_every=100, log_every=1, eval_samples=0, seed=4, device="cpu")
    plain = train(TrainConfig(**cfg), tmp_path / "plain")
    r = cli("gan", "train", *[f"--{k.replace('_', '-')}={v}" for k, v in cfg.items()], "--deterministic",
            "--out", tmp_path / "det", "--quiet")
    assert r.rc == 0, r.err
    assert not torch.are_deterministic_algorithms_enabled()
    a = load_checkpoint(plain["checkpoint"], kind="gan")
    b = load_checkpoint(tmp_path / "det" / "checkpoint.pt", kind="gan")
    assert b["config"]["deterministic"] is True and a["config"]["deterministic"] is False
    for key in ("generator", "discriminator"):
        for name, t in a[key].items():
            assert torch.equal(t, b[key][name]), (key, name)
