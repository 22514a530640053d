"""The classic tutorial problems.

The 1-D cost f(x) = x**2 + 5*x + 10 has its minimum at x = -2.5 (f = 3.75).
The tutorials start from x0 = 5 and take the derivative by central
differences, (f(x + h) - f(x - h)) / 2h.
"""
import math

import numpy as np

from .kernels.function_refs import cached_objective
from .kernels.jit import njit

CLASSIC_X0 = 5.0
CLASSIC_MINIMUM = -2.5

# Settings that reach |x + 2.5| < 1e-6 from x0 = 5 (tests/cli/test_classic.py
# holds each rule to its budget). The tutorials' Adam (lr 0.01, 100 steps)
# does not get there; lr 0.1 does.
CLASSIC_SETTINGS = {
    "gd": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.5),
    "nesterov": dict(lr=0.1, momentum=0.5),
    "adagrad": dict(lr=1.0),
    "rmsprop": dict(lr=0.01, alpha=0.9),
    "adam": dict(lr=0.1),
}
CLASSIC_BUDGET = 1000


def classic_cost(x):
    """f(x) = x**2 + 5*x + 10 for a float or an array (element-wise)."""
    return x * x + 5.0 * x + 10.0


def classic_value_and_grad(x):
    """(f, f') at x of shape (1,): the classic cost for minimize(..., jac=True)."""
    return float(classic_cost(x[0])), 2.0 * x + 5.0


def classic_optimizers():
    """CLASSIC_SETTINGS as gdfast optimizer objects, by rule name."""
    from ._optimizers import SGD, Adagrad, Adam, RMSprop
    s = CLASSIC_SETTINGS
    return {
        "gd": SGD(**s["gd"]),
        "momentum": SGD(**s["momentum"]),
        "nesterov": SGD(**s["nesterov"], nesterov=True),
        "adagrad": Adagrad(**s["adagrad"]),
        "rmsprop": RMSprop(**s["rmsprop"]),
        "adam": Adam(**s["adam"]),
    }


def central_difference(f, x, h=1e-5):
    """(f(x + h) - f(x - h)) / (2 h), the tutorials' numerical derivative."""
    return (f(x + h) - f(x - h)) / (2.0 * h)


def run_classic(rule, max_iter=CLASSIC_BUDGET, tol=1e-6, **settings):
    """Minimise the classic cost from x0 = 5 with one rule of gdfast.RULES.

    Runs the rule's serial kernel on a length-1 array, the derivative taken
    by central differences, until |x + 2.5| < tol or max_iter steps.
    Returns (path, nit): path is a float64 array of the iterates x_0..x_nit.
    """
    lr = settings.pop("lr", rule.defaults["lr"])
    hyper = rule.hyper_tuple(**settings)
    x = np.array([CLASSIC_X0])
    g = np.zeros(1)
    state = tuple(np.zeros(1) for _ in rule.state)
    path = np.empty(max_iter + 1)
    path[0] = x[0]
    nit = 0
    while nit < max_iter and abs(x[0] - CLASSIC_MINIMUM) >= tol:
        nit += 1
        g[0] = central_difference(classic_cost, x[0])
        rule.step(x, g, state, nit, lr, hyper)
        path[nit] = x[0]
    return path[:nit + 1], nit


class PolynomialFit:
    """Least-squares polynomial fit by mean squared error, the tutorials' curve fit.

    Data: ``n_points`` evenly spaced t on [0, 10] and
    y = 2 t**2 - 5 t + 3 + noise * N(0, 1) (seeded). Parameters c (float64,
    shape (degree + 1,)) are the coefficients of 1, t, ..., t**degree, lowest
    first (numpy.polyfit returns them highest first).

    f(c) = mean((V c - y)**2),  grad f(c) = 2/N V^T (V c - y),
    V the (N, degree + 1) Vandermonde matrix. ``lipschitz`` is the gradient's
    Lipschitz constant 2/N * lambda_max(V^T V): gradient descent converges for
    lr < 2 / lipschitz.
    """

    def __init__(self, degree=2, n_points=100, noise=5.0, seed=0):
        rng = np.random.default_rng(seed)
        self.t = np.linspace(0.0, 10.0, n_points)
        self.y = 2.0 * self.t ** 2 - 5.0 * self.t + 3.0 + noise * rng.standard_normal(n_points)
        self.vander = np.vander(self.t, degree + 1, increasing=True)
        self.x0 = np.zeros(degree + 1)
        self.lipschitz = 2.0 / n_points * np.linalg.eigvalsh(self.vander.T @ self.vander)[-1]

    def value_and_grad(self, c):
        """(f, grad f) at c: the objective for minimize(..., jac=True)."""
        r = self.vander @ c - self.y
        return float(r @ r) / r.size, (2.0 / r.size) * (self.vander.T @ r)

    def value(self, c):
        r = self.vander @ c - self.y
        return float(r @ r) / r.size

    def least_squares(self):
        """The exact minimiser, lowest coefficient first (via numpy.polyfit)."""
        return np.polyfit(self.t, self.y, self.vander.shape[1] - 1)[::-1]


@cached_objective
@njit(cache=True, error_model="numpy")
def exp_decay_value_and_grad(p, g, y, t):
    """Sum of squares of a mono-exponential decay fit, for minimize_batch.

    f(p) = sum_k (a exp(-b t_k) + c - y_k)^2 with p = (a, b, c); writes
    df/dp into g (float64 (3,)). y, t: float64 (n_times,).
    """
    a, b, c = p[0], p[1], p[2]
    f = ga = gb = gc = 0.0
    for k in range(t.size):
        e = math.exp(-b * t[k])
        r = a * e + c - y[k]
        f += r * r
        ga += 2.0 * r * e
        gb -= 2.0 * r * a * t[k] * e
        gc += 2.0 * r
    g[0] = ga
    g[1] = gb
    g[2] = gc
    return f


def exp_decay_stack(shape=(256, 256), n_times=16, noise=0.01, seed=0):
    """A synthetic relaxometry stack: y = a exp(-b t) + c + noise per pixel.

    t = 0, 1, ..., n_times - 1; per pixel a ~ U(0.5, 1.5), b ~ U(0.1, 0.5),
    c ~ U(0, 0.2). Returns (t (n_times,), Y (H*W, n_times), P_true (H*W, 3)).
    """
    rng = np.random.default_rng(seed)
    m = int(np.prod(shape))
    t = np.arange(float(n_times))
    P = np.column_stack([rng.uniform(0.5, 1.5, m), rng.uniform(0.1, 0.5, m),
                         rng.uniform(0.0, 0.2, m)])
    Y = P[:, :1] * np.exp(-P[:, 1:2] * t) + P[:, 2:3] + noise * rng.standard_normal((m, n_times))
    return t, Y, P


def exp_decay_initial_guess(Y):
    """Per-pixel start: c = last sample, a = first - last, b = 0.2."""
    return np.column_stack([Y[:, 0] - Y[:, -1], np.full(Y.shape[0], 0.2), Y[:, -1]])
