"""`vislab attack` and `vislab robustness` from the command line: the generated commands run the jobs, print the
table, and --resume continues a robustness run."""

from __future__ import annotations

import torch

from vislab.images import save_image

from .conftest import TINY


def test_attack_and_robustness_commands(cli, tmp_path):
    g = torch.Generator().manual_seed(2)
    for i in range(3):
        save_image(torch.rand((3, 24, 24), generator=g), tmp_path / f"p{i}.png")
    r = cli("attack", tmp_path / "p0.png", "--model", TINY, "--attack", "fgsm", "--eps", "4", "--out", tmp_path / "a")
    assert r.rc == 0, r.err
    assert "fgsm: 100% of 1 images fooled as saved 8-bit PNGs" in r.out and "change L-inf 4/255" in r.out

    args = ["robustness", tmp_path, "--model", TINY, "--steps", "1", "--out", tmp_path / "r"]
    r = cli(*args, "--eps", "0,2")
    assert r.rc == 0, r.err
    assert "eps 0/255: accuracy 100.0% (3/3)" in r.out
    r = cli(*args, "--eps", "0,2,8", "--resume")  # a budget added on resume: only it is measured
    assert r.rc == 0, r.err
    assert "eps 8/255: accuracy" in r.out
    assert (tmp_path / "r" / "eps" / "eps_8.json").is_file()
