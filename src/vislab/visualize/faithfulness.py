"""Is a saliency map faithful to the model? Scores computed from the model's own outputs.

- Deletion / insertion (Petsiuk et al., 2018, RISE): pixels are taken in the map's order, most salient first, in
  `steps` equal chunks. Deletion sets them to black and follows p(target) down from the image; insertion puts
  them back into a blurred copy and follows p(target) up. AUC = trapezoid area under the curve over [0, 1]:
  a faithful map has a low deletion AUC and a high insertion AUC.
- ROAD (Rong et al., 2022, remove and debias): the top (MoRF) or bottom (LeRF) fraction of pixels is removed and
  refilled by noisy linear imputation, each removed pixel the weighted mean of its 8 neighbours (1/6 sideways,
  1/12 diagonally) plus a little noise, so the hole carries no "this was removed" shape that the model could
  read. Reported: mean p(target) over the fractions, MoRF (low is faithful) and LeRF (high is faithful).
- Model randomization (Adebayo et al., 2018): the weights are re-initialized from the top layer down; a map that
  explains the model must change. Reported: Spearman rank correlation of each map with the map of the
  randomized model (low: the map depends on the weights; near 1: it would look the same for any weights).

Probabilities are the softmax of the model's scores. Images are in [0, 1]; maps are (H, W), larger = more salient.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..backbones import Backbone
from .augment import gaussian_blur
from .classifier import Model, scores_fn

Forward = Callable[[torch.Tensor], torch.Tensor]
NEIGHBOURS = (((0, 1), 1 / 6), ((0, -1), 1 / 6), ((1, 0), 1 / 6), ((-1, 0), 1 / 6),
              ((1, 1), 1 / 12), ((1, -1), 1 / 12), ((-1, 1), 1 / 12), ((-1, -1), 1 / 12))
"""ROAD's imputation weights: the 8 neighbours of a pixel, sideways ones counting twice the diagonal ones."""


def probabilities(forward: Forward, images: torch.Tensor, target: int, batch_size: int = 16) -> torch.Tensor:
    """p(target) for every image, `batch_size` at a time."""
    with torch.no_grad():
        return torch.cat([_forward_fast(forward, b).softmax(dim=1)[:, target] for b in images.split(batch_size)])


def _forward_fast(forward: Forward, batch: torch.Tensor) -> torch.Tensor:
    """`forward(batch)` with the batch in channels-last layout: the same numbers (to float rounding), about 1.5x
    faster convolutions on CPU (measured on EfficientNet-Lite0). A model that reshapes with ``.view`` refuses that
    layout; it gets the plain one."""
    if batch.dim() == 4:
        try:
            return forward(batch.contiguous(memory_format=torch.channels_last))
        except RuntimeError:
            pass
    return forward(batch)


def order(saliency: torch.Tensor) -> torch.Tensor:
    """Flat pixel indices, most salient first (ties keep raster order, so the result is reproducible)."""
    return torch.sort(saliency.flatten(), descending=True, stable=True).indices


def reveal_curve(forward: Forward, start: torch.Tensor, end: torch.Tensor, saliency: torch.Tensor, target: int,
                 steps: int = 16, batch_size: int = 16) -> torch.Tensor:
    """p(target) as the pixels of `end` replace those of `start` in the map's order, in `steps` chunks:
    (steps + 1,) values, the first for `start` itself, the last for `end`."""
    c, h, w = start.shape
    ranked = order(saliency)
    per_step = math.ceil(h * w / steps)
    rank = torch.empty_like(ranked)
    rank[ranked] = torch.arange(len(ranked), device=ranked.device)
    # image k takes `end` at the pixels ranked below k * per_step
    shown = rank.view(1, 1, h, w) < torch.arange(steps + 1, device=start.device).view(-1, 1, 1, 1) * per_step
    images = torch.where(shown, end[None], start[None])
    return probabilities(forward, images, target, batch_size)


def auc(curve: torch.Tensor) -> float:
    """Trapezoid area under a curve sampled at equal steps over [0, 1]."""
    return float(((curve[1:] + curve[:-1]) / 2).mean())


def deletion(forward: Forward, x: torch.Tensor, saliency: torch.Tensor, target: int, steps: int = 16,
             batch_size: int = 16) -> torch.Tensor:
    """The deletion curve: salient pixels set to black first."""
    return reveal_curve(forward, x, torch.zeros_like(x), saliency, target, steps, batch_size)


def insertion(forward: Forward, x: torch.Tensor, saliency: torch.Tensor, target: int, steps: int = 16,
              batch_size: int = 16, sigma: float = 5.0) -> torch.Tensor:
    """The insertion curve: salient pixels put back into a blurred copy first (RISE's blur, sigma in pixels)."""
    return reveal_curve(forward, gaussian_blur(x[None], sigma)[0], x, saliency, target, steps, batch_size)


def impute(x: torch.Tensor, removed: torch.Tensor, noise: float = 0.01, generator: torch.Generator | None = None
           ) -> torch.Tensor:
    """ROAD's noisy linear imputation: the `removed` pixels ((H, W) bool) of `x` (C, H, W) refilled so each equals
    the weighted mean of its neighbours inside the image (one sparse linear system for the whole hole), then
    Gaussian noise of standard deviation `noise` added to them."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import splu

    c, h, w = x.shape
    ys, xs = np.nonzero(removed.cpu().numpy())
    n = len(ys)
    if n == 0:
        return x.clone()
    var = -np.ones((h, w), dtype=np.int64)
    var[ys, xs] = np.arange(n)
    flat = x.detach().cpu().double().numpy().reshape(c, h * w)
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [np.zeros(n)]
    rhs = np.zeros((n, c))
    for (dy, dx), wt in NEIGHBOURS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        idx, ny, nx = np.nonzero(inside)[0], ny[inside], nx[inside]
        vals[0][idx] += wt  # the diagonal: total weight of the neighbours that exist
        other = var[ny, nx]
        hole = other >= 0
        rows.append(idx[hole]), cols.append(other[hole]), vals.append(np.full(hole.sum(), -wt))
        np.add.at(rhs, idx[~hole], wt * flat[:, ny[~hole] * w + nx[~hole]].T)
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsc()
    # The system is symmetric (a neighbour's weight is the same both ways) and diagonally dominant: SuperLU's
    # symmetric mode with a minimum-degree ordering of A + A^T fills in less than spsolve's default (~1.3x faster on
    # ROAD's large holes), the same solution to float rounding.
    lu = splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    filled = lu.solve(rhs).reshape(n, c)
    out = x.detach().clone()
    fill = torch.from_numpy(filled.T.copy()).to(x)
    if noise:
        fill = fill + torch.randn(fill.shape, generator=generator).to(x) * noise
    out[:, torch.from_numpy(ys).to(x.device), torch.from_numpy(xs).to(x.device)] = fill
    return out


def road(forward: Forward, x: torch.Tensor, saliency: torch.Tensor, target: int,
         fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9), *, most_relevant_first: bool = True,
         noise: float = 0.01, seed: int = 0) -> torch.Tensor:
    """p(target) after removing each fraction of the pixels (the most salient first, or the least) by `impute`."""
    h, w = saliency.shape
    ranked = order(saliency if most_relevant_first else -saliency)
    gen = torch.Generator().manual_seed(seed)
    images = []
    for f in fractions:
        removed = torch.zeros(h * w, dtype=torch.bool, device=saliency.device)
        removed[ranked[:round(f * h * w)]] = True
        images.append(impute(x, removed.view(h, w), noise, gen))
    return probabilities(forward, torch.stack(images), target)


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman rank correlation of two maps (tied values share their mean rank)."""
    ra, rb = _ranks(a.flatten().double()), _ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denom if denom > 0 else 0.0


def _ranks(v: torch.Tensor) -> torch.Tensor:
    values, inverse, counts = torch.unique(v, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    return (ends - (counts.double() - 1) / 2)[inverse]


def parameter_layers(model: Model) -> list[nn.Module]:
    """The modules that own weights, input side first (leaves only)."""
    net = model.model if isinstance(model, Backbone) else model
    return [m for m in net.modules() if not list(m.children()) and any(True for _ in m.parameters(recurse=False))]


def randomized(model: Model, top: int, seed: int = 0) -> Model:
    """A copy of `model` with its `top` last weight layers re-initialized (their own `reset_parameters`, else
    normal with each tensor's standard deviation), seeded."""
    copy_ = copy.deepcopy(model)
    layers = parameter_layers(copy_)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for m in layers[len(layers) - top:]:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            else:
                for p in m.parameters(recurse=False):
                    p.normal_(0, float(p.std()) if p.numel() > 1 else 1.0)
    return copy_


__all__ = ["deletion", "insertion", "reveal_curve", "auc", "impute", "road", "spearman", "randomized",
           "parameter_layers", "probabilities", "scores_fn"]
