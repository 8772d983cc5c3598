"""Guided backpropagation (Springenberg et al., 2015) and Guided Grad-CAM (Selvaraju et al., 2017).

Guided backpropagation is the gradient of the class score with respect to the pixels, except that at every ReLU
only positive gradients pass back (the ReLU's own mask, then negative values zeroed). captum and
pytorch-grad-cam do this by hooking or replacing ``nn.ReLU`` modules, which misses ReLUs called as functions
(EfficientNet-Lite's ``F.relu6``). Here a torch function mode catches every relu / relu6 call while the gradient
is taken, module or function, so the method works on every backbone; on a network whose ReLUs are ``nn.ReLU``
modules it equals captum's `GuidedBackprop` (tests/visualize/test_cam_parity.py).

Guided Grad-CAM = guided backpropagation x the Grad-CAM map (ReLU applied, not rescaled) upsampled bilinearly to
the image, as captum's `GuidedGradCam` with ``interpolate_mode="bilinear"``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .cam import GradCAM, staged_forward, upsample
from .classifier import Model, as_batch, as_targets, model_device
from .saliency import Explanation, Target, channel_max, gradients


class _PositiveGrad(torch.autograd.Function):
    """The identity forward; backward lets only positive gradients through."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clone()  # a new tensor: a custom Function's view output could not be changed in place later

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(min=0)


_RELUS = {F.relu, F.relu_, F.relu6, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}


class GuidedReLUs(TorchFunctionMode):
    """While active, every relu / relu6 output (functions, nn.ReLU and nn.ReLU6 modules) passes back only positive
    gradients (run out of place)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in _RELUS:
            x = args[0]
            out = F.relu6(x) if func is F.relu6 else F.relu(x)  # out of place: the guided copy replaces it
            return _PositiveGrad.apply(out) if out.requires_grad else out
        if func is F.hardtanh and _hardtanh_bounds(args, kwargs)[0] == 0:  # nn.ReLU6 modules
            out = F.hardtanh(args[0], 0.0, _hardtanh_bounds(args, kwargs)[1])
            return _PositiveGrad.apply(out) if out.requires_grad else out
        return func(*args, **kwargs)


def _hardtanh_bounds(args: tuple, kwargs: dict) -> tuple[float, float]:
    lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
    hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
    return lo, hi


class GuidedBackprop:
    """``attribute(x, target)`` -> (N, 3, H, W) guided gradients; ``explain`` reduces them with `channel_max`."""

    def __init__(self, model: Model) -> None:
        self.model, self.forward = model, staged_forward(model)

    def attribute(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x).to(model_device(self.model))
        with GuidedReLUs():
            return gradients(self.forward, x, as_targets(target, len(x), x.device))

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        maps = channel_max(self.attribute(x, target))
        return Explanation(maps, [{} for _ in maps])


class GuidedGradCAM:
    """Guided backpropagation weighted by the Grad-CAM map of `layer` (None: `cam.default_layer`)."""

    def __init__(self, model: Model, layer: str | None = None) -> None:
        self.model = model
        self.guided, self.cam = GuidedBackprop(model), GradCAM(model, layer)

    @property
    def layer(self) -> str | None:
        return self.cam.layer

    def attribute(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x).to(model_device(self.model))
        heat = upsample(self.cam.raw(x, target), tuple(x.shape[-2:]))
        return self.guided.attribute(x, target) * heat[:, None]

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        maps = channel_max(self.attribute(x, target))
        return Explanation(maps, [{} for _ in maps])


__all__ = ["GuidedBackprop", "GuidedGradCAM", "GuidedReLUs"]
