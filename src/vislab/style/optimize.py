"""Optimizing the pixels of one image: L-BFGS (the default, as in Gatys et al. and neural-style) or Adam.

One iteration is one evaluation of the objective and its gradient for both optimizers, so ``--iterations``
costs the same either way. L-BFGS runs without a line search (one evaluation per step, as in neural-style)
and keeps 20 steps of history: as many iterations to a given loss as 100 (neural-style's default), 10% less
time per step at 256 px, and a fifth of the memory (100 steps of a 1024x768 image are 1.9 GB).
`bench/style.py` compares it with Adam.

Both optimizers project the pixels back into [0, 1] after every step. Leaving L-BFGS unconstrained and
clamping once at the end is worse: the optimizer matches Gram matrices with out-of-range pixels, and clamping
them undoes much of it (a texture from noise ended at 5x the loss of the projected run). Projection does about
as well as scipy's bound-constrained L-BFGS-B here, at no extra cost.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .objective import Terms

HISTORY = 20
"""L-BFGS memory (steps); see the module docstring."""

StepFn = Callable[[int, Terms, torch.Tensor], None]
"""Called after every iteration with (iteration, terms of the image that entered it, the image after it)."""


class PixelOptimizer:
    """One image being optimized; `step()` runs one iteration and returns the losses of the image it started
    from. `lr` defaults to 1 for L-BFGS (its own step estimate), 0.02 for Adam (pixel units)."""

    def __init__(self, img: torch.Tensor, objective: Callable[[torch.Tensor], Terms], *,
                 optimizer: str = "lbfgs", lr: float | None = None, history: int = HISTORY) -> None:
        self.objective = objective
        self.image = img.detach().clone().requires_grad_(True)
        if optimizer == "lbfgs":
            # max_iter=1: each `step` evaluates the closure exactly once; the memory persists across steps.
            self.opt = torch.optim.LBFGS([self.image], lr=1.0 if lr is None else lr, max_iter=1,
                                         history_size=history, tolerance_grad=0.0, tolerance_change=0.0)
        elif optimizer == "adam":
            self.opt = torch.optim.Adam([self.image], lr=0.02 if lr is None else lr)
        else:
            raise ValueError(f"unknown optimizer {optimizer!r}")
        self._terms: Terms | None = None

    def _closure(self) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=False)
        self._terms = self.objective(self.image)
        self._terms.total.backward()
        return self._terms.total

    def step(self) -> Terms:
        self.opt.step(self._closure)
        with torch.no_grad():
            self.image.clamp_(0, 1)
        return self._terms


def optimize_pixels(img: torch.Tensor, objective: Callable[[torch.Tensor], Terms], *, iterations: int,
                    optimizer: str = "lbfgs", lr: float | None = None, history: int = HISTORY,
                    on_step: StepFn | None = None) -> torch.Tensor:
    """Minimize ``objective(x)`` over images x in [0, 1] (1, 3, H, W), starting at `img`; returns x."""
    run = PixelOptimizer(img, objective, optimizer=optimizer, lr=lr, history=history)
    for it in range(1, iterations + 1):
        terms = run.step()
        if on_step is not None:
            on_step(it, terms, run.image.detach())
    return run.image.detach()
