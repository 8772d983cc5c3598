"""Top-k classification of images with a Backbone."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .backbone import Backbone


@dataclass(frozen=True)
class Prediction:
    index: int
    name: str
    prob: float


@torch.no_grad()
def classify(backbone: Backbone, images: list[torch.Tensor] | torch.Tensor, topk: int = 5,
             batch_size: int = 32) -> list[list[Prediction]]:
    """Top-`topk` classes for each image. `images` are loaded images (3, H, W) of any size (each is resized and
    center-cropped to the network's view) or a ready batch (N, 3, S, S) in [0, 1]."""
    if isinstance(images, torch.Tensor) and images.dim() == 4:
        batch_views = images
    else:
        # device: cpu-ok (an empty batch: the loop below never runs)
        batch_views = torch.cat([backbone.prepare(im) for im in images]) if len(images) else torch.empty(0, 3, 1, 1)
    k = min(topk, len(backbone.classes))
    out: list[list[Prediction]] = []
    for start in range(0, batch_views.shape[0], batch_size):
        probs = backbone.logits(batch_views[start:start + batch_size]).softmax(dim=-1)
        values, indices = probs.topk(k, dim=-1)
        for vals, idxs in zip(values.tolist(), indices.tolist()):
            out.append([Prediction(i, backbone.class_name(i), p) for i, p in zip(idxs, vals)])
    return out
