"""Joining a multi-process run started by ``torchrun`` (gloo on CPU, NCCL on GPUs), shared by every trainer.

torchrun sets WORLD_SIZE/RANK/LOCAL_RANK; without them everything here is a no-op, so the same training code
runs in one process. On GPUs each process uses the GPU numbered by its LOCAL_RANK and NCCL reduces tensors on
that GPU; more processes on a machine than it has GPUs is refused before any work (two processes sharing one
GPU under NCCL hang or fail), with one `ConfigError` line. How gradients are combined is each trainer's own
business (captioning uses DDP, the GAN all-reduces explicitly); this module only starts, describes and ends the
process group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist

from .errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_sum(self, value: float) -> float:
        """Sum a number over all processes (itself when running alone). The message is a tensor on this
        process's device: NCCL reduces CUDA tensors only, gloo CPU ones."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item())

    def barrier(self) -> None:
        if self.enabled:
            # NCCL's barrier needs to know this process's GPU (else it guesses from the rank, and warns).
            ids = [self.device.index] if self.device.type == "cuda" and self.device.index is not None else None
            if ids:
                dist.barrier(device_ids=ids)
            else:
                dist.barrier()


def torchrun_world_size() -> int:
    """How many processes torchrun started (1 when not started by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_gpu() -> torch.device:
    """This process's GPU under torchrun: ``cuda:LOCAL_RANK``; refuses more processes per machine than GPUs."""
    local = int(os.environ.get("LOCAL_RANK", "0"))
    per_machine = int(os.environ.get("LOCAL_WORLD_SIZE", str(local + 1)))
    gpus = torch.cuda.device_count()
    if max(per_machine, local + 1) > gpus:
        raise ConfigError(f"torchrun started {max(per_machine, local + 1)} processes on this machine, which has "
                          f"{gpus} GPU(s): each process needs a GPU of its own (start at most {gpus} with "
                          "--nproc_per_node, or train on the CPU with device cpu)")
    return torch.device("cuda", local)


def setup(device: torch.device, timeout_s: float | None = None) -> DistInfo:
    """Join the process group when launched by torchrun; each process on a GPU gets its own (LOCAL_RANK)."""
    if torchrun_world_size() <= 1:
        return DistInfo(device=device)
    if device.type == "cuda":
        device = local_gpu()
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        kw = {"timeout": timedelta(seconds=timeout_s)} if timeout_s is not None else {}
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", **kw)
    return DistInfo(dist.get_rank(), dist.get_world_size(), device)


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
