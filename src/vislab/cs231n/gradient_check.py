"""`cs231n.gradient_check` over `vislab.nn.gradcheck`: the course's signatures (``h=1e-5``, ``verbose``).

The numbers come from vislab's five-point centred stencil (truncation error ~h^4 instead of the course's
two-point ~h^2), so they agree with the course's to the precision either has, and a correct backward pass
matches them at least as closely.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..nn import gradcheck as _gc
from ..nn.gradcheck import rel_error

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"]


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True,
                            h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of the scalar function f at x (x is changed in place and restored).

    With verbose, prints every index and its derivative as the course does."""
    grad = _gc.eval_numerical_gradient(f, x, h=h)
    if verbose:
        for ix in np.ndindex(x.shape):
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                                  h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of sum(f(x) * df) at x, for a function returning an array."""
    return _gc.eval_numerical_gradient_array(f, x, df, h=h)
