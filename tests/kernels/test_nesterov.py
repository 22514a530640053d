"""Nesterov: the kernel (gradient at the current iterate, Sutskever / torch
form) and the classic look-ahead form (gradient at x + mu*v) are one method.

With y, v the look-ahead form's iterate and velocity, the kernel's iterate is
the look-ahead point x = y + mu*v at every step (see kernels/sgd.py).
"""
import numpy as np
import pytest

from gdfast._rules import RULES
from gdfast.reference import nesterov_lookahead_step

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit

A = np.array([0.2, 1.0, 3.0, 7.5, 10.0])      # curvatures of the quadratic
C = np.array([1.0, -2.0, 0.5, 4.0, -3.0])     # its minimiser


def grad(x):
    """Gradient of f(x) = sum a_i (x_i - c_i)^2 / 2."""
    return A * (np.asarray(x) - C)


@pytest.mark.parametrize("mu,lr", [(0.9, 0.01), (0.5, 0.1), (0.99, 0.005)])
def test_kernel_iterates_are_the_lookahead_points(mu, lr):
    rule = RULES["nesterov"]
    hyper = rule.hyper_tuple(momentum=mu)
    x = np.full(5, 5.0)
    buf = np.zeros(5)
    y, v = [5.0] * 5, [0.0] * 5
    for t in range(1, 301):
        rule.step(x, grad(x), (buf,), t, lr, hyper)
        nesterov_lookahead_step(y, v, lambda p: grad(p).tolist(), lr, mu)
        lookahead = np.array(y) + mu * np.array(v)
        np.testing.assert_allclose(x, lookahead, rtol=1e-12, atol=1e-12 * np.abs(C).max())
        np.testing.assert_allclose(buf, -np.array(v) / lr, rtol=1e-9, atol=1e-12)


def test_both_forms_reach_the_minimum():
    rule = RULES["nesterov"]
    x, buf = np.full(5, 5.0), np.zeros(5)
    y, v = [5.0] * 5, [0.0] * 5
    for t in range(1, 2001):
        rule.step(x, grad(x), (buf,), t, 0.05, rule.hyper_tuple(momentum=0.9))
        nesterov_lookahead_step(y, v, lambda p: grad(p).tolist(), 0.05, 0.9)
    np.testing.assert_allclose(x, C, rtol=1e-10)
    np.testing.assert_allclose(y, C, rtol=1e-10)
