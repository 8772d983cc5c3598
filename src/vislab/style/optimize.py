"""Optimizing the pixels of one image: L-BFGS (the default, as in Gatys et al. and neural-style) or Adam.

One iteration is one evaluation of the objective and its gradient for both optimizers, so ``iterations``
costs the same either way. L-BFGS runs without a line search (one evaluation per step, as in neural-style)
and keeps 20 steps of history: as many iterations to a given loss as 100 (neural-style's default), 10% less
time per step at 256 px, and a fifth of the memory (100 steps of a 1024x768 image are 1.9 GB).
`bench/style.py` compares it with Adam.

On a GPU the loop reads nothing back while it runs: L-BFGS is `DeviceLBFGS` (torch's, with its decisions made on
the device), and the losses, the divergence check and the plateau test are read every `READ_EVERY` iterations
in one transfer, for those iterations in order. A plateau found that way ends the scale at the iteration where it
was reached (its image kept aside), so the result is the one a step-by-step loop returns; only up to
`READ_EVERY` - 1 iterations are computed in vain. On the CPU, where a read costs nothing, the loop is step by
step with torch's own L-BFGS, as before.

Both optimizers project the pixels back into [0, 1] after every step. Leaving L-BFGS unconstrained and
clamping once at the end is worse: the optimizer matches Gram matrices with out-of-range pixels, and clamping
them undoes much of it (a texture from noise ended at 5x the loss of the projected run). Projection does about
as well as scipy's bound-constrained L-BFGS-B here, at no extra cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..jobs import SettingError
from .device_lbfgs import DeviceLBFGS
from .objective import Terms
from .settings import OPTIMIZER_LR, STOP_WINDOW

HISTORY = 20
"""L-BFGS memory (steps); see the module docstring."""

READ_EVERY = 8
"""On a GPU, iterations between reads of the losses (see the module docstring)."""

StepFn = Callable[[int, Terms, torch.Tensor], None]
"""Called after every iteration with (iteration, terms of the image that entered it, the image after it)."""


@dataclass(frozen=True)
class Method:
    """One way to optimize pixels: how to make its torch optimizer, and how many image-sized buffers its state
    holds (for the memory estimate)."""

    make: Callable[[torch.Tensor, float, int], torch.optim.Optimizer]
    state_images: Callable[[int], int]


def _lbfgs(image: torch.Tensor, lr: float, history: int) -> torch.optim.Optimizer:
    if image.device.type != "cpu":
        return DeviceLBFGS([image], lr=lr, history_size=history)
    # max_iter=1: each `step` evaluates the closure exactly once; the memory persists across steps.
    return torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=history, tolerance_grad=0.0,
                             tolerance_change=0.0)


def _adam(image: torch.Tensor, lr: float, history: int) -> torch.optim.Optimizer:
    return torch.optim.Adam([image], lr=lr)


METHODS: dict[str, Method] = {
    # L-BFGS keeps `history` (step, gradient change) pairs plus the direction and previous gradient and step.
    "lbfgs": Method(_lbfgs, lambda history: 2 * history + 4),
    "adam": Method(_adam, lambda history: 2),  # first and second moments
}
"""Optimizer name -> `Method`; the names (and default lrs) are `settings.OPTIMIZER_LR`'s."""


class PixelOptimizer:
    """One image being optimized; `step()` runs one iteration and returns the losses of the image it started
    from. `lr` defaults to 1 for L-BFGS (its own step estimate), 0.02 for Adam (pixel units)."""

    def __init__(self, img: torch.Tensor, objective: Callable[[torch.Tensor], Terms], *,
                 optimizer: str = "lbfgs", lr: float | None = None, history: int = HISTORY) -> None:
        if optimizer not in METHODS:
            raise SettingError("optimizer", f"must be one of {', '.join(METHODS)}; got {optimizer!r}")
        self.objective = objective
        self.image = img.detach().clone().requires_grad_(True)
        self.opt = METHODS[optimizer].make(self.image, OPTIMIZER_LR[optimizer][0] if lr is None else lr, history)
        self._terms: Terms | None = None
        self.steps = 0

    def _closure(self) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=False)
        self._terms = self.objective(self.image)
        self._terms.total.backward()
        return self._terms.total

    def step(self) -> Terms:
        self.opt.step(self._closure)
        self.steps += 1
        total = float(self._terms.total.detach())
        if not math.isfinite(total) or not bool(torch.isfinite(self.image).all()):
            # Only a too-large step can get here (the settings refuse non-finite weights); say so, not garbage.
            raise SettingError("lr", f"made the optimization diverge at step {self.steps} (loss {total:g}, or pixels "
                                     "not finite); "
                                     "use a smaller lr")
        with torch.no_grad():
            self.image.clamp_(0, 1)
        return self._terms

    def step_unread(self) -> tuple[Terms, torch.Tensor]:
        """`step` without reading anything back: the terms, and whether the pixels stayed finite (a device
        flag, taken before the projection, which would turn an infinite pixel into a finite one)."""
        self.opt.step(self._closure)
        self.steps += 1
        finite = torch.isfinite(self.image).all()
        with torch.no_grad():
            self.image.clamp_(0, 1)
        return self._terms, finite

    def check(self, step: int, total: float, finite: bool) -> None:
        if not (math.isfinite(total) and finite):
            raise SettingError("lr", f"made the optimization diverge at step {step} (loss {total:g}, or pixels "
                                     "not finite); use a smaller lr")


def optimize_pixels(img: torch.Tensor, objective: Callable[[torch.Tensor], Terms], *, iterations: int,
                    optimizer: str = "lbfgs", lr: float | None = None, history: int = HISTORY,
                    on_step: StepFn | None = None, should_stop: Callable[[], bool] | None = None,
                    stop_tolerance: float = 0.0) -> torch.Tensor:
    """Minimize ``objective(x)`` over images x in [0, 1] (1, 3, H, W), starting at `img`; returns x.
    `should_stop()` is asked before every iteration: when true, the image so far is returned. With
    `stop_tolerance` > 0 it also ends when the loss has stopped falling (`Plateau`)."""
    run = PixelOptimizer(img, objective, optimizer=optimizer, lr=lr, history=history)
    plateau = Plateau(stop_tolerance)
    if img.device.type != "cpu":
        return _optimize_unread(run, iterations, on_step, should_stop, plateau)
    for it in range(1, iterations + 1):
        if should_stop is not None and should_stop():
            break
        terms = run.step()
        if on_step is not None:
            on_step(it, terms, run.image.detach())
        if plateau(float(terms.total.detach())):
            break
    return run.image.detach()


def _optimize_unread(run: PixelOptimizer, iterations: int, on_step: StepFn | None,
                     should_stop: Callable[[], bool] | None, plateau: Plateau) -> torch.Tensor:
    """`optimize_pixels` on a GPU: `READ_EVERY` iterations queued, then read back at once and judged in order."""
    pending: list[tuple[int, Terms, torch.Tensor, torch.Tensor]] = []
    for it in range(1, iterations + 1):
        if should_stop is not None and should_stop():
            break
        terms, finite = run.step_unread()
        pending.append((it, terms, finite, run.image.detach().clone()))
        if len(pending) == READ_EVERY or it == iterations:
            ended = _judge(run, pending, on_step, plateau)
            pending = []
            if ended is not None:
                return ended
    _judge(run, pending, on_step, plateau)
    return run.image.detach()


def _judge(run: PixelOptimizer, pending: list, on_step: StepFn | None, plateau: Plateau) -> torch.Tensor | None:
    """Read the pending iterations' numbers in one transfer and replay the per-step checks and callbacks in
    order; the image of the iteration where the loss reached a plateau, else None."""
    if not pending:
        return None
    names = ("total", "content", "style", "tv")
    rows = torch.stack([torch.stack([getattr(t, k).detach().float() for k in names] + [f.float()])
                        for _, t, f, _ in pending]).cpu()
    for (it, _, _, image), row in zip(pending, rows, strict=True):
        run.check(it, float(row[0]), bool(row[4]))
        if on_step is not None:
            on_step(it, Terms(*row[:4]), image)
        if plateau(float(row[0])):
            return image
    return None


class Plateau:
    """True once the loss fell by less than `tolerance` (a fraction) over the last `window` iterations; never
    when `tolerance` is 0. Judged on the loss entering each step, so one step's noise cannot end a scale."""

    def __init__(self, tolerance: float, window: int = STOP_WINDOW) -> None:
        self.tolerance, self.window, self.losses = tolerance, window, []

    def __call__(self, loss: float) -> bool:
        if not self.tolerance:
            return False
        self.losses.append(loss)
        if len(self.losses) <= self.window:
            return False
        before = self.losses[-1 - self.window]
        return before - loss < self.tolerance * abs(before)
