"""One GAN training step, and the networks and optimizers it runs on.

The step (`gan_step`) differs from the course's loop in how it spends compute, not in what it optimizes: the
course samples fresh noise for the generator update and so runs the generator twice per iteration; here one
fake batch serves both updates (as pytorch/examples' DCGAN does), the discriminator sees real and fake images
in one batched forward, and the discriminator's weights are frozen while the generator's gradient flows
through it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .losses import LOSSES, gradient_penalty
from .models import build_pair
from .settings import GanTrainSettings


def gan_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             real: torch.Tensor, z: torch.Tensor, loss: str = "bce", *, gp_eps: torch.Tensor | None = None,
             sync: Callable[[nn.Module], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One discriminator update then one generator update, sharing a single generator forward.

    `sync(module)` runs between backward and the optimizer step (gradient averaging across processes).
    Returns the two losses (detached).
    """
    d_loss_fn, g_loss_fn, gp_weight = LOSSES[loss]
    n = real.shape[0]
    fake = G(z)

    # Discriminator: real and (detached) fake images in one forward pass.
    scores = D(torch.cat([real, fake.detach()]))
    d_loss = d_loss_fn(scores[:n], scores[n:])
    if gp_weight:
        d_loss = d_loss + gp_weight * gradient_penalty(D, real, fake.detach(), eps=gp_eps)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    if sync is not None:
        sync(D)
    opt_d.step()

    # Generator: through the updated discriminator, reusing `fake`. D's weights need no gradient here.
    D.requires_grad_(False)
    try:
        g_loss = g_loss_fn(D(fake))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        D.requires_grad_(True)
    if sync is not None:
        sync(G)
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def make_optimizers(G: nn.Module, D: nn.Module, cfg: GanTrainSettings,
                    device: torch.device) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Adam for each network with the settings' lr and betas (filled in: see `GanTrainSettings.with_defaults`)."""
    # The fused Adam kernel does the whole update in one pass over memory: same arithmetic, far fewer passes.
    kw = {"fused": True} if device.type in ("cpu", "cuda") else {}
    betas = (cfg.beta1, cfg.beta2)
    return (torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas, **kw),
            torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas, **kw))


def prepare_models(G: nn.Module, D: nn.Module, arch: str, device: torch.device) -> None:
    """Move to `device`; conv nets use channels-last memory, which oneDNN/cuDNN convolve and pool faster."""
    G.to(device)
    D.to(device)
    if arch == "dcgan":
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffled image order of `epoch`: a pure function of (seed, epoch), the same in every process."""
    # Reduced mod 2**64 (what torch seeds hold), so every valid seed works; small seeds keep their old order.
    # device: cpu-ok (an index order, the same in every process)
    return torch.randperm(n, generator=torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**64))


def build_models(cfg: GanTrainSettings) -> tuple[nn.Module, nn.Module]:
    return build_pair(cfg.arch, cfg.noise_dim, spectral_norm=cfg.spectral_norm)
