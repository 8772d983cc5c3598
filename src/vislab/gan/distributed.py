"""Data-parallel GAN training across processes started by ``torchrun`` (gloo on CPU, NCCL on GPUs).

Why not `DistributedDataParallel`: a GAN step runs the discriminator three ways (on real+fake for its own
update, on fake for the generator's update with its weights frozen, and under a double backward for WGAN-GP),
and DDP's gradient hooks assume one forward and one backward per step. Averaging the gradients explicitly
after each backward is the same arithmetic, costs one all-reduce per network per step, and works for all of
them.

What "matches one process" means: every process draws the same global batch of indices and noise and keeps its
own slice, and the losses are batch means, so the averaged gradient equals the one-process gradient on the
global batch up to float rounding. That holds exactly for the MLP GAN. The DCGAN generator has BatchNorm,
whose batch statistics are computed per process (on CPU there is no SyncBatchNorm), so its training differs
slightly from one big batch, as in any DDP job without SyncBatchNorm; its running statistics are averaged
across processes after each step so that every process (and the checkpoint) holds the same model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init(device: torch.device, timeout_s: float = 1800.0) -> tuple[DistInfo, torch.device]:
    """Join the process group when started by torchrun (WORLD_SIZE > 1); else a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return info, device


def shard(batch_size: int, info: DistInfo) -> slice:
    """This process's rows of a global batch."""
    if batch_size % info.world_size:
        raise ConfigError(f"--batch-size {batch_size} must be divisible by the number of processes "
                          f"({info.world_size}): it is the global batch, split evenly")
    per = batch_size // info.world_size
    return slice(info.rank * per, (info.rank + 1) * per)


def average_gradients(module: nn.Module, info: DistInfo) -> None:
    """All-reduce the mean of every gradient as one flat tensor (one message, not one per parameter)."""
    if not info.enabled:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def average_buffers(module: nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (BatchNorm running statistics) so all processes hold the same model."""
    if not info.enabled:
        return
    bufs = [b for b in module.buffers() if b.is_floating_point()]
    if not bufs:
        return
    flat = torch.cat([b.reshape(-1) for b in bufs])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for b in bufs:
        b.copy_(flat[offset:offset + b.numel()].view_as(b))
        offset += b.numel()


def average_scalars(info: DistInfo, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The mean over processes of each scalar (for logging global-batch losses)."""
    if not info.enabled:
        return values
    t = torch.stack([v.detach().float().reshape(()) for v in values])
    dist.all_reduce(t)
    return tuple(t / info.world_size)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
