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

import contextlib
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import nn

from ..distributed import DistInfo
from ..errors import ConfigError
from ..jobs import SettingError


def shard(batch_size: int, info: DistInfo) -> slice:
    """This process's rows of a global batch."""
    if batch_size % info.world_size:
        raise SettingError("batch_size", f"must be divisible by the number of processes ({info.world_size}): "
                                         f"it is the global batch, split evenly; got {batch_size}")
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


def any_true(info: DistInfo, flag: bool) -> bool:
    """True in every process when `flag` is true in any (so all processes stop at the same step)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


@contextlib.contextmanager
def all_or_none(info: DistInfo) -> Iterator[None]:
    """Work only some processes do (the main one makes the run folder): when it fails in one, every process
    stops with an error, instead of the others waiting in the next all-reduce until the timeout."""
    failed = True
    try:
        yield
        failed = False
    finally:
        if any_true(info, failed) and not failed:
            raise ConfigError("another process of this torchrun job failed to start the run (see its error)")
