"""Numerical gradients by centred differences, and the relative error used to compare them with backprop.

Run these in float64. The derivative is taken with the five-point stencil
    f'(x) ~ (-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / 12h,
whose truncation error is ~h^4 (the two-point (f(x + h) - f(x - h)) / 2h has ~h^2), so with h = 1e-3 both
that and the rounding error (~eps |f| / h) stay near 1e-12: a correct backward pass agrees to ~1e-9 even in
its smallest entries, which `rel_error` judges relative to their own size; a wrong one is off by order 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise; ~1e-7 or less means 'equal' for float64 gradients."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _derivative(g: Callable[[], float], x: np.ndarray, ix: tuple, h: float) -> float:
    """d g / d x[ix] by the five-point stencil; x[ix] is restored afterwards."""
    old = x[ix]
    vals = []
    for step in (2 * h, h, -h, -2 * h):
        x[ix] = old + step
        vals.append(g())
    x[ix] = old
    f2, f1, m1, m2 = vals
    return (8 * (f1 - m1) - (f2 - m2)) / (12 * h)  # differences first: exact 0 where f does not change


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Gradient of a scalar function f at x, one coordinate at a time. x is modified and restored in place,
    so f may read x through a closure (e.g. a parameter dict)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        grad[ix] = _derivative(lambda: float(f(x)), x, ix, h)
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                                  h: float = 1e-3) -> np.ndarray:
    """Gradient of sum(f(x) * df) at x: what a backward pass returns when the upstream gradient is df."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        grad[ix] = _derivative(lambda: float(np.sum(np.asarray(f(x), dtype=np.float64) * df)), x, ix, h)
    return grad
