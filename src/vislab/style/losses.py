"""The losses of Gatys et al. (2015), with the cs231n signatures.

Features are (N, C, H, W) activations of a CNN. Everything works on a batch: a loss is summed over the batch,
and a style target Gram matrix of batch size 1 is compared with every image of the batch (broadcasting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def content_loss(content_weight: float, content_current: torch.Tensor,
                 content_original: torch.Tensor) -> torch.Tensor:
    """``content_weight * sum((current - original)**2)``: how far the features moved from the content's."""
    return content_weight * (content_current - content_original).pow(2).sum()


def gram_matrix(features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): inner products between channels, summed over positions.

    ``G[n, c, d] = sum_hw F[n, c, h, w] * F[n, d, h, w]``, divided by C*H*W when `normalize`, so layers of
    different sizes give Gram matrices of comparable scale and an image's Gram does not grow with its size.
    """
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    gram = torch.bmm(f, f.transpose(1, 2))
    return gram / (c * h * w) if normalize else gram


def style_loss(feats: Sequence[torch.Tensor] | Mapping[str, torch.Tensor], style_layers: Sequence,
               style_targets: Sequence[torch.Tensor], style_weights: Sequence[float]) -> torch.Tensor:
    """``sum_i style_weights[i] * sum((gram(feats[style_layers[i]]) - style_targets[i])**2)``.

    `feats` is indexed by the entries of `style_layers`: a list of every layer's features with integer indices
    (cs231n), or a dict of features keyed by layer name. `style_targets[i]` is the normalized Gram matrix of
    the style image at that layer, (1, C, C) or (N, C, C).
    """
    loss = 0.0
    for layer, target, weight in zip(style_layers, style_targets, style_weights, strict=True):
        loss = loss + weight * (gram_matrix(feats[layer]) - target).pow(2).sum()
    # device: cpu-ok (a 0-dim zero meets any device)
    return loss if isinstance(loss, torch.Tensor) else torch.tensor(0.0)


def tv_loss(img: torch.Tensor, tv_weight: float) -> torch.Tensor:
    """Total variation: ``tv_weight *`` the sum of squared differences between vertically and horizontally
    neighbouring pixels (all channels, all images). Keeps the optimized image smooth."""
    dh = img[..., 1:, :] - img[..., :-1, :]
    dw = img[..., :, 1:] - img[..., :, :-1]
    return tv_weight * (dh.pow(2).sum() + dw.pow(2).sum())
