"""`cs231n.gan_pytorch` over `vislab.gan`: the GANs-PyTorch notebook's models, losses and training loop.

The networks and losses are vislab's (`vislab.gan.models`, `vislab.gan.losses`), which already use the
course's names, shapes and conventions: images travel flattened as (N, 784) in [-1, 1], noise is uniform in
[-1, 1], every loss is a mean over the batch. The rest (`Flatten`, `Unflatten`, `initialize_weights`,
`get_optimizer`, `run_a_gan`, `preprocess_img`, `deprocess_img`) is the course's small glue, written here.
See docs/cs231n.md for what differs.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.utils.data
from torch import nn

from ..gan import models as _models
from ..gan.losses import (
    bce_loss,
    discriminator_loss,
    generator_loss,
    ls_discriminator_loss,
    ls_generator_loss,
)
from ..nn.gradcheck import rel_error

NOISE_DIM = _models.NOISE_DIM  # 96, as in the course

__all__ = [
    "NOISE_DIM", "sample_noise", "Flatten", "Unflatten", "initialize_weights", "discriminator", "generator",
    "bce_loss", "discriminator_loss", "generator_loss", "get_optimizer", "run_a_gan",
    "ls_discriminator_loss", "ls_generator_loss", "build_dc_classifier", "build_dc_generator",
    "preprocess_img", "deprocess_img", "count_params", "rel_error", "show_images", "ChunkSampler",
]


def _seed(seed: int | None) -> None:
    if seed is not None:
        torch.manual_seed(seed)


def sample_noise(batch_size: int, dim: int, seed: int | None = None) -> torch.Tensor:
    """Uniform noise in [-1, 1), a (batch_size, dim) tensor, from torch's global generator
    (`vislab.gan.sample_noise`). `seed` (the 2020 course's extra argument) seeds that generator first."""
    _seed(seed)
    return _models.sample_noise(batch_size, dim)


class Flatten(nn.Module):
    """(N, ...) -> (N, D). The course's version requires (N, C, H, W) input; this one takes any rank."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class Unflatten(nn.Module):
    """(N*C*H*W values) -> (N, C, H, W), the course's module: N=-1 infers the batch size.
    (`vislab.gan.models.Unflatten(c, h, w)` always infers it.)"""

    def __init__(self, N: int = -1, C: int = 128, H: int = 7, W: int = 7) -> None:
        super().__init__()
        self.N, self.C, self.H, self.W = N, C, H, W

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(self.N, self.C, self.H, self.W)


class ChunkSampler(torch.utils.data.Sampler):
    """Samples the indices start, start+1, ..., start+num_samples-1 in order (the course's MNIST split)."""

    def __init__(self, num_samples: int, start: int = 0) -> None:
        self.num_samples, self.start = num_samples, start

    def __iter__(self):
        return iter(range(self.start, self.start + self.num_samples))

    def __len__(self) -> int:
        return self.num_samples


def initialize_weights(m: nn.Module) -> None:
    """For ``model.apply(initialize_weights)``: Xavier-uniform weights in every Linear and ConvTranspose2d
    (biases untouched), as the course. vislab's own models keep PyTorch's default initialisation."""
    if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(m.weight.data)


def discriminator(seed: int | None = None) -> nn.Sequential:
    """MLP 784-256-256-1, LeakyReLU(0.01), one logit per image (`vislab.gan.discriminator`, 267,009
    parameters). Takes (N, 784) or (N, 1, 28, 28). `seed` (2020 course) seeds torch before building."""
    _seed(seed)
    return _models.discriminator()


def generator(noise_dim: int = NOISE_DIM, seed: int | None = None) -> nn.Sequential:
    """MLP noise_dim-1024-1024-784, ReLU, tanh output: (N, noise_dim) -> (N, 784) in [-1, 1]
    (`vislab.gan.generator`)."""
    _seed(seed)
    return _models.generator(noise_dim)


def build_dc_classifier(batch_size: int = 128) -> nn.Sequential:
    """DCGAN discriminator (`vislab.gan.build_dc_classifier`, 1,102,721 parameters): (N, 784) -> (N, 1).
    `batch_size` is accepted for the course's signature; unlike the course's, the model works for any batch
    size (the reshape infers it), and it pools before each LeakyReLU (the same function, see vislab's)."""
    return _models.build_dc_classifier(batch_size)


def build_dc_generator(noise_dim: int = NOISE_DIM) -> nn.Sequential:
    """DCGAN generator (`vislab.gan.build_dc_generator`): (N, noise_dim) -> (N, 784) in [-1, 1]."""
    return _models.build_dc_generator(noise_dim)


def get_optimizer(model: nn.Module) -> torch.optim.Adam:
    """Adam over `model`'s parameters with the course's lr=1e-3, betas=(0.5, 0.999)."""
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))


def preprocess_img(x):
    """[0, 1] -> [-1, 1]: 2x - 1."""
    return 2 * x - 1.0


def deprocess_img(x):
    """[-1, 1] -> [0, 1]: (x + 1) / 2."""
    return (x + 1.0) / 2.0


def count_params(model: nn.Module):
    """Number of parameters in `model`, as the course computes it: ``np.sum([np.prod(p.size()) ...])``, a numpy
    int64 (`vislab.gan.models.count_params` returns a Python int)."""
    return np.sum([np.prod(p.size()) for p in model.parameters()])


def show_images(images):
    """The notebook's helper: a square grid of (N, 784) images, drawn with matplotlib (imported on use)."""
    import matplotlib.gridspec as gridspec
    import matplotlib.pyplot as plt

    images = np.reshape(np.asarray(images), [np.shape(images)[0], -1])
    sqrtn = int(np.ceil(np.sqrt(images.shape[0])))
    sqrtimg = int(np.ceil(np.sqrt(images.shape[1])))
    fig = plt.figure(figsize=(sqrtn, sqrtn))
    gs = gridspec.GridSpec(sqrtn, sqrtn)
    gs.update(wspace=0.05, hspace=0.05)
    for i, img in enumerate(images):
        ax = plt.subplot(gs[i])
        plt.axis("off")
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_aspect("equal")
        plt.imshow(img.reshape([sqrtimg, sqrtimg]), cmap="gray")
    return fig


def _notebook_pyplot():
    """matplotlib.pyplot when the caller imported it and draws into a notebook (inline / widget backends),
    else None: a script or a test never opens a window, blocks, or piles up figures."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return None
    backend = plt.get_backend().lower()
    return plt if any(k in backend for k in ("inline", "nbagg", "ipympl", "widget")) else None


class GanSamples(list):
    """What `run_a_gan` returns: a list of (16, 784) numpy arrays, one per printed iteration (what the later
    course notebooks loop over with `show_images`), with the printed losses in `.losses` as
    ``(iter, d_loss, g_loss)``. Its repr is one line, so a 2019 notebook cell ending in ``run_a_gan(...)``
    (which returned None there) does not echo the arrays."""

    def __init__(self) -> None:
        super().__init__()
        self.losses: list[tuple[int, float, float]] = []

    def __repr__(self) -> str:
        return f"<GanSamples: {len(self)} batches of samples, last losses {self.losses[-1:]}>"


def run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train, show_every=250,
              batch_size=128, noise_size=96, num_epochs=10):
    """Train a GAN the course's way: per full batch of `loader_train` (partial batches skipped), one
    discriminator step on real images mapped to [-1, 1] and detached fakes, then one generator step on fresh
    noise. Every `show_every` iterations it prints ``Iter: i, D: d, G:g`` like the course and keeps 16
    samples; it also draws them (`show_images`, `plt.show()`, as the 2019 notebook) only in a notebook,
    i.e. when matplotlib.pyplot is imported with an inline or widget backend: a script never opens or
    blocks on a window. Runs on the device and dtype of D's parameters (the course uses a global `dtype`).

    Returns a `GanSamples` list of the kept (16, 784) sample arrays, as the later course versions do (the
    2019 notebook's returned None), with the losses in `.losses`.
    """
    param = next(D.parameters())
    device, dtype = param.device, param.dtype
    samples = GanSamples()
    iter_count = 0
    for _ in range(num_epochs):
        for x, _y in loader_train:
            if len(x) != batch_size:
                continue
            D_solver.zero_grad()
            real_data = x.to(device=device, dtype=dtype)
            logits_real = D(2 * (real_data - 0.5))
            g_fake_seed = sample_noise(batch_size, noise_size).to(device=device, dtype=dtype)
            fake_images = G(g_fake_seed).detach()
            logits_fake = D(fake_images.view(batch_size, 1, 28, 28))
            d_total_error = discriminator_loss(logits_real, logits_fake)
            d_total_error.backward()
            D_solver.step()

            G_solver.zero_grad()
            g_fake_seed = sample_noise(batch_size, noise_size).to(device=device, dtype=dtype)
            fake_images = G(g_fake_seed)
            gen_logits_fake = D(fake_images.view(batch_size, 1, 28, 28))
            g_error = generator_loss(gen_logits_fake)
            g_error.backward()
            G_solver.step()

            if iter_count % show_every == 0:
                d, g = d_total_error.item(), g_error.item()
                print(f"Iter: {iter_count}, D: {d:.4}, G:{g:.4}")
                imgs_numpy = fake_images.detach().cpu().numpy()[:16]
                samples.append(imgs_numpy)
                samples.losses.append((iter_count, d, g))
                plt = _notebook_pyplot()
                if plt is not None:
                    show_images(imgs_numpy)
                    plt.show()
                print()
            iter_count += 1
    return samples
