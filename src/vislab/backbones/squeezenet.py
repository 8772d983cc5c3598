"""SqueezeNet 1.1 (Iandola et al., 2016), the network of the classic cs231n visualization assignments.

Module names match torchvision's, so its state dict (``squeezenet1_1-b8a52dc0.pth``) loads unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..errors import WeightsError

WEIGHTS_URL = "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"
WEIGHTS_FILE = "squeezenet1_1-b8a52dc0.pth"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class Fire(nn.Module):
    """Squeeze with 1x1 convs, then expand with parallel 1x1 and 3x3 convs whose outputs are concatenated."""

    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet11(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Conv2d(512, num_classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x).flatten(1)

    def stages(self) -> list[tuple[str, nn.Module]]:
        # In-place ReLUs would overwrite a returned conv activation, so feature taps are the modules' outputs
        # as cs231n indexes them: features.0 .. features.12.
        return [(f"features.{i}", m) for i, m in enumerate(self.features)]


def default_weights_path() -> Path:
    torch_home = Path(os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "torch")
    return torch_home.expanduser() / "hub" / "checkpoints" / WEIGHTS_FILE


def find_weights(weights: str | None = None, *, download: bool = True) -> str:
    """`weights` if given; else the torch hub cache file; else download it there (online); else a clear error."""
    if weights:
        return weights
    path = default_weights_path()
    if path.is_file():
        return str(path)
    if download:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # check_hash compares the file's sha256 prefix with the one in its name (b8a52dc0).
            torch.hub.download_url_to_file(WEIGHTS_URL, str(path), hash_prefix=None, progress=True)
            return str(path)
        except Exception:  # noqa: BLE001 - offline or blocked: fall through to the instructions
            pass
    raise WeightsError(
        f"squeezenet1_1 weights not found and could not be downloaded; download {WEIGHTS_URL} and put it at "
        f"{path} (or pass --weights FILE)")


def build(weights: str | None = None, *, download: bool = True) -> SqueezeNet11:
    from .weights import load_state_dict_file

    model = SqueezeNet11()
    load_state_dict_file(model, find_weights(weights, download=download), "squeezenet1_1")
    return model
