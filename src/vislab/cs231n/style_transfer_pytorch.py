"""`cs231n.style_transfer_pytorch` (the StyleTransfer-PyTorch notebook's functions) over `vislab.style`.

The losses are vislab's own (`vislab.style.losses`), which already have the course's signatures and its
*unnormalized sums*: ``content_weight * sum((F - P)**2)``, a Gram matrix divided by C*H*W, ``sum_i w_i *
sum((G_i - A_i)**2)``, ``tv_weight * sum`` of squared neighbour differences. Higher up, vislab's style jobs
(`vislab.style.objective`) combine them differently (per-layer weights relative to the loss at the start);
the adapters here do not.

`cnn` is the course's ``squeezenet1_1(pretrained=True).features``: a module whose children run in order on
the normalized image. `default_cnn()` gives vislab's SqueezeNet 1.1 features when the weights file named by the
environment variable ``VISLAB_SQUEEZENET_WEIGHTS`` exists (or is in the torch hub cache), else vislab's default
backbone (``efficientnet_lite0``, offline) with its own normalization folded into the first stage, so indices
refer to its stages and the course's layer numbers pick different (but valid) layers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from ..nn.gradcheck import rel_error
from ..style.losses import content_loss, gram_matrix, style_loss, tv_loss
from .image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, deprocess, preprocess, rescale

WEIGHTS_ENV = "VISLAB_SQUEEZENET_WEIGHTS"

__all__ = ["content_loss", "gram_matrix", "style_loss", "tv_loss", "extract_features", "features_from_img",
           "style_transfer", "default_cnn", "squeezenet_weights", "preprocess", "deprocess", "rescale", "rel_error",
           "WEIGHTS_ENV"]

_CNN: dict[str, nn.Module] = {}


def squeezenet_weights() -> str | None:
    """The SqueezeNet 1.1 weights file to use: ``$VISLAB_SQUEEZENET_WEIGHTS`` if that file exists, else the
    torch hub cache file if present, else None (nothing is downloaded)."""
    from ..backbones.squeezenet import default_weights_path

    env = os.environ.get(WEIGHTS_ENV)
    if env and os.path.isfile(env):
        return env
    cached = default_weights_path()
    return str(cached) if cached.is_file() else None


class _Renormalize(nn.Module):
    """SqueezeNet-normalized input -> another network's normalization."""

    def __init__(self, mean, std) -> None:
        super().__init__()
        # device: cpu-ok (buffers: move with the module)
        sq_m, sq_s = torch.from_numpy(SQUEEZENET_MEAN), torch.from_numpy(SQUEEZENET_STD)
        # device: cpu-ok (buffers: move with the module)
        self.register_buffer("scale", (sq_s / torch.tensor(std)).view(1, 3, 1, 1))
        # device: cpu-ok (buffers: move with the module)
        self.register_buffer("shift", ((sq_m - torch.tensor(mean)) / torch.tensor(std)).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def default_cnn() -> nn.Module:
    """The feature extractor used when none is passed (cached): SqueezeNet 1.1 ``features`` from a weights file
    (see `squeezenet_weights`), else vislab's default backbone's stages (frozen, eval)."""
    weights = squeezenet_weights()
    key = weights or "default"
    if key not in _CNN:
        from .. import backbones
        from ..backbones import squeezenet

        if weights:
            net = squeezenet.build(weights, download=False).features
        else:
            bb = backbones.load(backbones.DEFAULT)
            mods = [m for _, m in bb.stages]
            mods[0] = nn.Sequential(_Renormalize(bb.mean, bb.std), mods[0])
            net = nn.Sequential(*mods)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        _CNN[key] = net
    return _CNN[key]


def extract_features(x: torch.Tensor, cnn: nn.Module) -> list[torch.Tensor]:
    """Run normalized images x (N, 3, H, W) through the children of `cnn` in order; returns every child's output
    (a list, as the course). As the course, an in-place ReLU child overwrites the conv output before it."""
    feats = []
    for module in cnn.children():
        x = module(x)
        feats.append(x)
    return feats


def features_from_img(imgpath, imgsize: int, cnn: nn.Module | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Load the image file `imgpath`, `preprocess` it to shorter side `imgsize`; returns
    ``(extract_features(img, cnn), img)``. The course used a notebook-global `cnn`; here it is a keyword
    (default `default_cnn()`)."""
    cnn = default_cnn() if cnn is None else cnn
    img = preprocess(Image.open(imgpath), size=imgsize).to(_device(cnn))
    return extract_features(img, cnn), img


def _device(cnn: nn.Module) -> torch.device:
    p = next(cnn.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def style_transfer(content_image, style_image, image_size: int, style_size: int, content_layer: int,
                   content_weight: float, style_layers: Sequence[int], style_weights: Sequence[float],
                   tv_weight: float, init_random: bool = False, *, cnn: nn.Module | None = None,
                   verbose: bool = True) -> Image.Image:
    """The course's loop: Adam on the normalized pixels, lr 3.0 then 0.1 from iteration 180, 200 iterations,
    pixels clamped to [-1.5, 1.5] for the first 190; loss = content + style + tv (the unnormalized sums above).

    The course shows the image at iterations 0 and 100 and at the end with matplotlib; this prints the
    iteration (when `verbose`) and returns the final image (`deprocess`, a PIL image) instead of None.
    """
    cnn = default_cnn() if cnn is None else cnn
    dev = _device(cnn)
    content_img = preprocess(Image.open(content_image), size=image_size).to(dev)
    content_target = extract_features(content_img, cnn)[content_layer].detach().clone()
    style_img = preprocess(Image.open(style_image), size=style_size).to(dev)
    feats = extract_features(style_img, cnn)
    style_targets = [gram_matrix(feats[i].detach().clone()) for i in style_layers]

    img = torch.empty_like(content_img).uniform_(0, 1) if init_random else content_img.clone()
    img.requires_grad_(True)
    initial_lr, decayed_lr, decay_lr_at = 3.0, 0.1, 180
    optimizer = torch.optim.Adam([img], lr=initial_lr)
    for t in range(200):
        if t < 190:
            img.data.clamp_(-1.5, 1.5)
        optimizer.zero_grad()
        feats = extract_features(img, cnn)
        loss = (content_loss(content_weight, feats[content_layer], content_target)
                + style_loss(feats, style_layers, style_targets, style_weights) + tv_loss(img, tv_weight))
        loss.backward()
        if t == decay_lr_at:
            optimizer = torch.optim.Adam([img], lr=decayed_lr)
        optimizer.step()
        if verbose and t % 100 == 0:
            print(f"Iteration {t}")
    if verbose:
        print(f"Iteration {t}")
    return deprocess(img.detach().cpu())
