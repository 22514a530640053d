"""The classic tutorial problems, a curve fit and a relaxometry fit.

The 1-D cost ``f(x) = x**2 + 5*x + 10`` has its minimum at x = -2.5
(f = 3.75). The tutorials start from x0 = 5 and take the derivative by
central differences, ``(f(x + h) - f(x - h)) / 2h``. `PolynomialFit` is
the tutorials' curve fit; ``exp_decay_*`` a per-pixel fit for
`gdfast.minimize_batch`.
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
    """``f(x) = x**2 + 5*x + 10``, element-wise.

    Parameters
    ----------
    x : float or ndarray

    Returns
    -------
    float or ndarray
    """
    return x * x + 5.0 * x + 10.0


def classic_value_and_grad(x):
    """(f, f') at x: the classic cost for ``minimize(..., jac=True)``.

    Parameters
    ----------
    x : ndarray of float64, shape (1,)

    Returns
    -------
    f : float
    g : ndarray of float64, shape (1,)
    """
    return float(classic_cost(x[0])), 2.0 * x + 5.0


def classic_optimizers():
    """``CLASSIC_SETTINGS`` as gdfast optimizer objects, by rule name.

    Returns
    -------
    dict of str to Optimizer
        'gd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'.
    """
    from .optimizers import SGD, Adagrad, Adam, RMSprop
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
    """``(f(x + h) - f(x - h)) / (2 h)``, the tutorials' numerical derivative.

    Parameters
    ----------
    f : callable
        A function of a float.
    x : float
    h : float, default 1e-5

    Returns
    -------
    float
    """
    return (f(x + h) - f(x - h)) / (2.0 * h)


def run_classic(rule, max_iter=CLASSIC_BUDGET, tol=1e-6, **settings):
    """Minimise the classic cost from x0 = 5 with one rule of `gdfast.RULES`.

    Runs the rule's serial kernel on a length-1 array, the derivative taken by
    central differences, until ``|x + 2.5| < tol`` or max_iter steps.

    Parameters
    ----------
    rule : Rule
        An entry of `gdfast.RULES`.
    max_iter : int, default CLASSIC_BUDGET (1000)
    tol : float, default 1e-6
    **settings
        lr and the rule's hyperparameters by name; the rule's defaults for the
        rest.

    Returns
    -------
    path : ndarray of float64
        The iterates x_0..x_nit.
    nit : int
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
    ``y = 2 t**2 - 5 t + 3 + noise * N(0, 1)`` (seeded). Parameters c (float64,
    shape (degree + 1,)) are the coefficients of 1, t, ..., t**degree, lowest
    first (numpy.polyfit returns them highest first)::

        f(c) = mean((V c - y)**2),  grad f(c) = 2/N V^T (V c - y),

    V the (N, degree + 1) Vandermonde matrix.

    Parameters
    ----------
    degree : int, default 2
    n_points : int, default 100
    noise : float, default 5.0
        The standard deviation of the noise on y.
    seed : int, default 0

    Attributes
    ----------
    t, y : ndarray of float64, shape (n_points,)
        The data.
    vander : ndarray of float64, shape (n_points, degree + 1)
        V.
    x0 : ndarray of float64, shape (degree + 1,)
        The start, zeros.
    lipschitz : float
        The gradient's Lipschitz constant ``2/N * lambda_max(V^T V)``: gradient
        descent converges for lr < 2 / lipschitz.

    Examples
    --------
    >>> import numpy as np
    >>> import gdfast
    >>> from gdfast.problems import PolynomialFit
    >>> problem = PolynomialFit()
    >>> res = gdfast.minimize(problem.value_and_grad, problem.x0, 'adam',
    ...                       options={'lr': 0.5}, max_iter=50_000, gtol=1e-9)
    >>> bool(np.allclose(res.x, problem.least_squares(), atol=1e-6))
    True
    """

    def __init__(self, degree=2, n_points=100, noise=5.0, seed=0):
        rng = np.random.default_rng(seed)
        self.t = np.linspace(0.0, 10.0, n_points)
        self.y = 2.0 * self.t ** 2 - 5.0 * self.t + 3.0 + noise * rng.standard_normal(n_points)
        self.vander = np.vander(self.t, degree + 1, increasing=True)
        self.x0 = np.zeros(degree + 1)
        self.lipschitz = 2.0 / n_points * np.linalg.eigvalsh(self.vander.T @ self.vander)[-1]

    def value_and_grad(self, c):
        """(f, grad f) at c: the objective for ``minimize(..., jac=True)``.

        Parameters
        ----------
        c : ndarray of float64, shape (degree + 1,)

        Returns
        -------
        f : float
        g : ndarray of float64, shape (degree + 1,)
        """
        r = self.vander @ c - self.y
        return float(r @ r) / r.size, (2.0 / r.size) * (self.vander.T @ r)

    def value(self, c):
        r = self.vander @ c - self.y
        return float(r @ r) / r.size

    def least_squares(self):
        """The exact minimiser, lowest coefficient first (via numpy.polyfit).

        Returns
        -------
        ndarray of float64, shape (degree + 1,)
        """
        return np.polyfit(self.t, self.y, self.vander.shape[1] - 1)[::-1]


@cached_objective
@njit(cache=True, error_model="numpy")
def exp_decay_value_and_grad(p, g, y, t):
    """Sum of squares of a mono-exponential decay fit, for minimize_batch.

    ``f(p) = sum_k (a exp(-b t_k) + c - y_k)^2`` with p = (a, b, c). A numba
    @njit function registered with `gdfast.cached_objective`.

    Parameters
    ----------
    p : ndarray of float64, shape (3,)
        (a, b, c).
    g : ndarray of float64, shape (3,)
        Overwritten with df/dp.
    y : ndarray of float64, shape (n_times,)
        One pixel's samples.
    t : ndarray of float64, shape (n_times,)
        Their times.

    Returns
    -------
    float
        f(p).
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


@cached_objective
@njit(cache=True, error_model="numpy")
def exp_decay_residuals(p, r, y, t):
    """The residuals of a mono-exponential decay fit, for least_squares_batch.

    ``r_k = a exp(-b t_k) + c - y_k`` with p = (a, b, c). A numba @njit
    function registered with `gdfast.cached_objective`.

    Parameters
    ----------
    p : ndarray of float64, shape (3,)
        (a, b, c).
    r : ndarray of float64, shape (n_times,)
        Overwritten with the residuals.
    y : ndarray of float64, shape (n_times,)
        One pixel's samples.
    t : ndarray of float64, shape (n_times,)
        Their times.
    """
    a, b, c = p[0], p[1], p[2]
    for k in range(t.size):
        r[k] = a * math.exp(-b * t[k]) + c - y[k]


@cached_objective
@njit(cache=True, error_model="numpy")
def exp_decay_jacobian(p, J, y, t):
    """The Jacobian of `exp_decay_residuals`: ``J_k = (e_k, -a t_k e_k, 1)``
    with e_k = exp(-b t_k). A numba @njit function registered with
    `gdfast.cached_objective`.

    Parameters
    ----------
    p : ndarray of float64, shape (3,)
        (a, b, c).
    J : ndarray of float64, shape (n_times, 3)
        Overwritten with dr_k/dp.
    y : ndarray of float64, shape (n_times,)
        One pixel's samples (unused: J does not depend on them).
    t : ndarray of float64, shape (n_times,)
        Their times.
    """
    a, b = p[0], p[1]
    for k in range(t.size):
        e = math.exp(-b * t[k])
        J[k, 0] = e
        J[k, 1] = -a * t[k] * e
        J[k, 2] = 1.0


@cached_objective
@njit(cache=True, error_model="numpy")
def exp_decay_residuals_and_jacobian(p, r, J, y, t):
    """`exp_decay_residuals` and `exp_decay_jacobian` in one call, for
    ``least_squares_batch(..., jac=True)``: each e_k = exp(-b t_k) computed
    once, ``r_k = a e_k + c - y_k`` and ``J_k = (e_k, -a t_k e_k, 1)``. A
    numba @njit function registered with `gdfast.cached_objective`.

    Parameters
    ----------
    p : ndarray of float64, shape (3,)
        (a, b, c).
    r : ndarray of float64, shape (n_times,)
        Overwritten with the residuals.
    J : ndarray of float64, shape (n_times, 3)
        Overwritten with dr_k/dp.
    y, t : ndarray of float64, shape (n_times,)
        One pixel's samples and their times.
    """
    a, b, c = p[0], p[1], p[2]
    for k in range(t.size):
        e = math.exp(-b * t[k])
        r[k] = a * e + c - y[k]
        J[k, 0] = e
        J[k, 1] = -a * t[k] * e
        J[k, 2] = 1.0


def exp_decay_stack(shape=(256, 256), n_times=16, noise=0.01, seed=0):
    """A synthetic relaxometry stack: ``y = a exp(-b t) + c + noise`` per pixel.

    t = 0, 1, ..., n_times - 1; per pixel a ~ U(0.5, 1.5), b ~ U(0.1, 0.5),
    c ~ U(0, 0.2).

    Parameters
    ----------
    shape : tuple of int, default (256, 256)
        The image's shape (H, W).
    n_times : int, default 16
    noise : float, default 0.01
        The standard deviation of the noise.
    seed : int, default 0

    Returns
    -------
    t : ndarray of float64, shape (n_times,)
    Y : ndarray of float64, shape (H*W, n_times)
    P_true : ndarray of float64, shape (H*W, 3)
        (a, b, c) per pixel.

    Examples
    --------
    >>> import gdfast
    >>> from gdfast.problems import (exp_decay_stack, exp_decay_initial_guess,
    ...                              exp_decay_value_and_grad)
    >>> t, Y, P = exp_decay_stack((4, 4), noise=0.0)
    >>> res = gdfast.minimize_batch(exp_decay_value_and_grad, exp_decay_initial_guess(Y),
    ...                             'adam', options={'lr': 0.02}, batch_args=(Y,),
    ...                             args=(t,), max_iter=20_000, gtol=1e-9)
    >>> print(res.x.shape, bool(abs(res.x - P).max() < 1e-3))
    (16, 3) True
    """
    rng = np.random.default_rng(seed)
    m = int(np.prod(shape))
    t = np.arange(float(n_times))
    P = np.column_stack([rng.uniform(0.5, 1.5, m), rng.uniform(0.1, 0.5, m),
                         rng.uniform(0.0, 0.2, m)])
    Y = P[:, :1] * np.exp(-P[:, 1:2] * t) + P[:, 2:3] + noise * rng.standard_normal((m, n_times))
    return t, Y, P


def exp_decay_initial_guess(Y):
    """Per-pixel start: c = last sample, a = first - last, b = 0.2.

    Parameters
    ----------
    Y : ndarray of float64, shape (n_pixels, n_times)

    Returns
    -------
    ndarray of float64, shape (n_pixels, 3)
        (a, b, c) per pixel.
    """
    return np.column_stack([Y[:, 0] - Y[:, -1], np.full(Y.shape[0], 0.2), Y[:, -1]])
