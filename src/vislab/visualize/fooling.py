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
box around the original. Reported changes (`l2`, `linf`) are in [0, 1] pixel units too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..backbones import Backbone
from ..images import resize_center_crop
from .classifier import Model, as_batch, as_targets, check_targets, model_device, scores_fn
from .progress import ProgressArg, as_progress
from .settings import FoolSettings, check_attack

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
    """Outcome of `make_fooling_image`; lists hold one entry per image. Changes are in [0, 1] pixel units."""

    image: torch.Tensor  # (N, 3, H, W) in [0, 1]; on the 8-bit grid when `quantized`
    target: list[int]
    success: list[bool]
    iterations: list[int]  # gradient steps taken (0 when the image was already classified as the target)
    l2: list[float]  # ||fooling - original||_2
    linf: list[float]  # max |fooling - original|
    before_class: list[int]
    before_prob: list[float]
    after_class: list[int]
    after_prob: list[float]
    target_prob_before: list[float]
    target_prob_after: list[float]
    quantized: bool = True
    stopped: bool = False  # `should_stop` ended the loop early

    def summary(self, i: int = 0) -> dict:
        """Image `i`'s numbers as a plain dict (for JSON and printing)."""
        keys = ("target", "success", "iterations", "l2", "linf", "before_class", "before_prob", "after_class",
                "after_prob", "target_prob_before", "target_prob_after")
        return {k: getattr(self, k)[i] for k in keys}


class _Attack:
    """The state of the fooling loop: the continuous iterate `x`, which images are still being changed, and
    how to score and step them."""

    def __init__(self, X: torch.Tensor, target_y, model: Model, *, lr: float, linf: float | None,
                 margin: float, quantized: bool, view: View | None) -> None:
        self.forward, self.view = scores_fn(model), view or classifier_view(model)
        self.x0 = as_batch(X, "fooling input").detach().to(model_device(model)).clamp(0, 1)
        n = len(self.x0)
        self.targets = as_targets(target_y, n, self.x0.device)
        self.x = self.x0.clone()  # the continuous iterate; what is scored and saved is `snap(x)`
        self.snap = quantize if quantized else (lambda t: t)
        self.active = torch.ones(n, dtype=torch.bool, device=self.x0.device)
        self.iterations = torch.zeros(n, dtype=torch.long, device=self.x0.device)
        self.lr, self.linf, self.margin, self.quantized = lr, linf, margin, quantized
        self.first_probs: torch.Tensor | None = None
        self.target_probs: torch.Tensor | None = None  # (N,) each image's target probability at its last scoring
        self._pending: tuple | None = None  # what the last `score` left for `step`

    def score(self, it: int) -> None:
        """Score the images still active (their 8-bit versions) and keep their target probabilities; mark the
        fooled ones done; keep what `step` needs."""
        idx = self.active.nonzero()[:, 0]  # only images not yet fooled are scored and stepped
        q = self.snap(self.x[idx]).requires_grad_(True)
        t = self.targets[idx]
        with torch.enable_grad():
            scores = self.forward(self.view(q))
            if it == 0:
                check_targets(scores, t)
            s_target = scores.gather(1, t[:, None])[:, 0]
        with torch.no_grad():
            probs = scores.softmax(dim=1)
            if self.first_probs is None:
                self.first_probs = probs.cpu()
                self.target_probs = probs.new_zeros(len(self.x0))
            runner_up = scores.scatter(1, t[:, None], float("-inf")).amax(dim=1)
            fooled = s_target - runner_up > self.margin
            self.active[idx[fooled]] = False
            self.target_probs[idx] = probs.gather(1, t[:, None])[:, 0]
        self._pending = (idx, q, s_target, ~fooled)

    def step(self) -> None:
        """One L2-normalized step for every image scored last and not yet fooled (projected into the L-inf box
        and [0, 1])."""
        idx, q, s_target, keep = self._pending
        (g,) = torch.autograd.grad(s_target[keep].sum(), q)
        with torch.no_grad():
            g, moving = g[keep], idx[keep]
            xm = self.x[moving] + self.lr * g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            if self.linf is not None:
                xm = self.x0[moving] + (xm - self.x0[moving]).clamp(-self.linf, self.linf)
            self.x[moving] = xm.clamp(0, 1)
            self.iterations[moving] += 1

    def result(self, stopped: bool) -> FoolingResult:
        with torch.no_grad():
            final = self.snap(self.x)
            after = self.forward(self.view(final)).softmax(dim=1).cpu()
            diff = (final - self.x0).flatten(1).cpu()
        tgt, first = self.targets.cpu(), self.first_probs
        return FoolingResult(
            image=final.detach(), target=tgt.tolist(), success=(after.argmax(dim=1) == tgt).tolist(),
            iterations=self.iterations.cpu().tolist(), l2=diff.norm(dim=1).tolist(),
            linf=diff.abs().amax(dim=1).tolist(), before_class=first.argmax(dim=1).tolist(),
            before_prob=first.amax(dim=1).tolist(), after_class=after.argmax(dim=1).tolist(),
            after_prob=after.amax(dim=1).tolist(), target_prob_before=first.gather(1, tgt[:, None])[:, 0].tolist(),
            target_prob_after=after.gather(1, tgt[:, None])[:, 0].tolist(), quantized=self.quantized,
            stopped=stopped)


def make_fooling_image(X: torch.Tensor, target_y: int | Sequence[int] | torch.Tensor, model: Model, *,
                       lr: float = FoolSettings.lr, max_iters: int = FoolSettings.max_iters,
                       linf: float | None = FoolSettings.linf, margin: float = FoolSettings.margin,
                       quantized: bool = True, view: View | None = None, progress: ProgressArg = None,
                       should_stop: Callable[[], bool] | None = None) -> FoolingResult:
    """Make images X (3, H, W) or (N, 3, H, W) in [0, 1] be classified as `target_y` (one class or one per
    image).

    `lr` is the L2 length of each step in [0, 1] pixel units; each image stops on its own once it is fooled.
    `quantized=False` runs the plain classic loop on continuous pixels. `progress(it, max_iters, fooled=k,
    target_prob=p)` is called after every scoring pass (it = 0 scores the original images; True: a bar on
    stderr); `p` is the target's probability averaged over the images, each at its last scoring (for one image:
    its probability now). `should_stop()` before each step ends the loop early (the result says ``stopped``).
    """
    check_attack(lr, max_iters, linf, margin)
    attack = _Attack(X, target_y, model, lr=lr, linf=linf, margin=margin, quantized=quantized, view=view)
    stopped = False
    with as_progress(progress, "fooling") as report:
        for it in range(max_iters + 1):
            attack.score(it)
            report(it, max_iters, fooled=len(attack.x0) - int(attack.active.sum()),
                   target_prob=float(attack.target_probs.mean()))
            if not attack.active.any() or it == max_iters:
                break
            if should_stop is not None and should_stop():
                stopped = True
                break
            attack.step()
    return attack.result(stopped)
