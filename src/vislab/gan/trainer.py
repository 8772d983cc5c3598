"""The state of one GAN training process and its step: networks, optimizers, weight average, noise, data order.

Everything a run depends on goes into the checkpoint (`checkpoint_state`): both networks, both optimizers, the
weight average, the noise generator's state, the global RNG states and the step. The data order is a function
of (seed, epoch), so the step alone says where in the data a resumed run continues; a resumed run therefore
ends with exactly the weights of an uninterrupted one (CPU, same thread count; CUDA with `deterministic`, as
cuDNN's default kernels may sum in another order after a restart). The training loop reads nothing back from
the GPU except the logged losses (every `log_every` steps), so the CPU can queue steps ahead of the GPU.

Under torchrun every process holds a `Trainer`, draws the same global batch of images and noise and keeps its
rows (`distributed.shard`); gradients and BatchNorm statistics are averaged after each update.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..devices import rng_state, seed_everything, set_rng_state
from ..distributed import DistInfo
from . import distributed
from .checkpoint import load_weights
from .data import to_gan_input
from .ema import ema_decay, make_ema, update_ema
from .models import sample_noise
from .settings import GanTrainSettings
from .step import build_models, epoch_order, gan_step, make_optimizers, prepare_models

GRID_SIZE = 64


class Trainer:
    """Networks, optimizers and streams of randomness of one process, and `train_step` to advance them."""

    def __init__(self, s: GanTrainSettings, images: torch.Tensor, info: DistInfo, device: torch.device) -> None:
        self.s, self.info, self.device = s, info, device
        self.n_images = len(images)
        self.steps_per_epoch = self.n_images // s.batch_size  # the last partial batch is dropped, as in the course
        self.total = s.epochs * self.steps_per_epoch
        if s.max_steps:
            self.total = min(self.total, s.max_steps)
        self.rows = distributed.shard(s.batch_size, info)
        seed_everything(s.seed)
        self.G, self.D = build_models(s)
        prepare_models(self.G, self.D, s.arch, device)
        self.opt_g, self.opt_d = make_optimizers(self.G, self.D, s, device)
        self.noise = torch.Generator().manual_seed(s.seed + 1)  # training noise, identical in every process
        self.fixed_z = sample_noise(GRID_SIZE, s.noise_dim, generator=torch.Generator().manual_seed(s.seed + 2))
        # Only the main process keeps the average: it is the one that samples, scores and saves.
        self.G_ema = make_ema(self.G) if s.ema and info.is_main else None
        self.step = 0
        self.x_all = images.to(device)
        self.d_loss = self.g_loss = torch.zeros((), device=device)
        self._order: torch.Tensor | None = None

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws the grids and is scored as the run's: the weight average when kept."""
        return self.G_ema if self.G_ema is not None else self.G

    @property
    def epoch(self) -> int:
        """The epoch of the step last taken."""
        return max(self.step - 1, 0) // self.steps_per_epoch

    @property
    def done(self) -> bool:
        return self.step >= self.total

    def at_epoch_end(self) -> bool:
        return self.step % self.steps_per_epoch == 0 or self.step == self.total

    def every(self, n: int) -> bool:
        return self.step % n == 0

    def restore(self, state: dict[str, Any], where: str = "the checkpoint") -> None:
        """Continue from a checkpoint's state (`checkpoint_state`)."""
        load_weights(self.G, state, "generator", where, self.s)
        load_weights(self.D, state, "discriminator", where, self.s)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise_rng"])
        set_rng_state(state["rng"])
        self.step = int(state["step"])
        if self.G_ema is not None and state.get("generator_ema") is not None:
            load_weights(self.G_ema, state, "generator_ema", where, self.s)
        elif self.G_ema is not None:  # the run kept no average so far: start it from the restored weights
            self.G_ema.load_state_dict(self.G.state_dict())

    def checkpoint_state(self, dataset: str) -> dict[str, Any]:
        return {
            "config": self.s.to_dict(), "dataset": dataset, "step": self.step,
            "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "generator_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "noise_rng": self.noise.get_state(), "rng": rng_state(),
        }

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """This process's rows of the step's real images, noise and (WGAN-GP) interpolation weights."""
        s = self.s
        epoch, b = divmod(self.step, self.steps_per_epoch)
        if self._order is None or b == 0:
            # Moved to the device once per epoch: indexing the images there then needs no copy per step.
            self._order = epoch_order(s.seed, epoch, self.n_images).to(self.device)
        idx = self._order[b * s.batch_size:(b + 1) * s.batch_size][self.rows]
        real = to_gan_input(self.x_all[idx])
        z = self._to_device(sample_noise(s.batch_size, s.noise_dim, generator=self.noise)[self.rows])
        eps = None
        if s.loss == "wgan-gp":  # interpolation weights for the gradient penalty, from the same stream
            # device: cpu-ok (one seeded CPU stream, same on every device)
            eps = self._to_device(torch.rand(s.batch_size, 1, generator=self.noise)[self.rows])
        return real, z, eps

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        """CPU-drawn numbers onto the device. On CUDA through pinned memory, without waiting: a copy from ordinary
        memory makes the CPU wait until the GPU has finished every step queued before it (a host sync per step)."""
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)

    def train_step(self) -> None:
        """One update of both networks (and the weight average); `d_loss`/`g_loss` are this process's."""
        real, z, eps = self._batch()
        self.d_loss, self.g_loss = gan_step(self.G, self.D, self.opt_g, self.opt_d, real, z, self.s.loss,
                                            gp_eps=eps, sync=self._sync)
        distributed.average_buffers(self.G, self.info)
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, ema_decay(self.s.ema, self.step))
        self.step += 1

    def _sync(self, module: nn.Module) -> None:
        distributed.average_gradients(module, self.info)

    def global_losses(self) -> tuple[float, float]:
        """The global-batch losses: each process's batch-mean loss, averaged over processes (collective)."""
        d, g = distributed.average_scalars(self.info, self.d_loss, self.g_loss)
        return float(d), float(g)
