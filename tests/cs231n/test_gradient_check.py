"""vislab.cs231n.gradient_check: the course's signatures and centred difference, against closed-form gradients
and the RNN notebook's word-embedding check."""

import numpy as np

from vislab.cs231n import rel_error
from vislab.cs231n import rel_error as rel_error_top
from vislab.cs231n.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_5point,
    eval_numerical_gradient_array,
    eval_numerical_gradient_array_5point,
    grad_check_sparse,
)
from vislab.cs231n.gradient_check import rel_error as rel_error_gc


def test_eval_numerical_gradient_closed_form_and_restores_x(capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    grad = eval_numerical_gradient(lambda x: float(np.sum(np.sin(x) * x ** 2)), x, verbose=False)
    assert rel_error(grad, np.cos(x0) * x0 ** 2 + 2 * x0 * np.sin(x0)) < 1e-8
    assert np.array_equal(x, x0)
    assert capsys.readouterr().out == ""


def test_eval_numerical_gradient_verbose_prints_each_index(capsys):
    x = np.array([1.0, 2.0])
    grad = eval_numerical_gradient(lambda x: float(np.sum(x ** 3)), x)  # verbose=True is the course default
    assert np.allclose(grad, [3.0, 12.0], rtol=1e-8)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("(0,)")


def test_eval_numerical_gradient_array_closed_form():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    df = rng.standard_normal((2, 3))
    grad = eval_numerical_gradient_array(np.tanh, x, df)
    assert rel_error(grad, df * (1 - np.tanh(x) ** 2)) < 1e-8
    grad = eval_numerical_gradient_array(np.tanh, x, df, h=1e-4)
    assert rel_error(grad, df * (1 - np.tanh(x) ** 2)) < 1e-8


def test_rel_error_is_the_notebooks():
    x, y = np.array([1.0, 0.0, -2.0]), np.array([1.1, 0.0, -2.0])
    expected = np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
    assert rel_error_top(x, y) == rel_error_gc(x, y) == expected


def test_the_difference_is_the_courses_two_point_one():
    # for x^3 the two-point centred difference is exactly 3x^2 + h^2; the five-point stencil is exactly 3x^2
    x = np.array([0.5, 1.0, 2.0])
    h = 1e-2
    two = eval_numerical_gradient(lambda x: float(np.sum(x ** 3)), x, verbose=False, h=h)
    assert np.allclose(two, 3 * x ** 2 + h ** 2, rtol=0, atol=1e-10)
    arr = eval_numerical_gradient_array(lambda x: x ** 3, x, np.ones(3), h=h)
    assert np.allclose(arr, 3 * x ** 2 + h ** 2, rtol=0, atol=1e-10)
    five = eval_numerical_gradient_array_5point(lambda x: x ** 3, x, np.ones(3), h=h)
    assert np.allclose(five, 3 * x ** 2, rtol=0, atol=1e-10)
    assert np.allclose(eval_numerical_gradient_5point(lambda x: float(np.sum(x ** 3)), x, h=h), 3 * x ** 2,
                       rtol=0, atol=1e-10)


def test_result_has_xs_dtype_as_the_course():
    x = np.array([1.0, 2.0], dtype=np.float32)
    assert eval_numerical_gradient(lambda x: float(np.sum(x)), x, verbose=False, h=1e-2).dtype == np.float32


def test_grad_check_sparse_prints_the_courses_lines(capsys):
    import random

    random.seed(0)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad_check_sparse(lambda x: float(np.sum(x ** 2)), x, 2 * x, num_checks=3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("numerical: ") and "relative error: " in line for line in lines)
    errs = [float(line.rsplit(" ", 1)[1]) for line in lines]
    assert max(errs) < 1e-9
