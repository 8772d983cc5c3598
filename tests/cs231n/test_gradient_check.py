"""vislab.cs231n.gradient_check: the course's signatures, against closed-form gradients."""

import numpy as np

from vislab.cs231n import rel_error
from vislab.cs231n import rel_error as rel_error_top
from vislab.cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
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
