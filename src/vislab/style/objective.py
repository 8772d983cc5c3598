"""The quantity style transfer minimizes: weighted content + style + total-variation loss of one image.

Targets (the content image's features, the style images' Gram matrices) are computed once. Each layer's term
is divided by the size of its target (``||P||^2`` for content, ``||A||^2`` for style), so a term reads as a
relative squared error, layers of any depth count alike, and the same ``content_weight`` and
``style_weight`` give a similar balance on every backbone and at every size. Per-layer weights are relative
(normalized to sum 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..backbones import Backbone
from ..jobs import SettingError
from .losses import content_loss, gram_matrix, style_loss, tv_loss


@dataclass
class Terms:
    """One evaluation of the objective: the weighted terms and their sum (tensors, differentiable)."""

    total: torch.Tensor
    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor

    def floats(self) -> dict[str, float]:
        return {k: float(getattr(self, k).detach()) for k in ("total", "content", "style", "tv")}


def check_layers(backbone: Backbone, layers: Sequence[str], setting: str) -> None:
    """Unknown layer names -> one error naming the setting and listing the backbone's layers."""
    names = backbone.layer_names
    unknown = [n for n in layers if n not in names]
    if unknown:
        shown = ", ".join(names) if len(names) <= 40 else ", ".join(names[:40]) + ", ..."
        raise SettingError(setting, f"has unknown layer {', '.join(map(repr, unknown))} for {backbone.name}; "
                                    f"its layers are: {shown}")


def relative_weights(weights: Sequence[float] | None, n: int, setting: str) -> list[float]:
    """Per-layer (or per-style) weights normalized to sum 1; None means equal weights. `setting` names the
    weights in errors."""
    if weights is None:
        return [1.0 / n] * n if n else []
    w = [float(v) for v in weights]
    if len(w) != n:
        raise SettingError(setting, f"has {len(w)} weight(s) for {n} item(s); give one weight each")
    if not all(0 <= v < math.inf for v in w):
        raise SettingError(setting, f"must be finite and >= 0, got {','.join(f'{v:g}' for v in w)}")
    total = sum(w)
    if not total > 0:
        raise SettingError(setting, "are all zero; give at least one positive weight")
    return [v / total for v in w]


class Objective:
    """``content_weight * sum_l w_l ||F_l - P_l||^2 / ||P_l||^2 + style_weight * sum_l v_l ||G_l - A_l||^2 /
    ||A_l||^2 + tv_weight * mean squared neighbour difference``, for images in [0, 1] of shape (1, 3, H, W).

    `content` may be None (texture synthesis) and `styles` empty (feature inversion); the matching weight is
    then 0. Several styles are blended by mixing their Gram matrices with `blend_weights` (as in
    neural-style).
    """

    def __init__(self, backbone: Backbone, *, content: torch.Tensor | None, styles: Sequence[torch.Tensor],
                 content_layers: Sequence[str], style_layers: Sequence[str],
                 content_layer_weights: Sequence[float] | None = None,
                 style_layer_weights: Sequence[float] | None = None,
                 blend_weights: Sequence[float] | None = None,
                 content_weight: float = 1.0, style_weight: float = 1.0, tv_weight: float = 0.0) -> None:
        self.backbone = backbone
        self.content_weight = content_weight if content is not None and content_layers else 0.0
        self.style_weight = style_weight if styles and style_layers else 0.0
        self.tv_weight = tv_weight
        self.content_layers = list(content_layers) if self.content_weight else []
        self.style_layers = list(style_layers) if self.style_weight else []
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        cw = relative_weights(content_layer_weights, len(content_layers), "content_layer_weights")
        sw = relative_weights(style_layer_weights, len(style_layers), "style_layer_weights")
        blend = relative_weights(blend_weights, len(styles), "style_blend_weights")

        with torch.no_grad():
            self.content_targets: list[torch.Tensor] = []
            self.content_weights: list[float] = []
            if self.content_layers:
                feats = backbone.features(content, self.content_layers)
                for layer, w in zip(self.content_layers, cw):
                    p = feats[layer].detach()
                    self.content_targets.append(p)
                    self.content_weights.append(self.content_weight * w / _size(p))
            self.style_targets: list[torch.Tensor] = []
            self.style_weights: list[float] = []
            if self.style_layers:
                grams = [0.0] * len(self.style_layers)
                for img, b in zip(styles, blend):
                    if b == 0:
                        continue
                    feats = backbone.features(img, self.style_layers)
                    grams = [g + b * gram_matrix(feats[layer]) for g, layer in zip(grams, self.style_layers)]
                for gram, w in zip(grams, sw):
                    self.style_targets.append(gram)
                    self.style_weights.append(self.style_weight * w / _size(gram))

    def __call__(self, img: torch.Tensor) -> Terms:
        feats = self.backbone.features(img, self.layers) if self.layers else {}
        zero = img.new_zeros(())
        content = zero
        for layer, target, w in zip(self.content_layers, self.content_targets, self.content_weights):
            content = content + content_loss(w, feats[layer], target)
        style = style_loss(feats, self.style_layers, self.style_targets, self.style_weights) \
            if self.style_layers else zero
        tv = tv_loss(img, self.tv_weight / img[0].numel()) if self.tv_weight else zero
        return Terms(content + style + tv, content, style, tv)


def _size(t: torch.Tensor) -> float:
    # A target that is all zeros (possible with random weights) would divide by zero; treat its size as 1.
    s = float(t.pow(2).sum())
    return s if s > 1e-12 else 1.0
