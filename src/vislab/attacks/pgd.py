"""PGD (Madry et al., 2018): projected gradient steps inside an L-inf or L2 ball, with an optional random
start, restarts and early stopping.

Without a random start and early stopping it is step for step the loop of torchattacks' ``PGD`` / ``PGDL2``
(tested): sign steps of `alpha` (L-inf) or L2-normalized steps of length `alpha` (L2), each followed by the
projection onto the ball and the [0, 1] box."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..backbones import Backbone
from .base import Logits, fooled, generator, logits_and_grad, logits_fn, prepare
from .projection import normalize_l2, project, random_start

NORMS = ("linf", "l2")
OnStep = Callable[[int, int], None]


def default_alpha(eps: float, steps: int) -> float:
    """Madry et al.'s step size 2.5 * eps / steps: enough to cross the ball and back."""
    return 2.5 * eps / steps


def pgd(model: Backbone | nn.Module, images: torch.Tensor, labels: int | Sequence[int] | torch.Tensor, *,
        eps: float, alpha: float | None = None, steps: int = 10, norm: str = "linf", targeted: bool = False,
        random_init: bool = True, restarts: int = 1, seed: int | None = None, early_stop: bool = False,
        on_step: OnStep | None = None, should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """Adversarial images within `eps` (L-inf or L2, [0, 1] pixel units) of `images` (N, 3, H, W) in [0, 1].

    `labels`: the true classes (untargeted: move away) or the targets (`targeted`: move towards). `alpha`:
    step size (None: 2.5 * eps / steps). `restarts` > 1 repeats the attack from new random starts on the images
    not fooled yet, keeping each image's first success. `early_stop` freezes an image as soon as it is fooled
    (faster; the perturbation then is not the full-steps one). `seed` seeds the random starts on the images'
    device (None: torch's global generator). `on_step(done, total)` after every step; `should_stop()` ends
    the attack early with the iterates reached (always inside the ball)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    x0, y = prepare(images, labels)
    forward, alpha = logits_fn(model), default_alpha(eps, steps) if alpha is None else alpha
    gen = generator(seed, x0.device)
    best = x0.clone()
    todo = torch.arange(len(x0), device=x0.device)
    for r in range(restarts):
        start = random_start(x0[todo], eps, norm, gen) if random_init else x0[todo].clone()
        adv = _run(forward, x0[todo], y[todo], start, eps, alpha, steps, norm, targeted, early_stop,
                   on_step=on_step and (lambda k, r=r: on_step(r * steps + k, restarts * steps)),
                   should_stop=should_stop)
        best[todo] = adv
        if r + 1 == restarts or (should_stop is not None and should_stop()):
            break
        with torch.no_grad():
            todo = todo[~fooled(forward(adv), y[todo], targeted)]
        if not len(todo):
            break
    return best.detach()


def _run(forward: Logits, x0: torch.Tensor, y: torch.Tensor, x: torch.Tensor, eps: float, alpha: float,
         steps: int, norm: str, targeted: bool, early_stop: bool, *, on_step: OnStep | None,
         should_stop: Callable[[], bool] | None) -> torch.Tensor:
    """One PGD run from `x`; with `early_stop`, only the images not fooled yet are scored and stepped."""
    x = x.detach().clone()
    active = torch.arange(len(x), device=x.device) if early_stop else None  # None: every image, no indexing
    for k in range(steps):
        if should_stop is not None and should_stop():
            break
        xa, x0a, ya = (x, x0, y) if active is None else (x[active], x0[active], y[active])
        logits, g = logits_and_grad(forward, xa, ya, targeted, check=k == 0)
        if active is not None:  # the fooled images keep their iterate; only the others step
            keep = ~fooled(logits, ya, targeted)
            active, xa, x0a, g = active[keep], xa[keep], x0a[keep], g[keep]
            if not len(active):
                break
        step = g.sign() if norm == "linf" else normalize_l2(g)
        xa = project(xa + alpha * step, x0a, eps, norm).detach()
        if active is None:
            x = xa
        else:
            x[active] = xa
        if on_step is not None:
            on_step(k + 1)
    return x
