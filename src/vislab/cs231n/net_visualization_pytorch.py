"""`cs231n.net_visualization_pytorch` (the NetworkVisualization-PyTorch notebook's functions) over
`vislab.visualize`.

As in the course, `model` is a plain ``nn.Module`` mapping *normalized* images (see
`vislab.cs231n.image_utils.preprocess`) to class scores, and images are normalized tensors. vislab's own
functions (`vislab.visualize.saliency`, `.fooling`, `.class_viz`, `.augment`) take pixels in [0, 1] and a
`Backbone` (or a module), clamp to [0, 1], and regularize towards gray; the adapters follow the course.
"""

from __future__ import annotations

import torch
from scipy.ndimage import gaussian_filter1d
from torch import nn

from ..visualize.augment import jitter as _roll
from ..visualize.classifier import as_batch, as_targets
from ..visualize.parameterizations import ascent_step
from ..visualize.saliency import compute_saliency_maps as _saliency
from ..visualize.saliency import gradients
from . import image_utils
from .image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, deprocess, rescale

__all__ = ["compute_saliency_maps", "make_fooling_image", "class_visualization_update_step", "jitter",
           "blur_image", "preprocess", "deprocess", "rescale", "SQUEEZENET_MEAN", "SQUEEZENET_STD"]


def preprocess(img, size: int = 224) -> torch.Tensor:
    """The NetVis notebook's preprocess: `vislab.cs231n.image_utils.preprocess` with the course's default size
    224 here (the style notebook's default is 512). PIL image (or path, or array) -> normalized (1, 3, H, W)."""
    return image_utils.preprocess(img, size=size)


def compute_saliency_maps(X: torch.Tensor, y: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """Saliency maps (N, H, W): ``max_c |d scores[i, y[i]] / d X[i, c]|`` for normalized images X (N, 3, H, W)
    and labels y (N,). `vislab.visualize.saliency.compute_saliency_maps` itself (it takes a plain module as it
    is); `X` is not modified and gets no ``.grad``."""
    return _saliency(X, y, model)


def make_fooling_image(X: torch.Tensor, target_y: int, model: nn.Module) -> torch.Tensor:
    """Change normalized image(s) X (1, 3, H, W) until `model` classifies them as `target_y`: at most 100
    gradient-ascent steps on the target score, each ``1 * g / ||g||_2``, stopping as soon as the argmax is
    the target. Returns the fooling image (a new tensor, detached; X is unchanged).

    The course's loop, with vislab's `gradients` inside. `vislab.visualize.fooling.make_fooling_image` differs on
    purpose: [0, 1] pixels kept in range, optionally rounded to 8 bits, an L-inf budget and a score margin,
    and a `FoolingResult` with statistics. A batch is handled image by image here (each stops on its own).
    """
    learning_rate = 1.0
    x = as_batch(X, "fooling input").detach().clone()
    targets = as_targets(target_y, len(x), x.device)
    for _ in range(100):
        with torch.no_grad():
            active = model(x).argmax(dim=1) != targets
        if not active.any():
            break
        g = gradients(model, x[active], targets[active])
        norms = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        x[active] += learning_rate * g / norms
    return x if X.dim() == 4 else x[0]


def class_visualization_update_step(img: torch.Tensor, model: nn.Module, target_y: int, l2_reg: float,
                                    learning_rate: float) -> None:
    """One step of gradient ascent on ``scores[target_y] - l2_reg * ||img||_2^2`` for the normalized image
    `img` (1, 3, H, W), in place: ``img += learning_rate * g / ||g||_2``. Returns None, as the course.

    Runs `vislab.visualize.parameterizations.ascent_step`, whose regularizer is ``||I - 0.5||^2`` on [0, 1]
    pixels, on ``I = img + 0.5`` and a model that subtracts the 0.5 again, so the regularizer is the course's
    ``||img||^2`` on normalized pixels (equal up to float rounding of the shift). The step is normalized per
    image (the course's one-image batch normalizes over the whole tensor: the same thing).
    """
    x = as_batch(img, "class visualization image")
    shifted = x.detach() + 0.5
    ascent_step(shifted, lambda t: model(t - 0.5), as_targets(target_y, len(x), x.device), l2_reg,
                learning_rate)
    with torch.no_grad():
        x.copy_(shifted - 0.5)


def jitter(X: torch.Tensor, ox: int, oy: int) -> torch.Tensor:
    """Roll X (N, C, H, W) `ox` pixels right and `oy` down with wrap-around (a new tensor):
    `vislab.visualize.augment.jitter`, the same as the course's concatenation of slices."""
    return _roll(X, ox, oy)


def blur_image(X: torch.Tensor, sigma: float = 1) -> torch.Tensor:
    """Gaussian blur of X (N, C, H, W) along H and then W, in place; returns X. The course's function itself:
    scipy's ``gaussian_filter1d`` (radius ``int(4 sigma + 0.5)``, borders mirrored with the edge pixel repeated)
    on a numpy copy, written back through float32. vislab's own `vislab.visualize.augment.gaussian_blur` is the
    torch version (differentiable, on the tensor's device) and mirrors without repeating the edge pixel."""
    x_np = X.detach().cpu().clone().numpy()
    x_np = gaussian_filter1d(x_np, sigma, axis=2)
    x_np = gaussian_filter1d(x_np, sigma, axis=3)
    with torch.no_grad():
        X.copy_(torch.tensor(x_np, dtype=torch.float32).to(device=X.device, dtype=X.dtype))
    return X
