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

import torch
import torch.distributed as dist
from torch import nn

from ..distributed import DistInfo
from ..errors import ConfigError


def shard(batch_size: int, info: DistInfo) -> slice:
    """This process's rows of a global batch."""
    if batch_size % info.world_size:
        raise ConfigError(f"--batch-size {batch_size} must be divisible by the number of processes "
                          f"({info.world_size}): it is the global batch, split evenly")
    per = batch_size // info.world_size
    return slice(info.rank * per, (info.rank + 1) * per)


def _all_reduce_mean(tensors: list[torch.Tensor], info: DistInfo) -> None:
    """Replace each tensor by its mean over processes, as one flat message rather than one per tensor."""
    if not info.enabled or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def average_gradients(module: nn.Module, info: DistInfo) -> None:
    """All-reduce the mean of every gradient."""
    _all_reduce_mean([p.grad for p in module.parameters() if p.grad is not None], info)


def average_buffers(module: nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (BatchNorm running statistics) so all processes hold the same model."""
    _all_reduce_mean([b for b in module.buffers() if b.is_floating_point()], info)


def average_scalars(info: DistInfo, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The mean over processes of each scalar (for logging global-batch losses)."""
    if not info.enabled:
        return values
    t = torch.stack([v.detach().float().reshape(()) for v in values])
    dist.all_reduce(t)
    return tuple(t / info.world_size)
