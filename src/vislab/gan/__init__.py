"""GANs on MNIST: the classic cs231n models and losses, a fast resumable training loop, honest scores.

    from vislab.gan import sample_noise, discriminator, generator, build_dc_classifier, build_dc_generator
    from vislab.gan import discriminator_loss, generator_loss, ls_discriminator_loss, ls_generator_loss

The three jobs, each ``run(settings, out, *, progress=None, should_stop=None) -> result`` (imported on use,
since they pull in the data and plotting code):

    from vislab.gan import GanTrainSettings, GanSampleSettings, GanEvalSettings
    vislab.gan.train.run(GanTrainSettings(...))     # gan train: run folder with checkpoint, grids, scores
    vislab.gan.sample.run(GanSampleSettings(...))   # gan sample: a grid of samples
    vislab.gan.score.run(GanEvalSettings(...))      # gan eval: MNIST score, Fréchet distance, histogram
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
from .settings import GanEvalSettings, GanSampleSettings, GanTrainSettings, TrainConfig

__all__ = [
    "sample_noise", "discriminator", "generator", "build_dc_classifier", "build_dc_generator",
    "bce_loss", "discriminator_loss", "generator_loss", "ls_discriminator_loss", "ls_generator_loss",
    "wgan_discriminator_loss", "wgan_generator_loss", "hinge_discriminator_loss", "hinge_generator_loss",
    "gradient_penalty", "GanTrainSettings", "GanSampleSettings", "GanEvalSettings", "TrainConfig",
]
