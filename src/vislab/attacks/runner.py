"""One entry point over the four attacks, driven by the jobs' settings (`AttackSettings`,
`RobustnessSettings`); budgets here are already in [0, 1] pixel units."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..backbones import Backbone
from .cw import cw_l2
from .deepfool import deepfool
from .fgsm import fgsm
from .pgd import pgd
from .settings import _AttackOptions, eps_unit

OnStep = Callable[[int, int], None]


def adversarial(model: Backbone | nn.Module, x0: torch.Tensor, labels: torch.Tensor, opts: _AttackOptions, *,
                eps: float, targeted: bool = False, early_stop: bool = False, seed: int | None = None,
                on_step: OnStep | None = None, should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """The adversarial batch for `opts.attack` (`eps` in [0, 1] units; ignored by cw and deepfool)."""
    if opts.attack == "fgsm":
        adv = fgsm(model, x0, labels, eps=eps, targeted=targeted)
        if on_step is not None:
            on_step(1, 1)
        return adv
    if opts.attack == "pgd":
        alpha = None if opts.alpha is None else eps_unit(opts.alpha, opts.norm)
        return pgd(model, x0, labels, eps=eps, alpha=alpha, steps=opts.n_steps, norm=opts.norm, targeted=targeted,
                   random_init=opts.random_start, restarts=opts.restarts, seed=seed, early_stop=early_stop,
                   on_step=on_step, should_stop=should_stop)
    if opts.attack == "cw":
        return cw_l2(model, x0, labels, c=opts.c, kappa=opts.kappa, steps=opts.n_steps, lr=opts.lr,
                     targeted=targeted, on_step=on_step, should_stop=should_stop)
    return deepfool(model, x0, labels, steps=opts.n_steps, overshoot=opts.overshoot, candidates=opts.candidates,
                    on_step=on_step, should_stop=should_stop)
