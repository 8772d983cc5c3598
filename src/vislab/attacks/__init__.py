"""Standard adversarial attacks on [0, 1] images through the model's own normalization, and robustness curves.

    from vislab.attacks import fgsm, pgd, cw_l2, deepfool
    adv = pgd(backbone, images, labels, eps=8 / 255, steps=10)          # budgets in [0, 1] pixel units

`model` is a vislab Backbone (it normalizes inside) or an nn.Module on [0, 1] images; `PixelModel(backbone)`
is the Backbone as such a module (for torchattacks, foolbox). Jobs: `attack_job.run` (`vislab attack`) and
`robustness_job.run` (`vislab robustness`). See docs/attacks.md.
"""

from .base import PixelModel
from .cw import cw_l2
from .deepfool import deepfool
from .fgsm import fgsm
from .pgd import pgd
from .quantize import quantize, to_8bit

__all__ = ["PixelModel", "cw_l2", "deepfool", "fgsm", "pgd", "quantize", "to_8bit"]
