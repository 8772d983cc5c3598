"""Targeted fooling images (Szegedy et al., 2014; the cs231n "fooling image" exercise).

Gradient ascent on the target's unnormalized score with L2-normalized steps ``dX = lr * g / ||g||_2``,
stopping as soon as the model predicts the target. Two things make the result hold up outside the loop:

- 8-bit quantization. A saved PNG rounds every value to k/255, which can undo a change of a fraction of a
  level. So each iteration scores (and takes the gradient at) the *rounded* image, while the steps accumulate
  in a continuous copy (a straight-through estimate). The loop stops only when the rounded image - exactly
  what gets saved - is classified as the target, ahead of every other class by `margin` logits (so float
  noise from another batch size or machine cannot flip it back).
- The classifier's view. A Backbone looks at a resized, center-cropped view of a photo (`Backbone.prepare`);
  the attack goes through that same differentiable view, so the fooling image keeps the input's resolution
  and `vislab classify` sees what the loop saw.

Pixels stay in [0, 1]; an optional L-inf budget `linf` (in [0, 1] units) projects every step back into the
box around the original.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..backbones import Backbone
from ..errors import ConfigError
from ..images import resize_center_crop
from .classifier import Model, as_batch, as_targets, check_targets, model_device, scores_fn

View = Callable[[torch.Tensor], torch.Tensor]


def classifier_view(model: Model) -> View:
    """The differentiable map from an image batch to what the model classifies: for a Backbone its resize +
    center crop (identity for images already at its input size), for a plain module the images as they are."""
    if isinstance(model, Backbone):
        size, resize_to = model.input_size, model.resize_size

        def view(x: torch.Tensor) -> torch.Tensor:
            if x.shape[-2:] == (size, size) and resize_to in (None, size):
                return x
            return resize_center_crop(x, size, resize_to=resize_to)

        return view
    return lambda x: x


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit levels k/255 that a saved PNG holds (the same rounding as `images.to_uint8`)."""
    return torch.round(x.clamp(0, 1) * 255) / 255


@dataclass
class FoolingResult:
    """Outcome of `make_fooling_image`; lists hold one entry per image. Changes are in 0-255 pixel units."""

    image: torch.Tensor  # (N, 3, H, W) in [0, 1]; on the 8-bit grid when `quantized`
    target: list[int]
    success: list[bool]
    iterations: list[int]  # gradient steps taken (0 when the image was already classified as the target)
    l2: list[float]  # ||fooling - original||_2 * 255
    linf: list[float]  # max |fooling - original| * 255
    before_class: list[int]
    before_prob: list[float]
    after_class: list[int]
    after_prob: list[float]
    target_prob_before: list[float]
    target_prob_after: list[float]
    quantized: bool = True

    def summary(self, i: int = 0) -> dict:
        """Image `i`'s numbers as a plain dict (for JSON and printing)."""
        keys = ("target", "success", "iterations", "l2", "linf", "before_class", "before_prob", "after_class",
                "after_prob", "target_prob_before", "target_prob_after")
        return {k: getattr(self, k)[i] for k in keys}


def make_fooling_image(X: torch.Tensor, target_y: int | Sequence[int] | torch.Tensor, model: Model, *,
                       lr: float = 0.25, max_iters: int = 100, linf: float | None = None,
                       margin: float = 0.01, quantized: bool = True, view: View | None = None,
                       progress: bool = False,
                       on_step: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
                       ) -> FoolingResult:
    """Make images X (3, H, W) or (N, 3, H, W) in [0, 1] be classified as `target_y` (one class or one per
    image).

    `lr` is the L2 length of each step in [0, 1] pixel units; each image stops on its own once it is fooled.
    `quantized=False` runs the plain classic loop on continuous pixels. `on_step(it, indices, target_probs)`
    is called after every scoring pass with the images scored in it (it = 0 is the original images).
    """
    if lr <= 0 or max_iters < 0 or margin < 0:
        raise ConfigError(f"fooling needs lr > 0, max_iters >= 0 and margin >= 0, got {lr}, {max_iters}, "
                          f"{margin}")
    if linf is not None and not 0 < linf <= 1:
        raise ConfigError(f"the L-inf budget must be in (0, 1] (pixel units; 8/255 = {8 / 255:.4f}), "
                          f"got {linf}")
    forward, view = scores_fn(model), view or classifier_view(model)
    x0 = as_batch(X, "fooling input").detach().to(model_device(model)).clamp(0, 1)
    n = len(x0)
    targets = as_targets(target_y, n, x0.device)
    x = x0.clone()  # the continuous iterate; what is scored and saved is `snap(x)`
    snap = quantize if quantized else (lambda t: t)
    active = torch.ones(n, dtype=torch.bool, device=x0.device)
    iterations = torch.zeros(n, dtype=torch.long, device=x0.device)
    first_probs = None
    bar = tqdm(total=max_iters, desc="fooling", unit="it", disable=not progress, leave=False)
    for it in range(max_iters + 1):
        idx = active.nonzero()[:, 0]  # only images not yet fooled are scored and stepped
        q = snap(x[idx]).requires_grad_(True)
        t = targets[idx]
        with torch.enable_grad():
            scores = forward(view(q))
            if it == 0:
                check_targets(scores, t)
            s_target = scores.gather(1, t[:, None])[:, 0]
        with torch.no_grad():
            if first_probs is None:
                first_probs = scores.softmax(dim=1).cpu()
            runner_up = scores.scatter(1, t[:, None], float("-inf")).amax(dim=1)
            fooled = s_target - runner_up > margin
            active[idx[fooled]] = False
        if on_step is not None:
            on_step(it, idx.cpu(), scores.detach().softmax(dim=1).gather(1, t[:, None])[:, 0].cpu())
        if not active.any() or it == max_iters:
            break
        keep = ~fooled
        (g,) = torch.autograd.grad(s_target[keep].sum(), q)
        with torch.no_grad():
            g, moving = g[keep], idx[keep]
            step = lr * g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            xm = x[moving] + step
            if linf is not None:
                xm = x0[moving] + (xm - x0[moving]).clamp(-linf, linf)
            x[moving] = xm.clamp(0, 1)
            iterations[moving] += 1
        bar.update(1)
        bar.set_postfix(fooled=f"{n - int(active.sum())}/{n}")
    bar.close()
    with torch.no_grad():
        final = snap(x)
        after = forward(view(final)).softmax(dim=1).cpu()
        diff = (final - x0).flatten(1).cpu() * 255
    tgt = targets.cpu()
    return FoolingResult(
        image=final.detach(),
        target=tgt.tolist(),
        success=(after.argmax(dim=1) == tgt).tolist(),
        iterations=iterations.cpu().tolist(),
        l2=diff.norm(dim=1).tolist(),
        linf=diff.abs().amax(dim=1).tolist(),
        before_class=first_probs.argmax(dim=1).tolist(),
        before_prob=first_probs.amax(dim=1).tolist(),
        after_class=after.argmax(dim=1).tolist(),
        after_prob=after.amax(dim=1).tolist(),
        target_prob_before=first_probs.gather(1, tgt[:, None])[:, 0].tolist(),
        target_prob_after=after.gather(1, tgt[:, None])[:, 0].tolist(),
        quantized=quantized,
    )
