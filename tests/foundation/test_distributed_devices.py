"""torchrun on GPUs without a GPU: each process takes cuda:LOCAL_RANK, and more processes than GPUs is refused in
one line before any process group is joined (two NCCL ranks on one GPU fail or hang: issue 21)."""

from __future__ import annotations

import pytest
import torch

from vislab import distributed
from vislab.errors import ConfigError


def _torchrun(mp, local_rank: int, per_machine: int, gpus: int) -> None:
    mp.setenv("WORLD_SIZE", str(per_machine))
    mp.setenv("RANK", str(local_rank))
    mp.setenv("LOCAL_RANK", str(local_rank))
    mp.setenv("LOCAL_WORLD_SIZE", str(per_machine))
    mp.setattr(torch.cuda, "device_count", lambda: gpus)
    mp.setattr(torch.cuda, "set_device", lambda d: pytest.fail("set_device before the check"))
    mp.setattr(distributed.dist, "init_process_group", lambda *a, **k: pytest.fail("joined the group"))


@pytest.mark.parametrize("rank", [0, 1])
def test_two_processes_on_one_gpu_are_refused_by_every_rank(monkeypatch, rank):
    _torchrun(monkeypatch, rank, per_machine=2, gpus=1)
    with pytest.raises(ConfigError, match=r"2 processes on this machine, which has 1 GPU") as e:
        distributed.setup(torch.device("cuda"))
    assert "\n" not in str(e.value)


def test_each_process_takes_the_gpu_of_its_local_rank(monkeypatch):
    _torchrun(monkeypatch, 1, per_machine=2, gpus=2)
    assert distributed.local_gpu() == torch.device("cuda", 1)


def test_cpu_processes_need_no_gpu(monkeypatch):
    _torchrun(monkeypatch, 1, per_machine=4, gpus=0)
    joined = []
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda backend, **k: joined.append(backend))
    monkeypatch.setattr(distributed.dist, "get_rank", lambda: 1)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 4)
    info = distributed.setup(torch.device("cpu"))
    assert joined == ["gloo"] and info.device == torch.device("cpu") and info.rank == 1
