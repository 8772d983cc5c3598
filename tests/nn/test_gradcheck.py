"""vislab.nn.gradcheck: numerical gradients against closed forms, and rel_error's definition."""

from __future__ import annotations

import numpy as np
import pytest

from vislab.nn.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error


def test_scalar_gradient_of_a_known_function():
    x = np.random.default_rng(0).standard_normal((3, 4))
    x0 = x.copy()
    num = eval_numerical_gradient(lambda v: np.sum(np.sin(v) * v ** 2), x)
    assert rel_error(num, np.cos(x0) * x0 ** 2 + 2 * x0 * np.sin(x0)) < 1e-9
    np.testing.assert_array_equal(x, x0)  # restored exactly


def test_array_gradient_is_the_vector_jacobian_product():
    rng = np.random.default_rng(1)
    A, x, df = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(5)
    num = eval_numerical_gradient_array(lambda v: np.tanh(A @ v), x, df)
    assert rel_error(num, A.T @ (df * (1 - np.tanh(A @ x) ** 2))) < 1e-9


def test_rel_error_is_elementwise_and_scale_free():
    assert rel_error(np.array([1.0, 1e-3]), np.array([1.0, 1.001e-3])) == pytest.approx(0.001 / 2.001)
    assert rel_error(np.array([2.0]), np.array([2.0])) == 0.0
    assert rel_error(np.zeros(2), np.full(2, 1e-12)) == pytest.approx(1e-4)  # the 1e-8 floor


def test_a_wrong_gradient_is_caught():
    x = np.linspace(-1, 1, 7)
    num = eval_numerical_gradient(lambda v: np.sum(np.exp(v)), x)
    assert rel_error(num, np.exp(x) * 1.001) > 1e-4
