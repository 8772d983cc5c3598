"""GANs on MNIST: the classic cs231n models and losses, a fast resumable training loop, honest scores.

    from vislab.gan import sample_noise, discriminator, generator, build_dc_classifier, build_dc_generator
    from vislab.gan import discriminator_loss, generator_loss, ls_discriminator_loss, ls_generator_loss

Training, sampling and evaluation live in `vislab.gan.train` and `vislab.gan.evaluate` (imported on use, since
they pull in the data and plotting code).
"""

from .losses import (
    bce_loss,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    ls_discriminator_loss,
    ls_generator_loss,
    wgan_discriminator_loss,
    wgan_generator_loss,
)
from .models import build_dc_classifier, build_dc_generator, discriminator, generator, sample_noise

__all__ = [
    "sample_noise", "discriminator", "generator", "build_dc_classifier", "build_dc_generator",
    "bce_loss", "discriminator_loss", "generator_loss", "ls_discriminator_loss", "ls_generator_loss",
    "wgan_discriminator_loss", "wgan_generator_loss", "hinge_discriminator_loss", "hinge_generator_loss",
    "gradient_penalty",
]
