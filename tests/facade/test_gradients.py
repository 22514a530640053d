"""gdfast.gradient and gdfast.check_grad against analytic gradients."""
import numpy as np
import pytest
from numba import njit

import gdfast


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


@njit
def rosenbrock_njit(x, a):
    s = 0.0
    for i in range(x.size - 1):
        s += a * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def assert_gradient_close(g, g_true, rtol=1e-7):
    """Norm-wise: central differences carry a rounding error ~ eps |f| / h
    in every component, which grows with the number of terms in f."""
    assert np.linalg.norm(g - g_true) <= rtol * np.linalg.norm(g_true)


@pytest.mark.parametrize("n", [1, 2, 5, 200])
def test_gradient_of_python_function(n):
    x = np.random.default_rng(n).uniform(-2, 2, n)
    g = gdfast.gradient(rosenbrock, x)
    assert_gradient_close(g, rosenbrock_grad(x))


@pytest.mark.parametrize("n", [2, 63, 64, 500])
def test_gradient_of_njit_function_runs_compiled_and_matches(n):
    """Below and above the size where the compiled differences go parallel."""
    x = np.random.default_rng(n).uniform(-2, 2, n)
    g = gdfast.gradient(rosenbrock_njit, x, args=(100.0,))
    assert_gradient_close(g, rosenbrock_grad(x))
    # same formula, same steps: the Python path gives the same numbers
    g_py = gdfast.gradient(lambda v: rosenbrock_njit.py_func(v, 100.0), x)
    np.testing.assert_allclose(g, g_py, rtol=1e-12, atol=1e-12)


def test_gradient_keeps_shape_and_leaves_x_alone():
    x = np.arange(6.0).reshape(2, 3)
    g = gdfast.gradient(lambda v: float(np.sum(v ** 3)), x)
    assert g.shape == (2, 3)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8, atol=1e-8)
    assert np.array_equal(x, np.arange(6.0).reshape(2, 3))


def test_gradient_with_given_step():
    # central differences are exact on a quadratic whatever the step
    g = gdfast.gradient(lambda v: float(v[0] ** 2 + 3 * v[0]), [2.0], h=0.5)
    assert g[0] == pytest.approx(7.0, rel=1e-14)


def test_check_grad_small_for_the_right_gradient_large_for_a_wrong_one():
    x = np.random.default_rng(0).uniform(-1, 1, 10)
    assert gdfast.check_grad(rosenbrock, rosenbrock_grad, x) < 1e-5
    assert gdfast.check_grad(rosenbrock, lambda v: 1.01 * rosenbrock_grad(v), x) > 1e-2


@pytest.mark.parametrize("bad,error,match", [
    ([], ValueError, "x must not be empty"),
    ([1.0, np.nan], ValueError, "x must hold only finite"),
    (["a"], TypeError, "x must be an array of real numbers"),
])
def test_gradient_bad_x(bad, error, match):
    with pytest.raises(error, match=match):
        gdfast.gradient(rosenbrock, bad)


def test_gradient_bad_h_and_fun():
    with pytest.raises(ValueError, match="h must be > 0"):
        gdfast.gradient(rosenbrock, [1.0, 2.0], h=0.0)
    with pytest.raises(ValueError, match="fun must return a scalar"):
        gdfast.gradient(lambda v: v, [1.0, 2.0])
