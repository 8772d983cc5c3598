"""Integrated gradients (Sundararajan et al., 2017).

    IG(x) = (x - x') * integral_0^1 grad s_y(x' + a (x - x')) da

summed over pixels it equals s_y(x) - s_y(x') ("completeness"). The integral is a quadrature over points on
the path. The fixed rules are captum's (same points and weights, except the trapezoid rule, see
`path_weights`).

Why an adaptive rule too: ReLU6 networks such as EfficientNet-Lite are piecewise linear, so along the path the
integrand is piecewise constant with a kink every ~1e-4 in `a`, and with a black baseline much of the score is
gained in the first few percent of the path, where the network leaves its dark-image regime. A uniform grid
then needs thousands of points for completeness within 1%. ``method="adaptive"`` starts from `n_steps`
intervals (midpoint rule), knows each interval's exact score increment from forward passes at its ends, and
triples the points of the intervals whose estimate is furthest off, until the completeness error, and the
root-sum-square of the per-interval errors, are below ``tol * |s_y(x) - s_y(x')|``, or `max_steps` gradients
were taken.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ConfigError
from ..jobs import Progress
from .baselines import check_baseline, make_baselines
from .classifier import Model, as_batch, as_targets, model_device, scores_fn, target_scores
from .saliency import Explanation, Target, channel_max, gradients

Baseline = float | torch.Tensor | Sequence[torch.Tensor] | str

IG_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid",
              "adaptive")


# device: cpu-ok (quadrature nodes and weights, moved .to(x) at use)
def path_weights(n_steps: int, method: str = "gausslegendre") -> tuple[torch.Tensor, torch.Tensor]:
    """Points a_k in [0, 1] and weights w_k with sum_k w_k f(a_k) ~ integral_0^1 f, in float64.

    The trapezoid rule uses the spacing 1/(n-1) of its points, so its weights sum to 1 (captum's
    ``riemann_trapezoid`` weights its points 1/n, ends 1/2n, which sum to (n-1)/n).
    """
    n = int(n_steps)
    if method == "gausslegendre":
        if n < 1:
            raise ConfigError(f"integrated gradients needs at least 1 step, got {n}")
        nodes, weights = np.polynomial.legendre.leggauss(n)  # on [-1, 1]
        return torch.tensor(0.5 * (nodes + 1)), torch.tensor(0.5 * weights)
    if method not in IG_METHODS or method == "adaptive":
        raise ConfigError(f"unknown integration method {method!r}: choose {', '.join(IG_METHODS)}")
    if n < 2:
        raise ConfigError(f"integrated gradients with {method} needs at least 2 steps, got {n}")
    k = torch.arange(n, dtype=torch.float64)
    if method == "riemann_trapezoid":
        w = torch.full((n,), 1.0 / (n - 1), dtype=torch.float64)
        w[0] = w[-1] = 0.5 / (n - 1)
        return k / (n - 1), w
    offset = {"riemann_left": 0.0, "riemann_middle": 0.5, "riemann_right": 1.0}[method]
    return (k + offset) / n, torch.full((n,), 1.0 / n, dtype=torch.float64)


class IntegratedGradients:
    """``IntegratedGradients(model).attribute(x, target, baseline=0.0) -> (N, 3, H, W)`` signed attributions.

    `baseline` is a number, a tensor like x, a list of such (integrated gradients averaged over them), or the name
    of a kind in `baselines.BASELINES` (``"blur"``, ``"black"``, ``"uniform"``) made per call with
    `baseline_samples` draws of a CPU generator seeded with `seed`; the default is a black image, as in captum.
    `internal_batch_size` path points go through the network at a time. `progress(step, total)`, if given, is
    called after every batch of gradients: `step` gradients taken so far for the current image, of at most `total`
    (its budget: `n_steps`, or `max_steps` when adaptive, per baseline; adaptive may end early). After
    `attribute`, ``steps_used`` holds the number of gradient evaluations per image (all its baselines together).
    """

    def __init__(self, model: Model, *, n_steps: int = 50, method: str = "gausslegendre",
                 internal_batch_size: int = 25, tol: float = 0.01, max_steps: int = 1024,
                 baseline: Baseline = 0.0, baseline_samples: int = 1, seed: int | None = None,
                 progress: Progress | None = None) -> None:
        if internal_batch_size < 1:
            raise ConfigError(f"internal_batch_size must be >= 1, got {internal_batch_size}")
        if method == "adaptive":
            if n_steps < 1 or max_steps < n_steps or tol < 0:
                raise ConfigError("adaptive integrated gradients needs 1 <= n_steps <= max_steps and "
                                  "tol >= 0, "
                                  f"got n_steps={n_steps}, max_steps={max_steps}, tol={tol}")
        else:
            path_weights(n_steps, method)  # validate now, not halfway through a batch
        if isinstance(baseline, str):
            check_baseline(baseline, baseline_samples)
        self.model, self.forward = model, scores_fn(model)
        self.n_steps, self.method, self.internal_batch_size = n_steps, method, internal_batch_size
        self.tol, self.max_steps = tol, max_steps
        self.baseline, self.baseline_samples, self.seed = baseline, baseline_samples, seed
        self.progress = progress
        self.steps_used: list[int] = []
        self._taken, self._budget = 0, 0  # gradients taken so far for the current image, and its most (`progress`)

    def baselines_for(self, x: torch.Tensor, baseline: Baseline | None = None) -> list[torch.Tensor]:
        """The baselines `attribute` uses for images `x` (N, 3, H, W): a list of tensors shaped like `x`."""
        b = self.baseline if baseline is None else baseline
        if isinstance(b, str):
            gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
            return make_baselines(x, b, self.baseline_samples, generator=gen)
        if isinstance(b, (list, tuple)):
            if not b:
                raise ConfigError("integrated gradients needs at least one baseline, got an empty list")
            return [torch.as_tensor(bi, dtype=x.dtype, device=x.device).expand_as(x) for bi in b]
        return [torch.as_tensor(b, dtype=x.dtype, device=x.device).expand_as(x)]

    def attribute(self, x: torch.Tensor, target: Target, baseline: Baseline | None = None, *,
                  return_convergence_delta: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Attributions (None: the baseline given at construction); with ``return_convergence_delta`` also
        sum(attributions) - (s_y(x) - mean_k s_y(baseline_k)) per image: the quadrature error, small when the
        path is sampled finely enough."""
        x = as_batch(x).to(model_device(self.model))
        targets = as_targets(target, len(x), x.device)
        bases = self.baselines_for(x, baseline)
        integral = self._adaptive if self.method == "adaptive" else self._fixed
        self.steps_used = []
        self._budget = (self.max_steps if self.method == "adaptive" else self.n_steps) * len(bases)
        out = []
        for i, (xi, ti) in enumerate(zip(x, targets)):
            self._taken = 0
            total = torch.zeros_like(xi)
            for base in bases:
                mean_grad = integral(xi, base[i], ti)
                total += mean_grad * (xi - base[i])
            out.append(total / len(bases))
            self.steps_used.append(self._taken)
        attributions = torch.stack(out)
        if not return_convergence_delta:
            return attributions
        with torch.no_grad():
            s_x = target_scores(self.forward(x), targets)
            s_base = torch.stack([target_scores(self.forward(b.contiguous()), targets) for b in bases]).mean(0)
        return attributions, attributions.flatten(1).sum(dim=1) - (s_x - s_base)

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        """`channel_max` maps of the attributions, and per image the gradients taken (``ig_steps``), the score
        difference to the baseline (``ig_score_gap``) and how far the attributions' sum is from it, as a fraction
        (``ig_completeness_error``)."""
        attributions, delta = self.attribute(x, target, return_convergence_delta=True)
        numbers = []
        for a, d, used in zip(attributions, delta.tolist(), self.steps_used):
            gap = float(a.sum()) - d
            numbers.append({"ig_steps": used, "ig_score_gap": gap,
                            "ig_completeness_error": abs(d) / max(abs(gap), 1e-12)})
        return Explanation(channel_max(attributions), numbers)

    def _grads(self, xi: torch.Tensor, bi: torch.Tensor, ti: torch.Tensor, alphas: torch.Tensor):
        """Gradients at the path points b + a (x - b), `internal_batch_size` at a time, yielded in order."""
        for start in range(0, len(alphas), self.internal_batch_size):
            a = alphas[start:start + self.internal_batch_size].to(xi).view(-1, 1, 1, 1)
            g = gradients(self.forward, bi + a * (xi - bi), ti.expand(len(a)))
            self._taken += len(g)
            if self.progress is not None:
                self.progress(self._taken, self._budget)
            yield g

    def _fixed(self, xi, bi, ti) -> torch.Tensor:
        alphas, weights = path_weights(self.n_steps, self.method)
        total = torch.zeros_like(xi)
        start = 0
        for g in self._grads(xi, bi, ti, alphas):
            total += (g * weights[start:start + len(g)].to(g).view(-1, 1, 1, 1)).sum(dim=0)
            start += len(g)
        return total

    def _adaptive(self, xi, bi, ti) -> torch.Tensor:
        k = self.n_steps
        # device: cpu-ok (quadrature nodes, moved .to(x) at use)
        edges = torch.linspace(0, 1, k + 1, dtype=torch.float64)
        h = 1.0 / k
        diff = xi - bi
        with torch.no_grad():  # the exact score at every interval end (forward passes only)
            f = torch.cat([target_scores(self.forward(bi + a.to(xi).view(-1, 1, 1, 1) * diff),
                                         ti.expand(len(a))) for a in edges.split(self.internal_batch_size)])
            f = f.double().cpu()
        increments, gap = f[1:] - f[:-1], float(f[-1] - f[0])
        integrals = torch.zeros((k, *xi.shape), dtype=xi.dtype, device=xi.device)  # per interval
        points = [0] * k
        # device: cpu-ok (host-side error bookkeeping on .cpu() scores)
        errors = torch.zeros(k, dtype=torch.float64)
        todo = list(range(k))  # first round: every interval gets its midpoint
        used = 0
        while todo:
            # Interval i with m points gets 3m: the old midpoints stay midpoints of the finer grid.
            plan = []
            for i in todo:
                m = points[i]
                new_m = 3 * m if m else 1
                # device: cpu-ok (quadrature nodes, moved .to(x) at use)
                j = torch.arange(new_m, dtype=torch.float64)
                if m:
                    j = j[j % 3 != 1]
                plan.append((i, new_m, edges[i] + (j + 0.5) * h / new_m))
            grads = torch.cat(list(self._grads(xi, bi, ti, torch.cat([a for _, _, a in plan]))))
            used += len(grads)
            for (i, new_m, _), g in zip(plan, grads.split([len(a) for _, _, a in plan])):
                integrals[i] = integrals[i] * (1 / 3 if points[i] else 0) + g.sum(dim=0) * (h / new_m)
                points[i] = new_m
                errors[i] = float((integrals[i] * diff).sum()) - float(increments[i])
            # Interval errors add up like random ones: stop when their sum and its typical size are both
            # small.
            if max(abs(float(errors.sum())), float(errors.norm())) <= self.tol * abs(gap):
                break
            # Refine the worst intervals, about one internal batch of new points per round, within the budget.
            todo, extra = [], 0
            for i in errors.abs().argsort(descending=True).tolist():
                cost = 2 * points[i]
                if used + extra + cost > self.max_steps or (todo and extra + cost > self.internal_batch_size):
                    break
                todo.append(i)
                extra += cost
        return integrals.sum(dim=0)
