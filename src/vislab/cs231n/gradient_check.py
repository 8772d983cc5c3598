"""`cs231n.gradient_check`: the course's numerical gradients, with its two-point centred difference.

``(f(x + h) - f(x - h)) / 2h`` per entry, as the course, so a notebook prints the numbers the course prints
(the word-embedding check's ``dW error`` is ~3e-12 with it; vislab's own five-point stencil at the course's
``h=1e-5`` gives ~6e-10 there, because its rounding error ~eps/h is larger than that layer's exact two-point
difference). vislab's five-point stencil (`vislab.nn.gradcheck`, truncation error ~h^4 instead of ~h^2) stays
available as `eval_numerical_gradient_5point` / `eval_numerical_gradient_array_5point`.
"""

from __future__ import annotations

from collections.abc import Callable
from random import randrange

import numpy as np

from ..nn import gradcheck as _gc
from ..nn.gradcheck import rel_error

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "grad_check_sparse", "rel_error",
           "eval_numerical_gradient_5point", "eval_numerical_gradient_array_5point"]


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True,
                            h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of the scalar function f at x by the course's centred difference (x is changed in
    place and restored, so f may read x through a closure). The result has x's dtype (``np.zeros_like``).
    With verbose, prints every index and its derivative as it goes, as the course does."""
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        fxph, fxmh = _either_side(f, x, ix, h)
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                                  h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of sum(f(x) * df) at x for a function returning an array, by the course's centred
    difference: ``sum((f(x + h) - f(x - h)) * df) / 2h`` per entry of x (restored afterwards)."""
    grad = np.zeros_like(x)

    def copied(v: np.ndarray) -> np.ndarray:  # f may return a view of a buffer it reuses
        return np.array(f(v), copy=True)

    for ix in np.ndindex(x.shape):
        pos, neg = _either_side(copied, x, ix, h)
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray,
                      num_checks: int = 10, h: float = 1e-5) -> None:
    """The course's spot check: `num_checks` random entries, each printed as ``numerical: a analytic: b,
    relative error: e`` (indices from Python's `random`, as the course)."""
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        fxph, fxmh = _either_side(f, x, ix, h)
        num, ana = (fxph - fxmh) / (2 * h), analytic_grad[ix]
        err = abs(num - ana) / (abs(num) + abs(ana))
        print(f"numerical: {num:f} analytic: {ana:f}, relative error: {err:e}")


def _either_side(f: Callable, x: np.ndarray, ix: tuple, h: float) -> tuple:
    """(f at x with entry `ix` raised by h, f with it lowered by h); x is changed in place and restored."""
    old = x[ix]
    x[ix] = old + h
    plus = f(x)
    x[ix] = old - h
    minus = f(x)
    x[ix] = old
    return plus, minus


def eval_numerical_gradient_5point(f: Callable[[np.ndarray], float], x: np.ndarray,
                                   h: float = 1e-3) -> np.ndarray:
    """vislab's five-point stencil (`vislab.nn.gradcheck.eval_numerical_gradient`): float64, error ~h^4."""
    return _gc.eval_numerical_gradient(f, x, h=h)


def eval_numerical_gradient_array_5point(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                                         h: float = 1e-3) -> np.ndarray:
    """vislab's five-point stencil for array-valued f (`vislab.nn.gradcheck.eval_numerical_gradient_array`)."""
    return _gc.eval_numerical_gradient_array(f, x, df, h=h)
