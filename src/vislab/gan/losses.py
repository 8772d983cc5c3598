"""GAN losses on discriminator logits. All are means over the batch, so gradients averaged over processes
equal the gradient of the same loss on the whole global batch (what multi-process training relies on)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_loss(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of `logits` s against a constant label y:
    -y log sigmoid(s) - (1-y) log(1 - sigmoid(s)) = softplus(s) - y*s. softplus is computed stably for any s,
    and its gradient sigmoid(s) is exact even at s = 0 (where the course's max(s, 0) + log(1 + exp(-|s|)) form
    gets a wrong subgradient from autograd)."""
    return (F.softplus(logits) - logits * target).mean()


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Vanilla GAN discriminator loss: -E[log D(x)] - E[log(1 - D(G(z)))]."""
    return bce_loss(logits_real, 1.0) + bce_loss(logits_fake, 0.0)


def generator_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -E[log D(G(z))]."""
    return bce_loss(logits_fake, 1.0)


def ls_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN (Mao et al. 2017): 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]."""
    return 0.5 * ((scores_real - 1) ** 2).mean() + 0.5 * (scores_fake ** 2).mean()


def ls_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss: 0.5 E[(D(G(z)) - 1)^2]."""
    return 0.5 * ((scores_fake - 1) ** 2).mean()


def wgan_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss E[D(G(z))] - E[D(x)] (add `gradient_penalty` for WGAN-GP)."""
    return scores_fake.mean() - scores_real.mean()


def wgan_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    return -scores_fake.mean()


def hinge_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss (Lim & Ye 2017, used with spectral norm): E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1 - scores_real).mean() + F.relu(1 + scores_fake).mean()


hinge_generator_loss = wgan_generator_loss


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     *, eps: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] at random points x_hat = eps*real + (1-eps)*fake
    (Gulrajani et al. 2017); `eps` (N, 1) defaults to uniform draws. Built with create_graph=True so it can be
    backpropagated into the critic."""
    if eps is None:
        eps = torch.rand(real.shape[0], 1, device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# --loss NAME -> (discriminator loss, generator loss, gradient-penalty weight)
LOSSES = {
    "bce": (discriminator_loss, generator_loss, 0.0),
    "ls": (ls_discriminator_loss, ls_generator_loss, 0.0),
    "wgan-gp": (wgan_discriminator_loss, wgan_generator_loss, 10.0),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss, 0.0),
}
