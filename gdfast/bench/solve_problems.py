"""The problems of the solver benchmark (``gdfast bench solve``, issue 30).

The 18 unconstrained problems of Moré, Garbow & Hillstrom (MGH), "Testing
unconstrained optimization software", ACM TOMS 7(1), 17-41 (1981), in the
order of their unconstrained-minimization list (the order of the authors'
Algorithm 566, ACM TOMS 7(1), 136-140, whose FORTRAN subroutines OBJFCN,
GRDFCN and INITPT define the functions, their gradients and the standard
starting points), then extended Rosenbrock at n = 10**4, an L2-regularised
logistic regression (10**5 x 100, generated from a fixed seed) and
smoothed-TV denoising of a 1024 x 1024 image through minimize (n = 2**20)
and a bounded least-squares fit (an exponential decay, one bound binding).

Every MGH problem is a sum of squares, in MGH's convention without a half::

    f(x) = sum_{i=1}^{m} r_i(x)**2,    grad f(x) = 2 J(x)^T r(x),

with r (m,) the residuals and J (m, n) their Jacobian, ``J[i, j] = dr_i/dx_j``.

Each problem has three numba kernels, written as gdfast's kernels are
(``gdfast.kernels.jit.njit(cache=True)``, registered with
`gdfast.cached_objective` so that the loops that call them are cached on disk):

- ``<name>_value_and_grad(x, g, *args) -> f``: f(x), the gradient written into
  g (float64, shaped like x). This is the calling convention of
  ``gdfast.minimize(fun, x0, jac='inplace')``, whose nopython mode runs it in
  compiled code. It never forms J and allocates nothing (Chebyquad's: its
  n residuals).
- ``<name>_residuals(x, r)``: r(x) into r (float64, shape (m,)).
- ``<name>_jacobian(x, J)``: J(x) into J (float64, shape (m, n), dense: meant
  for small n, as a Levenberg-Marquardt step is).

A function of the same name as the problem (``helical_valley()``, ...) returns
its `SolveProblem`: x0, the kernels, the minimum f* the paper gives (all the
minima it gives, when it lists several) and where the numbers come from.

Dimensions. The problems of fixed size have MGH's n and m. Where MGH lets n
vary, the suite takes n = 10, except where the paper's f* is known only at
other sizes or n must be a multiple of 4: Watson n = 9 (Algorithm 566: "usually
6 or 9"; MGH give f* for 6, 9 and 12), extended Powell singular n = 12. Box
3-D has m = 10, Gulf m = 99, Brown and Dennis m = 20, Biggs EXP6 m = 13, as in
Algorithm 566. The builders of the variable-size problems take n.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..images import synthetic_image
from ..kernels.function_refs import cached_objective
from ..kernels.jit import njit
from ..kernels.tv import tv_energy_grad_2d_parallel, tv_workspace_2d
from ..problems import exp_decay_value_and_grad

MGH = ("J. J. More, B. S. Garbow, K. E. Hillstrom, Testing unconstrained optimization "
       "software, ACM TOMS 7(1), 17-41 (1981); definitions and x0 as in their Algorithm 566, "
       "ACM TOMS 7(1), 136-140 (1981)")



def _source(number):
    return f"problem ({number}) of {MGH}"


# the options of every kernel here: gdfast's (error_model='numpy': a division
# by zero gives inf or NaN, as in numpy, instead of raising)
_OPTIONS = dict(cache=True, error_model="numpy")


@dataclass(eq=False)
class SolveProblem:
    """One problem of the solver benchmark.

    Parameters
    ----------
    name : str
        A short name (``'helical_valley'``).
    n : int
        The number of variables.
    x0 : ndarray of float64, shape (n,)
        The standard starting point.
    fun : numba @njit function
        ``fun(x, g, *args) -> f``: f(x), with the gradient written into g
        (float64, shape (n,)); ``gdfast.minimize(fun, x0, jac='inplace',
        args=args)`` takes it as it is.
    f_star : float or None
        The minimum, from the source (for problems with several minima, the
        least the source gives); None when unknown (the generated logistic
        regression).
    source : str
        Where the definition, x0 and f* come from.
    args : tuple, default ()
        The extra arguments of fun, after x and g (the logistic regression's
        data).
    f_local : tuple of float, default ()
        Other local minima the source gives (a solver may stop at one).
    x_star : ndarray of float64, shape (n,), optional
        A minimiser the source gives, where it gives one.
    m : int, default 0
        The number of residuals of a least-squares problem; 0 when fun is not
        a sum of squares.
    bounds : (ndarray, ndarray), optional
        (lower, upper), each float64 (n,) (-inf / inf for a free side): a
        bounded problem, which the solvers with bounds take (`bounded_exp_fit`).
    residuals : numba @njit function, optional
        ``residuals(x, r)`` writes r(x) (float64, shape (m,)), with
        ``f = sum(r**2)``.
    jacobian : numba @njit function, optional
        ``jacobian(x, J)`` writes J(x) (float64, shape (m, n), ``J[i, j] =
        dr_i/dx_j``).
    """

    name: str
    n: int
    x0: np.ndarray
    fun: Callable
    f_star: float | None
    source: str
    args: tuple = ()
    f_local: tuple[float, ...] = ()
    x_star: np.ndarray | None = None
    m: int = 0
    residuals: Callable | None = None
    jacobian: Callable | None = None
    notes: str = ""
    bounds: tuple[np.ndarray, np.ndarray] | None = None

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(f, g) at x, for ``jac=True`` callers (scipy.optimize.minimize).

        Parameters
        ----------
        x : ndarray of float64, shape (n,)

        Returns
        -------
        f : float
        g : ndarray of float64, shape (n,)
            A new array.
        """
        g = np.empty(self.n)
        f = self.fun(np.ascontiguousarray(x, dtype=np.float64), g, *self.args)
        return float(f), g


def _kernel(fn):
    """gdfast's njit(cache=True), registered with cached_objective."""
    return cached_objective(njit(**_OPTIONS)(fn))


# ---------------------------------------------------------------------------
# MGH 1 (paper's 7): helical valley, n = 3, m = 3.
#   r1 = 10 (x3 - 10 theta(x1, x2)), r2 = 10 (sqrt(x1^2 + x2^2) - 1), r3 = x3,
#   2 pi theta = atan(x2 / x1) (+ pi when x1 < 0), theta = sign(x2) / 4 at x1 = 0.
# ---------------------------------------------------------------------------

@njit(**_OPTIONS)
def _helical_theta(x1, x2):
    if x1 > 0.0:
        return math.atan(x2 / x1) / (2.0 * math.pi)
    if x1 < 0.0:
        return math.atan(x2 / x1) / (2.0 * math.pi) + 0.5
    return 0.25 if x2 >= 0.0 else -0.25


@_kernel
def helical_valley_residuals(x, r):
    """Helical valley residuals r (3,) at x (3,): r1 = 10 (x3 - 10 theta),
    r2 = 10 (|(x1, x2)| - 1), r3 = x3, 2 pi theta = atan(x2/x1) (+ pi for x1 < 0).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    r[0] = 10.0 * (x[2] - 10.0 * _helical_theta(x[0], x[1]))
    r[1] = 10.0 * (math.sqrt(x[0] * x[0] + x[1] * x[1]) - 1.0)
    r[2] = x[2]


@_kernel
def helical_valley_jacobian(x, J):
    """Helical valley Jacobian J (3, 3) at x (3,); d theta/dx1 = -x2 / (2 pi rho^2),
    d theta/dx2 = x1 / (2 pi rho^2), rho^2 = x1^2 + x2^2.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    rho2 = x[0] * x[0] + x[1] * x[1]
    rho = math.sqrt(rho2)
    c = 100.0 / (2.0 * math.pi * rho2)
    J[0, 0] = c * x[1]
    J[0, 1] = -c * x[0]
    J[0, 2] = 10.0
    J[1, 0] = 10.0 * x[0] / rho
    J[1, 1] = 10.0 * x[1] / rho
    J[1, 2] = 0.0
    J[2, 0] = 0.0
    J[2, 1] = 0.0
    J[2, 2] = 1.0


@_kernel
def helical_valley_value_and_grad(x, g):
    """Helical valley f = r1^2 + r2^2 + r3^2 at x (3,), gradient into g (3,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    rho2 = x[0] * x[0] + x[1] * x[1]
    rho = math.sqrt(rho2)
    r1 = 10.0 * (x[2] - 10.0 * _helical_theta(x[0], x[1]))
    r2 = 10.0 * (rho - 1.0)
    r3 = x[2]
    c = 100.0 / (2.0 * math.pi * rho2)
    g[0] = 2.0 * (r1 * c * x[1] + r2 * 10.0 * x[0] / rho)
    g[1] = 2.0 * (-r1 * c * x[0] + r2 * 10.0 * x[1] / rho)
    g[2] = 2.0 * (10.0 * r1 + r3)
    return r1 * r1 + r2 * r2 + r3 * r3


def helical_valley() -> SolveProblem:
    """MGH problem 1 (the paper's 7), n = m = 3: f* = 0 at (1, 0, 0).

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("helical_valley", 3, np.array([-1.0, 0.0, 0.0]),
                        helical_valley_value_and_grad, 0.0, _source(7),
                        x_star=np.array([1.0, 0.0, 0.0]), m=3,
                        residuals=helical_valley_residuals, jacobian=helical_valley_jacobian)


# ---------------------------------------------------------------------------
# MGH 2 (paper's 18): Biggs EXP6, n = 6, m = 13, t_i = i/10,
#   y_i = e^-t - 5 e^-10t + 3 e^-4t,
#   r_i = x3 e^(-t x1) - x4 e^(-t x2) + x6 e^(-t x5) - y_i.
# ---------------------------------------------------------------------------

BIGGS_M = 13


@_kernel
def biggs_exp6_residuals(x, r):
    """Biggs EXP6 residuals r (13,) at x (6,): r_i = x3 exp(-t x1) - x4 exp(-t x2)
    + x6 exp(-t x5) - y_i, t = i/10, y_i = exp(-t) - 5 exp(-10 t) + 3 exp(-4 t).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for i in range(r.size):
        t = (i + 1) / 10.0
        y = math.exp(-t) - 5.0 * math.exp(-10.0 * t) + 3.0 * math.exp(-4.0 * t)
        r[i] = (x[2] * math.exp(-t * x[0]) - x[3] * math.exp(-t * x[1])
                + x[5] * math.exp(-t * x[4]) - y)


@_kernel
def biggs_exp6_jacobian(x, J):
    """Biggs EXP6 Jacobian J (13, 6) at x (6,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(J.shape[0]):
        t = (i + 1) / 10.0
        e1 = math.exp(-t * x[0])
        e2 = math.exp(-t * x[1])
        e5 = math.exp(-t * x[4])
        J[i, 0] = -t * x[2] * e1
        J[i, 1] = t * x[3] * e2
        J[i, 2] = e1
        J[i, 3] = -e2
        J[i, 4] = -t * x[5] * e5
        J[i, 5] = e5


@_kernel
def biggs_exp6_value_and_grad(x, g):
    """Biggs EXP6 f = sum_i r_i^2 (m = 13) at x (6,), gradient into g (6,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    for j in range(6):
        g[j] = 0.0
    for i in range(BIGGS_M):
        t = (i + 1) / 10.0
        y = math.exp(-t) - 5.0 * math.exp(-10.0 * t) + 3.0 * math.exp(-4.0 * t)
        e1 = math.exp(-t * x[0])
        e2 = math.exp(-t * x[1])
        e5 = math.exp(-t * x[4])
        r = x[2] * e1 - x[3] * e2 + x[5] * e5 - y
        f += r * r
        r2 = 2.0 * r
        g[0] -= r2 * t * x[2] * e1
        g[1] += r2 * t * x[3] * e2
        g[2] += r2 * e1
        g[3] -= r2 * e2
        g[4] -= r2 * t * x[5] * e5
        g[5] += r2 * e5
    return f


def biggs_exp6() -> SolveProblem:
    """MGH problem 2 (the paper's 18), n = 6, m = 13.

    f* = 0 at (1, 10, 1, 5, 4, 3) (y is made of those parameters); MGH's
    f = 5.65565e-3 (m = 13) is the local minimum most solvers reach from x0.

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("biggs_exp6", 6, np.array([1.0, 2.0, 1.0, 1.0, 1.0, 1.0]),
                        biggs_exp6_value_and_grad, 0.0, _source(18), f_local=(5.65565e-3,),
                        x_star=np.array([1.0, 10.0, 1.0, 5.0, 4.0, 3.0]), m=BIGGS_M,
                        residuals=biggs_exp6_residuals, jacobian=biggs_exp6_jacobian)


# ---------------------------------------------------------------------------
# MGH 3 (paper's 9): Gaussian, n = 3, m = 15, t_i = (8 - i)/2,
#   r_i = x1 exp(-x2 (t_i - x3)^2 / 2) - y_i.
# ---------------------------------------------------------------------------

GAUSSIAN_Y = np.array([0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
                       0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009])


@_kernel
def gaussian_residuals(x, r):
    """Gaussian residuals r (15,) at x (3,): r_i = x1 exp(-x2 (t_i - x3)^2 / 2) - y_i,
    t_i = (8 - i)/2, y the bell-shaped data of MGH (GAUSSIAN_Y).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for i in range(r.size):
        d = (7 - i) / 2.0 - x[2]
        r[i] = x[0] * math.exp(-0.5 * x[1] * d * d) - GAUSSIAN_Y[i]


@_kernel
def gaussian_jacobian(x, J):
    """Gaussian Jacobian J (15, 3) at x (3,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(J.shape[0]):
        d = (7 - i) / 2.0 - x[2]
        e = math.exp(-0.5 * x[1] * d * d)
        J[i, 0] = e
        J[i, 1] = -0.5 * x[0] * d * d * e
        J[i, 2] = x[0] * x[1] * d * e


@_kernel
def gaussian_value_and_grad(x, g):
    """Gaussian f = sum_i r_i^2 (m = 15) at x (3,), gradient into g (3,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    g[0] = g[1] = g[2] = 0.0
    for i in range(GAUSSIAN_Y.size):
        d = (7 - i) / 2.0 - x[2]
        e = math.exp(-0.5 * x[1] * d * d)
        r = x[0] * e - GAUSSIAN_Y[i]
        f += r * r
        r2 = 2.0 * r * e
        g[0] += r2
        g[1] -= r2 * 0.5 * x[0] * d * d
        g[2] += r2 * x[0] * x[1] * d
    return f


def gaussian() -> SolveProblem:
    """MGH problem 3 (the paper's 9), n = 3, m = 15: f* = 1.12793e-8.

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("gaussian", 3, np.array([0.4, 1.0, 0.0]), gaussian_value_and_grad,
                        1.12793e-8, _source(9), m=15, residuals=gaussian_residuals,
                        jacobian=gaussian_jacobian)


# ---------------------------------------------------------------------------
# MGH 4 (paper's 3): Powell badly scaled, n = m = 2,
#   r1 = 1e4 x1 x2 - 1, r2 = e^-x1 + e^-x2 - 1.0001.
# ---------------------------------------------------------------------------

@_kernel
def powell_badly_scaled_residuals(x, r):
    """Powell badly scaled residuals r (2,) at x (2,): r1 = 1e4 x1 x2 - 1,
    r2 = exp(-x1) + exp(-x2) - 1.0001.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    r[0] = 1e4 * x[0] * x[1] - 1.0
    r[1] = math.exp(-x[0]) + math.exp(-x[1]) - 1.0001


@_kernel
def powell_badly_scaled_jacobian(x, J):
    """Powell badly scaled Jacobian J (2, 2) at x (2,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    J[0, 0] = 1e4 * x[1]
    J[0, 1] = 1e4 * x[0]
    J[1, 0] = -math.exp(-x[0])
    J[1, 1] = -math.exp(-x[1])


@_kernel
def powell_badly_scaled_value_and_grad(x, g):
    """Powell badly scaled f = r1^2 + r2^2 at x (2,), gradient into g (2,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    e1 = math.exp(-x[0])
    e2 = math.exp(-x[1])
    r1 = 1e4 * x[0] * x[1] - 1.0
    r2 = e1 + e2 - 1.0001
    g[0] = 2.0 * (1e4 * x[1] * r1 - e1 * r2)
    g[1] = 2.0 * (1e4 * x[0] * r1 - e2 * r2)
    return r1 * r1 + r2 * r2


def powell_badly_scaled() -> SolveProblem:
    """MGH problem 4 (the paper's 3), n = m = 2: f* = 0 at (1.098e-5, 9.106).

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("powell_badly_scaled", 2, np.array([0.0, 1.0]),
                        powell_badly_scaled_value_and_grad, 0.0, _source(3),
                        x_star=np.array([1.098e-5, 9.106]), m=2,
                        residuals=powell_badly_scaled_residuals,
                        jacobian=powell_badly_scaled_jacobian,
                        notes="x_star to the 4 digits the paper prints")


# ---------------------------------------------------------------------------
# MGH 5 (paper's 12): Box three-dimensional, n = 3, m = 10, t_i = i/10,
#   r_i = e^(-t x1) - e^(-t x2) - x3 (e^-t - e^-10t).
# ---------------------------------------------------------------------------

BOX_M = 10


@_kernel
def box_3d_residuals(x, r):
    """Box 3-D residuals r (m,) at x (3,): r_i = exp(-t x1) - exp(-t x2)
    - x3 (exp(-t) - exp(-10 t)), t = i/10.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for i in range(r.size):
        t = (i + 1) / 10.0
        r[i] = (math.exp(-t * x[0]) - math.exp(-t * x[1])
                - x[2] * (math.exp(-t) - math.exp(-10.0 * t)))


@_kernel
def box_3d_jacobian(x, J):
    """Box 3-D Jacobian J (m, 3) at x (3,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(J.shape[0]):
        t = (i + 1) / 10.0
        J[i, 0] = -t * math.exp(-t * x[0])
        J[i, 1] = t * math.exp(-t * x[1])
        J[i, 2] = -(math.exp(-t) - math.exp(-10.0 * t))


@_kernel
def box_3d_value_and_grad(x, g):
    """Box 3-D f = sum_i r_i^2 (m = 10) at x (3,), gradient into g (3,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    g[0] = g[1] = g[2] = 0.0
    for i in range(BOX_M):
        t = (i + 1) / 10.0
        e1 = math.exp(-t * x[0])
        e2 = math.exp(-t * x[1])
        c = math.exp(-t) - math.exp(-10.0 * t)
        r = e1 - e2 - x[2] * c
        f += r * r
        g[0] -= 2.0 * r * t * e1
        g[1] += 2.0 * r * t * e2
        g[2] -= 2.0 * r * c
    return f


def box_3d() -> SolveProblem:
    """MGH problem 5 (the paper's 12), n = 3, m = 10.

    f* = 0 at (1, 10, 1), at (10, 1, -1) and wherever x1 = x2, x3 = 0.

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("box_3d", 3, np.array([0.0, 10.0, 20.0]), box_3d_value_and_grad, 0.0,
                        _source(12), x_star=np.array([1.0, 10.0, 1.0]), m=BOX_M,
                        residuals=box_3d_residuals, jacobian=box_3d_jacobian,
                        notes="also f = 0 at (10, 1, -1) and on x1 = x2, x3 = 0")


# ---------------------------------------------------------------------------
# MGH 6 (paper's 25): variably dimensioned, m = n + 2,
#   r_j = x_j - 1 (j <= n), r_{n+1} = s, r_{n+2} = s^2, s = sum_j j (x_j - 1).
# ---------------------------------------------------------------------------

@_kernel
def variably_dimensioned_residuals(x, r):
    """Variably dimensioned residuals r (n + 2,) at x (n,): r_j = x_j - 1,
    r_{n+1} = s, r_{n+2} = s^2, s = sum_j j (x_j - 1).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    n = x.size
    s = 0.0
    for j in range(n):
        r[j] = x[j] - 1.0
        s += (j + 1) * (x[j] - 1.0)
    r[n] = s
    r[n + 1] = s * s


@_kernel
def variably_dimensioned_jacobian(x, J):
    """Variably dimensioned Jacobian J (n + 2, n) at x (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    s = 0.0
    for j in range(n):
        s += (j + 1) * (x[j] - 1.0)
    for i in range(n):
        for j in range(n):
            J[i, j] = 1.0 if i == j else 0.0
    for j in range(n):
        J[n, j] = j + 1.0
        J[n + 1, j] = 2.0 * s * (j + 1.0)


@_kernel
def variably_dimensioned_value_and_grad(x, g):
    """Variably dimensioned f = sum_j (x_j - 1)^2 + s^2 + s^4 at x (n,), gradient
    into g (n,): g_j = 2 (x_j - 1) + 2 j s (1 + 2 s^2).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    n = x.size
    s = 0.0
    f = 0.0
    for j in range(n):
        d = x[j] - 1.0
        s += (j + 1) * d
        f += d * d
    c = 2.0 * s * (1.0 + 2.0 * s * s)
    for j in range(n):
        g[j] = 2.0 * (x[j] - 1.0) + (j + 1) * c
    return f + s * s * (1.0 + s * s)


def variably_dimensioned(n: int = 10) -> SolveProblem:
    """MGH problem 6 (the paper's 25), m = n + 2: f* = 0 at (1, ..., 1).

    Parameters
    ----------
    n : int, default 10

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("variably_dimensioned", n, 1.0 - np.arange(1, n + 1) / n,
                        variably_dimensioned_value_and_grad, 0.0, _source(25), x_star=np.ones(n),
                        m=n + 2, residuals=variably_dimensioned_residuals,
                        jacobian=variably_dimensioned_jacobian)


# ---------------------------------------------------------------------------
# MGH 7 (paper's 20): Watson, 2 <= n <= 31, m = 31, t_i = i/29 (i = 1..29),
#   r_i = sum_{j=2}^n (j-1) x_j t^(j-2) - (sum_{j=1}^n x_j t^(j-1))^2 - 1,
#   r_30 = x1, r_31 = x2 - x1^2 - 1.
# ---------------------------------------------------------------------------

WATSON_M = 31
WATSON_F_STAR = {6: 2.28767e-3, 9: 1.39976e-6, 12: 4.72238e-10}


@_kernel
def watson_residuals(x, r):
    """Watson residuals r (31,) at x (n,): for t = i/29, i = 1..29,
    r_i = sum_{j>=2} (j-1) x_j t^(j-2) - (sum_j x_j t^(j-1))^2 - 1;
    r_30 = x1, r_31 = x2 - x1^2 - 1.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    n = x.size
    for i in range(29):
        t = (i + 1) / 29.0
        a = 0.0
        b = 0.0
        p = 1.0                        # t^(j-1), j = 1-based index
        for j in range(n):
            if j > 0:
                a += j * x[j] * (p / t)
            b += x[j] * p
            p *= t
        r[i] = a - b * b - 1.0
    r[29] = x[0]
    r[30] = x[1] - x[0] * x[0] - 1.0


@_kernel
def watson_jacobian(x, J):
    """Watson Jacobian J (31, n) at x (n,): dr_i/dx_j = (j-1) t^(j-2) - 2 b t^(j-1).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    for i in range(29):
        t = (i + 1) / 29.0
        b = 0.0
        p = 1.0
        for j in range(n):
            b += x[j] * p
            p *= t
        p = 1.0
        for j in range(n):
            J[i, j] = (j * (p / t) if j > 0 else 0.0) - 2.0 * b * p
            p *= t
    for j in range(n):
        J[29, j] = 0.0
        J[30, j] = 0.0
    J[29, 0] = 1.0
    J[30, 0] = -2.0 * x[0]
    J[30, 1] = 1.0


@_kernel
def watson_value_and_grad(x, g):
    """Watson f = sum_i r_i^2 (m = 31) at x (n,), gradient into g (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    n = x.size
    for j in range(n):
        g[j] = 0.0
    f = 0.0
    for i in range(29):
        t = (i + 1) / 29.0
        a = 0.0
        b = 0.0
        p = 1.0
        for j in range(n):
            if j > 0:
                a += j * x[j] * (p / t)
            b += x[j] * p
            p *= t
        r = a - b * b - 1.0
        f += r * r
        p = 1.0
        for j in range(n):
            g[j] += 2.0 * r * ((j * (p / t) if j > 0 else 0.0) - 2.0 * b * p)
            p *= t
    r31 = x[1] - x[0] * x[0] - 1.0
    f += x[0] * x[0] + r31 * r31
    g[0] += 2.0 * x[0] - 4.0 * x[0] * r31
    g[1] += 2.0 * r31
    return f


def watson(n: int = 9) -> SolveProblem:
    """MGH problem 7 (the paper's 20), m = 31, 2 <= n <= 31.

    f* = 2.28767e-3 (n = 6), 1.39976e-6 (n = 9), 4.72238e-10 (n = 12); None
    at other n.

    Parameters
    ----------
    n : int, default 9

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("watson", n, np.zeros(n), watson_value_and_grad,
                        WATSON_F_STAR.get(n), _source(20), m=WATSON_M, residuals=watson_residuals,
                        jacobian=watson_jacobian)


# ---------------------------------------------------------------------------
# MGH 8 (paper's 23): penalty I, m = n + 1, a = 1e-5,
#   r_j = sqrt(a) (x_j - 1) (j <= n), r_{n+1} = sum_j x_j^2 - 1/4.
# ---------------------------------------------------------------------------

PENALTY_A = 1e-5
PENALTY_1_F_STAR = {4: 2.24997e-5, 10: 7.08765e-5}


@_kernel
def penalty_1_residuals(x, r):
    """Penalty I residuals r (n + 1,) at x (n,): r_j = sqrt(1e-5) (x_j - 1),
    r_{n+1} = sum_j x_j^2 - 1/4.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    n = x.size
    sa = math.sqrt(PENALTY_A)
    s = -0.25
    for j in range(n):
        r[j] = sa * (x[j] - 1.0)
        s += x[j] * x[j]
    r[n] = s


@_kernel
def penalty_1_jacobian(x, J):
    """Penalty I Jacobian J (n + 1, n) at x (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    sa = math.sqrt(PENALTY_A)
    for i in range(n):
        for j in range(n):
            J[i, j] = sa if i == j else 0.0
    for j in range(n):
        J[n, j] = 2.0 * x[j]


@_kernel
def penalty_1_value_and_grad(x, g):
    """Penalty I f = a sum_j (x_j - 1)^2 + (sum_j x_j^2 - 1/4)^2 at x (n,), gradient
    into g (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    n = x.size
    s = -0.25
    q = 0.0
    for j in range(n):
        s += x[j] * x[j]
        q += (x[j] - 1.0) * (x[j] - 1.0)
    for j in range(n):
        g[j] = 2.0 * PENALTY_A * (x[j] - 1.0) + 4.0 * s * x[j]
    return PENALTY_A * q + s * s


def penalty_1(n: int = 10) -> SolveProblem:
    """MGH problem 8 (the paper's 23), m = n + 1.

    f* = 2.24997e-5 (n = 4), 7.08765e-5 (n = 10); None at other n.

    Parameters
    ----------
    n : int, default 10

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("penalty_1", n, np.arange(1.0, n + 1.0), penalty_1_value_and_grad,
                        PENALTY_1_F_STAR.get(n), _source(23), m=n + 1,
                        residuals=penalty_1_residuals, jacobian=penalty_1_jacobian)


# ---------------------------------------------------------------------------
# MGH 9 (paper's 24): penalty II, m = 2n, a = 1e-5,
#   r_1 = x1 - 0.2,
#   r_i = sqrt(a) (e^(x_i/10) + e^(x_{i-1}/10) - y_i), y_i = e^(i/10) + e^((i-1)/10), 2 <= i <= n,
#   r_{n+i-1} = sqrt(a) (e^(x_i/10) - e^(-1/10)),                                     2 <= i <= n,
#   r_2n = sum_j (n - j + 1) x_j^2 - 1.
# ---------------------------------------------------------------------------

PENALTY_2_F_STAR = {4: 9.37629e-6, 10: 2.93660e-4}


@_kernel
def penalty_2_residuals(x, r):
    """Penalty II residuals r (2n,) at x (n,) (1-based): r_1 = x1 - 0.2;
    r_i = sqrt(a) (exp(x_i/10) + exp(x_{i-1}/10) - exp(i/10) - exp((i-1)/10)) and
    r_{n+i-1} = sqrt(a) (exp(x_i/10) - exp(-1/10)) for 2 <= i <= n;
    r_2n = sum_j (n - j + 1) x_j^2 - 1; a = 1e-5.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    n = x.size
    sa = math.sqrt(PENALTY_A)
    r[0] = x[0] - 0.2
    s = 0.0
    for j in range(n):
        s += (n - j) * x[j] * x[j]
    for i in range(1, n):                  # 0-based i: the paper's i + 1
        y = math.exp((i + 1) / 10.0) + math.exp(i / 10.0)
        r[i] = sa * (math.exp(x[i] / 10.0) + math.exp(x[i - 1] / 10.0) - y)
        r[n + i - 1] = sa * (math.exp(x[i] / 10.0) - math.exp(-0.1))
    r[2 * n - 1] = s - 1.0


@_kernel
def penalty_2_jacobian(x, J):
    """Penalty II Jacobian J (2n, n) at x (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    sa = math.sqrt(PENALTY_A)
    for i in range(2 * n):
        for j in range(n):
            J[i, j] = 0.0
    J[0, 0] = 1.0
    for i in range(1, n):
        J[i, i] = sa * math.exp(x[i] / 10.0) / 10.0
        J[i, i - 1] = sa * math.exp(x[i - 1] / 10.0) / 10.0
        J[n + i - 1, i] = sa * math.exp(x[i] / 10.0) / 10.0
    for j in range(n):
        J[2 * n - 1, j] = 2.0 * (n - j) * x[j]


@_kernel
def penalty_2_value_and_grad(x, g):
    """Penalty II f = sum_i r_i^2 (m = 2n) at x (n,), gradient into g (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    n = x.size
    s = 0.0
    for j in range(n):
        s += (n - j) * x[j] * x[j]
    s -= 1.0
    f = (x[0] - 0.2) ** 2 + s * s
    for j in range(n):
        g[j] = 4.0 * s * (n - j) * x[j]
    g[0] += 2.0 * (x[0] - 0.2)
    em = math.exp(-0.1)
    for i in range(1, n):
        ei = math.exp(x[i] / 10.0)
        ep = math.exp(x[i - 1] / 10.0)
        y = math.exp((i + 1) / 10.0) + math.exp(i / 10.0)
        u = ei + ep - y
        v = ei - em
        f += PENALTY_A * (u * u + v * v)
        g[i] += PENALTY_A * 2.0 * (u + v) * ei / 10.0
        g[i - 1] += PENALTY_A * 2.0 * u * ep / 10.0
    return f


def penalty_2(n: int = 10) -> SolveProblem:
    """MGH problem 9 (the paper's 24), m = 2n.

    f* = 9.37629e-6 (n = 4), 2.93660e-4 (n = 10); None at other n.

    Parameters
    ----------
    n : int, default 10

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("penalty_2", n, np.full(n, 0.5), penalty_2_value_and_grad,
                        PENALTY_2_F_STAR.get(n), _source(24), m=2 * n,
                        residuals=penalty_2_residuals, jacobian=penalty_2_jacobian)


# ---------------------------------------------------------------------------
# MGH 10 (paper's 4): Brown badly scaled, n = 2, m = 3,
#   r1 = x1 - 1e6, r2 = x2 - 2e-6, r3 = x1 x2 - 2.
# ---------------------------------------------------------------------------

@_kernel
def brown_badly_scaled_residuals(x, r):
    """Brown badly scaled residuals r (3,) at x (2,): r1 = x1 - 1e6,
    r2 = x2 - 2e-6, r3 = x1 x2 - 2.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    r[0] = x[0] - 1e6
    r[1] = x[1] - 2e-6
    r[2] = x[0] * x[1] - 2.0


@_kernel
def brown_badly_scaled_jacobian(x, J):
    """Brown badly scaled Jacobian J (3, 2) at x (2,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    J[0, 0] = 1.0
    J[0, 1] = 0.0
    J[1, 0] = 0.0
    J[1, 1] = 1.0
    J[2, 0] = x[1]
    J[2, 1] = x[0]


@_kernel
def brown_badly_scaled_value_and_grad(x, g):
    """Brown badly scaled f = r1^2 + r2^2 + r3^2 at x (2,), gradient into g (2,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    r1 = x[0] - 1e6
    r2 = x[1] - 2e-6
    r3 = x[0] * x[1] - 2.0
    g[0] = 2.0 * (r1 + x[1] * r3)
    g[1] = 2.0 * (r2 + x[0] * r3)
    return r1 * r1 + r2 * r2 + r3 * r3


def brown_badly_scaled() -> SolveProblem:
    """MGH problem 10 (the paper's 4), n = 2, m = 3: f* = 0 at (1e6, 2e-6).

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("brown_badly_scaled", 2, np.array([1.0, 1.0]),
                        brown_badly_scaled_value_and_grad, 0.0, _source(4),
                        x_star=np.array([1e6, 2e-6]), m=3,
                        residuals=brown_badly_scaled_residuals,
                        jacobian=brown_badly_scaled_jacobian)


# ---------------------------------------------------------------------------
# MGH 11 (paper's 16): Brown and Dennis, n = 4, m = 20, t_i = i/5,
#   r_i = (x1 + t x2 - e^t)^2 + (x3 + x4 sin t - cos t)^2.
# ---------------------------------------------------------------------------

BROWN_DENNIS_M = 20


@_kernel
def brown_dennis_residuals(x, r):
    """Brown and Dennis residuals r (m,) at x (4,): r_i = (x1 + t x2 - exp(t))^2
    + (x3 + x4 sin t - cos t)^2, t = i/5.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for i in range(r.size):
        t = (i + 1) / 5.0
        a = x[0] + t * x[1] - math.exp(t)
        b = x[2] + x[3] * math.sin(t) - math.cos(t)
        r[i] = a * a + b * b


@_kernel
def brown_dennis_jacobian(x, J):
    """Brown and Dennis Jacobian J (m, 4) at x (4,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(J.shape[0]):
        t = (i + 1) / 5.0
        a = x[0] + t * x[1] - math.exp(t)
        b = x[2] + x[3] * math.sin(t) - math.cos(t)
        J[i, 0] = 2.0 * a
        J[i, 1] = 2.0 * a * t
        J[i, 2] = 2.0 * b
        J[i, 3] = 2.0 * b * math.sin(t)


@_kernel
def brown_dennis_value_and_grad(x, g):
    """Brown and Dennis f = sum_i r_i^2 (m = 20) at x (4,), gradient into g (4,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    g[0] = g[1] = g[2] = g[3] = 0.0
    for i in range(BROWN_DENNIS_M):
        t = (i + 1) / 5.0
        s = math.sin(t)
        a = x[0] + t * x[1] - math.exp(t)
        b = x[2] + x[3] * s - math.cos(t)
        r = a * a + b * b
        f += r * r
        g[0] += 4.0 * r * a
        g[1] += 4.0 * r * a * t
        g[2] += 4.0 * r * b
        g[3] += 4.0 * r * b * s
    return f


def brown_dennis() -> SolveProblem:
    """MGH problem 11 (the paper's 16), n = 4, m = 20: f* = 85822.2.

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("brown_dennis", 4, np.array([25.0, 5.0, -5.0, -1.0]),
                        brown_dennis_value_and_grad, 85822.2, _source(16), m=BROWN_DENNIS_M,
                        residuals=brown_dennis_residuals, jacobian=brown_dennis_jacobian)


# ---------------------------------------------------------------------------
# MGH 12 (paper's 11): Gulf research and development, n = 3, m = 99, t_i = i/100,
#   y_i = 25 + (-50 ln t_i)^(2/3), r_i = exp(-|y_i - x2|^x3 / x1) - t_i
# (the paper prints a stray glyph for the minus in |y_i - x2|; Algorithm 566
# has the minus).
# ---------------------------------------------------------------------------

GULF_M = 99


@_kernel
def gulf_residuals(x, r):
    """Gulf residuals r (m,) at x (3,): r_i = exp(-|y_i - x2|^x3 / x1) - t_i,
    t_i = i/100, y_i = 25 + (-50 ln t_i)^(2/3).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for i in range(r.size):
        t = (i + 1) / 100.0
        y = 25.0 + (-50.0 * math.log(t)) ** (2.0 / 3.0)
        r[i] = math.exp(-abs(y - x[1]) ** x[2] / x[0]) - t


@_kernel
def gulf_jacobian(x, J):
    """Gulf Jacobian J (m, 3) at x (3,) (the x2 column is 0 where y_i = x2).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(J.shape[0]):
        t = (i + 1) / 100.0
        y = 25.0 + (-50.0 * math.log(t)) ** (2.0 / 3.0)
        d = y - x[1]
        a = abs(d)
        p = a ** x[2]
        e = math.exp(-p / x[0])
        J[i, 0] = e * p / (x[0] * x[0])
        J[i, 1] = e * x[2] * p / (a * x[0]) * (1.0 if d > 0.0 else -1.0) if a > 0.0 else 0.0
        J[i, 2] = -e * p * math.log(a) / x[0] if a > 0.0 else 0.0


@_kernel
def gulf_value_and_grad(x, g):
    """Gulf f = sum_i r_i^2 (m = 99) at x (3,), gradient into g (3,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    g[0] = g[1] = g[2] = 0.0
    for i in range(GULF_M):
        t = (i + 1) / 100.0
        y = 25.0 + (-50.0 * math.log(t)) ** (2.0 / 3.0)
        d = y - x[1]
        a = abs(d)
        p = a ** x[2]
        e = math.exp(-p / x[0])
        r = e - t
        f += r * r
        g[0] += 2.0 * r * e * p / (x[0] * x[0])
        if a > 0.0:
            g[1] += 2.0 * r * e * x[2] * p / (a * x[0]) * (1.0 if d > 0.0 else -1.0)
            g[2] -= 2.0 * r * e * p * math.log(a) / x[0]
    return f


def gulf() -> SolveProblem:
    """MGH problem 12 (the paper's 11), n = 3, m = 99: f* = 0 at (50, 25, 1.5).

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("gulf", 3, np.array([5.0, 2.5, 0.15]), gulf_value_and_grad, 0.0,
                        _source(11),
                        x_star=np.array([50.0, 25.0, 1.5]), m=GULF_M,
                        residuals=gulf_residuals, jacobian=gulf_jacobian)


# ---------------------------------------------------------------------------
# MGH 13 (paper's 26): trigonometric, m = n,
#   r_i = n - sum_j cos x_j + i (1 - cos x_i) - sin x_i.
# ---------------------------------------------------------------------------

TRIGONOMETRIC_F_LOCAL = {10: (2.79506e-5,)}


@_kernel
def trigonometric_residuals(x, r):
    """Trigonometric residuals r (n,) at x (n,): r_i = n - sum_j cos x_j
    + i (1 - cos x_i) - sin x_i.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    n = x.size
    c = 0.0
    for j in range(n):
        c += math.cos(x[j])
    for i in range(n):
        r[i] = n - c + (i + 1) * (1.0 - math.cos(x[i])) - math.sin(x[i])


@_kernel
def trigonometric_jacobian(x, J):
    """Trigonometric Jacobian J (n, n) at x (n,): dr_i/dx_j = sin x_j
    + [i = j] (i sin x_i - cos x_i).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    for i in range(n):
        for j in range(n):
            J[i, j] = math.sin(x[j])
        J[i, i] += (i + 1) * math.sin(x[i]) - math.cos(x[i])


@_kernel
def trigonometric_value_and_grad(x, g):
    """Trigonometric f = sum_i r_i^2 at x (n,), gradient into g (n,):
    g_j = 2 (sin x_j sum_i r_i + r_j (j sin x_j - cos x_j)).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    n = x.size
    c = 0.0
    for j in range(n):
        c += math.cos(x[j])
    f = 0.0
    s = 0.0
    for i in range(n):
        si = math.sin(x[i])
        ci = math.cos(x[i])
        r = n - c + (i + 1) * (1.0 - ci) - si
        f += r * r
        s += r
        g[i] = r * ((i + 1) * si - ci)          # r_i's own term; the sum's below
    for j in range(n):
        g[j] = 2.0 * (g[j] + math.sin(x[j]) * s)
    return f


def trigonometric(n: int = 10) -> SolveProblem:
    """MGH problem 13 (the paper's 26), m = n: f* = 0 (at x = 0, where every r_i = 0).

    From x0 the solvers commonly stop at a local minimum (f about 2.8e-5 at
    n = 10): `SolveProblem.f_local` lists it at n = 10.

    Parameters
    ----------
    n : int, default 10

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("trigonometric", n, np.full(n, 1.0 / n), trigonometric_value_and_grad,
                        0.0, _source(26), f_local=TRIGONOMETRIC_F_LOCAL.get(n, ()),
                        x_star=np.zeros(n), m=n, residuals=trigonometric_residuals,
                        jacobian=trigonometric_jacobian)



# ---------------------------------------------------------------------------
# MGH 14 (paper's 21): extended Rosenbrock, n even, m = n,
#   r_{2k-1} = 10 (x_{2k} - x_{2k-1}^2), r_{2k} = 1 - x_{2k-1}.
# ---------------------------------------------------------------------------

@_kernel
def extended_rosenbrock_residuals(x, r):
    """Extended Rosenbrock residuals r (n,) at x (n,), n even:
    r_{2k-1} = 10 (x_{2k} - x_{2k-1}^2), r_{2k} = 1 - x_{2k-1}.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for k in range(0, x.size, 2):
        r[k] = 10.0 * (x[k + 1] - x[k] * x[k])
        r[k + 1] = 1.0 - x[k]


@_kernel
def extended_rosenbrock_jacobian(x, J):
    """Extended Rosenbrock Jacobian J (n, n) at x (n,) (dense; block diagonal).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    for i in range(n):
        for j in range(n):
            J[i, j] = 0.0
    for k in range(0, n, 2):
        J[k, k] = -20.0 * x[k]
        J[k, k + 1] = 10.0
        J[k + 1, k] = -1.0


@_kernel
def extended_rosenbrock_value_and_grad(x, g):
    """Extended Rosenbrock f = sum_k 100 (x_{2k} - x_{2k-1}^2)^2 + (1 - x_{2k-1})^2
    at x (n,), gradient into g (n,). O(n), one pass.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    for k in range(0, x.size, 2):
        u = x[k + 1] - x[k] * x[k]
        v = 1.0 - x[k]
        f += 100.0 * u * u + v * v
        g[k + 1] = 200.0 * u
        g[k] = -400.0 * x[k] * u - 2.0 * v
    return f


def extended_rosenbrock(n: int = 10) -> SolveProblem:
    """MGH problem 14 (the paper's 21), n even, m = n: f* = 0 at (1, ..., 1).

    x0 = (-1.2, 1, -1.2, 1, ...). The suite also runs it at n = 10**4
    (`large_rosenbrock`).

    Parameters
    ----------
    n : int, default 10
        Even.

    Returns
    -------
    SolveProblem

    Raises
    ------
    ValueError
        n is odd or < 2.
    """
    if n < 2 or n % 2:
        raise ValueError(f"extended Rosenbrock needs an even n >= 2, got {n}")
    x0 = np.tile([-1.2, 1.0], n // 2)
    name = "extended_rosenbrock" if n == 10 else f"extended_rosenbrock_{n}"
    return SolveProblem(name, n, x0, extended_rosenbrock_value_and_grad, 0.0, _source(21),
                        x_star=np.ones(n), m=n, residuals=extended_rosenbrock_residuals,
                        jacobian=extended_rosenbrock_jacobian)


def large_rosenbrock(n: int = 10**4) -> SolveProblem:
    """Extended Rosenbrock at n = 10**4 (issue 30's large problem), f* = 0.

    The same kernels as `extended_rosenbrock`; its dense Jacobian (n x n) is
    not for this size.

    Parameters
    ----------
    n : int, default 10**4
        Even.

    Returns
    -------
    SolveProblem
    """
    return extended_rosenbrock(n)


# ---------------------------------------------------------------------------
# MGH 15 (paper's 22): extended Powell singular, n a multiple of 4, m = n,
#   r_{4k-3} = x_{4k-3} + 10 x_{4k-2},       r_{4k-2} = sqrt5 (x_{4k-1} - x_{4k}),
#   r_{4k-1} = (x_{4k-2} - 2 x_{4k-1})^2,    r_{4k}   = sqrt10 (x_{4k-3} - x_{4k})^2.
# ---------------------------------------------------------------------------

@_kernel
def extended_powell_residuals(x, r):
    """Extended Powell singular residuals r (n,) at x (n,), n a multiple of 4:
    per block (a, b, c, d): a + 10 b, sqrt5 (c - d), (b - 2c)^2, sqrt10 (a - d)^2.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    s5 = math.sqrt(5.0)
    s10 = math.sqrt(10.0)
    for k in range(0, x.size, 4):
        a, b, c, d = x[k], x[k + 1], x[k + 2], x[k + 3]
        r[k] = a + 10.0 * b
        r[k + 1] = s5 * (c - d)
        r[k + 2] = (b - 2.0 * c) ** 2
        r[k + 3] = s10 * (a - d) ** 2


@_kernel
def extended_powell_jacobian(x, J):
    """Extended Powell singular Jacobian J (n, n) at x (n,) (dense; block diagonal).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    s5 = math.sqrt(5.0)
    s10 = math.sqrt(10.0)
    for i in range(n):
        for j in range(n):
            J[i, j] = 0.0
    for k in range(0, n, 4):
        a, b, c, d = x[k], x[k + 1], x[k + 2], x[k + 3]
        J[k, k] = 1.0
        J[k, k + 1] = 10.0
        J[k + 1, k + 2] = s5
        J[k + 1, k + 3] = -s5
        J[k + 2, k + 1] = 2.0 * (b - 2.0 * c)
        J[k + 2, k + 2] = -4.0 * (b - 2.0 * c)
        J[k + 3, k] = 2.0 * s10 * (a - d)
        J[k + 3, k + 3] = -2.0 * s10 * (a - d)


@_kernel
def extended_powell_value_and_grad(x, g):
    """Extended Powell singular f = sum over blocks of (a + 10b)^2 + 5 (c - d)^2
    + (b - 2c)^4 + 10 (a - d)^4 at x (n,), gradient into g (n,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    for k in range(0, x.size, 4):
        a, b, c, d = x[k], x[k + 1], x[k + 2], x[k + 3]
        t1 = a + 10.0 * b
        t2 = c - d
        t3 = b - 2.0 * c
        t4 = a - d
        f += t1 * t1 + 5.0 * t2 * t2 + t3 ** 4 + 10.0 * t4 ** 4
        g[k] = 2.0 * t1 + 40.0 * t4 ** 3
        g[k + 1] = 20.0 * t1 + 4.0 * t3 ** 3
        g[k + 2] = 10.0 * t2 - 8.0 * t3 ** 3
        g[k + 3] = -10.0 * t2 - 40.0 * t4 ** 3
    return f


def extended_powell(n: int = 12) -> SolveProblem:
    """MGH problem 15 (the paper's 22), n a multiple of 4, m = n: f* = 0 at the origin.

    x0 = (3, -1, 0, 1, 3, -1, 0, 1, ...). The Hessian is singular at x*.

    Parameters
    ----------
    n : int, default 12

    Returns
    -------
    SolveProblem

    Raises
    ------
    ValueError
        n is not a positive multiple of 4.
    """
    if n < 4 or n % 4:
        raise ValueError(f"extended Powell singular needs n a positive multiple of 4, got {n}")
    return SolveProblem("extended_powell", n, np.tile([3.0, -1.0, 0.0, 1.0], n // 4),
                        extended_powell_value_and_grad, 0.0, _source(22), x_star=np.zeros(n), m=n,
                        residuals=extended_powell_residuals, jacobian=extended_powell_jacobian)


# ---------------------------------------------------------------------------
# MGH 16 (paper's 5): Beale, n = 2, m = 3, r_i = c_i - x1 (1 - x2^i),
#   c = (1.5, 2.25, 2.625).
# ---------------------------------------------------------------------------

BEALE_C = np.array([1.5, 2.25, 2.625])


@_kernel
def beale_residuals(x, r):
    """Beale residuals r (3,) at x (2,): r_i = c_i - x1 (1 - x2^i), c = (1.5, 2.25, 2.625).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    for i in range(3):
        r[i] = BEALE_C[i] - x[0] * (1.0 - x[1] ** (i + 1))


@_kernel
def beale_jacobian(x, J):
    """Beale Jacobian J (3, 2) at x (2,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(3):
        J[i, 0] = -(1.0 - x[1] ** (i + 1))
        J[i, 1] = x[0] * (i + 1) * x[1] ** i


@_kernel
def beale_value_and_grad(x, g):
    """Beale f = sum_i (c_i - x1 (1 - x2^i))^2 at x (2,), gradient into g (2,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    f = 0.0
    g[0] = g[1] = 0.0
    for i in range(3):
        r = BEALE_C[i] - x[0] * (1.0 - x[1] ** (i + 1))
        f += r * r
        g[0] -= 2.0 * r * (1.0 - x[1] ** (i + 1))
        g[1] += 2.0 * r * x[0] * (i + 1) * x[1] ** i
    return f


def beale() -> SolveProblem:
    """MGH problem 16 (the paper's 5), n = 2, m = 3: f* = 0 at (3, 0.5).

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("beale", 2, np.array([1.0, 1.0]), beale_value_and_grad, 0.0, _source(5),
                        x_star=np.array([3.0, 0.5]), m=3, residuals=beale_residuals,
                        jacobian=beale_jacobian)


# ---------------------------------------------------------------------------
# MGH 17 (paper's 14): Wood, n = 4, m = 6,
#   r1 = 10 (x2 - x1^2), r2 = 1 - x1, r3 = sqrt90 (x4 - x3^2), r4 = 1 - x3,
#   r5 = sqrt10 (x2 + x4 - 2), r6 = (x2 - x4) / sqrt10.
# ---------------------------------------------------------------------------

@_kernel
def wood_residuals(x, r):
    """Wood residuals r (6,) at x (4,): 10 (x2 - x1^2), 1 - x1, sqrt90 (x4 - x3^2),
    1 - x3, sqrt10 (x2 + x4 - 2), (x2 - x4)/sqrt10.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    r[0] = 10.0 * (x[1] - x[0] * x[0])
    r[1] = 1.0 - x[0]
    r[2] = math.sqrt(90.0) * (x[3] - x[2] * x[2])
    r[3] = 1.0 - x[2]
    r[4] = math.sqrt(10.0) * (x[1] + x[3] - 2.0)
    r[5] = (x[1] - x[3]) / math.sqrt(10.0)


@_kernel
def wood_jacobian(x, J):
    """Wood Jacobian J (6, 4) at x (4,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    for i in range(6):
        for j in range(4):
            J[i, j] = 0.0
    J[0, 0] = -20.0 * x[0]
    J[0, 1] = 10.0
    J[1, 0] = -1.0
    J[2, 2] = -2.0 * math.sqrt(90.0) * x[2]
    J[2, 3] = math.sqrt(90.0)
    J[3, 2] = -1.0
    J[4, 1] = J[4, 3] = math.sqrt(10.0)
    J[5, 1] = 1.0 / math.sqrt(10.0)
    J[5, 3] = -1.0 / math.sqrt(10.0)


@_kernel
def wood_value_and_grad(x, g):
    """Wood f = 100 (x2 - x1^2)^2 + (1 - x1)^2 + 90 (x4 - x3^2)^2 + (1 - x3)^2
    + 10 (x2 + x4 - 2)^2 + (x2 - x4)^2 / 10 at x (4,), gradient into g (4,).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    s1 = x[1] - x[0] * x[0]
    s2 = 1.0 - x[0]
    t1 = x[3] - x[2] * x[2]
    t2 = 1.0 - x[2]
    u = x[1] + x[3] - 2.0
    v = x[1] - x[3]
    g[0] = -400.0 * x[0] * s1 - 2.0 * s2
    g[1] = 200.0 * s1 + 20.0 * u + 0.2 * v
    g[2] = -360.0 * x[2] * t1 - 2.0 * t2
    g[3] = 180.0 * t1 + 20.0 * u - 0.2 * v
    return 100.0 * s1 * s1 + s2 * s2 + 90.0 * t1 * t1 + t2 * t2 + 10.0 * u * u + 0.1 * v * v


def wood() -> SolveProblem:
    """MGH problem 17 (the paper's 14), n = 4, m = 6: f* = 0 at (1, 1, 1, 1).

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("wood", 4, np.array([-3.0, -1.0, -3.0, -1.0]), wood_value_and_grad, 0.0,
                        _source(14), x_star=np.ones(4), m=6, residuals=wood_residuals,
                        jacobian=wood_jacobian)


# ---------------------------------------------------------------------------
# MGH 18 (paper's 35): Chebyquad, m = n here,
#   r_i = (1/n) sum_j T_i(2 x_j - 1) - int_0^1 T_i(2x - 1) dx,
#   the integral 0 for odd i and -1/(i^2 - 1) for even i (T_i: Chebyshev).
# ---------------------------------------------------------------------------

CHEBYQUAD_F_STAR = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0, 6: 0.0, 7: 0.0, 8: 3.51687e-3,
                    9: 0.0, 10: 6.50395e-3}


@_kernel
def chebyquad_residuals(x, r):
    """Chebyquad residuals r (m,) at x (n,): r_i = mean_j T_i(2 x_j - 1)
    + [i even] 1/(i^2 - 1), T_i the Chebyshev polynomials (T_{k+1} = 2y T_k - T_{k-1}).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    r : ndarray of float64, shape (m,)
        Overwritten with r(x); ``f(x) = sum(r**2)``.
    """
    n = x.size
    m = r.size
    for i in range(m):
        r[i] = 0.0
    for j in range(n):
        y = 2.0 * x[j] - 1.0
        t0 = 1.0
        t1 = y
        for i in range(m):
            r[i] += t1
            t0, t1 = t1, 2.0 * y * t1 - t0
    for i in range(m):
        r[i] /= n
        if (i + 1) % 2 == 0:
            r[i] += 1.0 / ((i + 1) * (i + 1) - 1.0)


@_kernel
def chebyquad_jacobian(x, J):
    """Chebyquad Jacobian J (m, n) at x (n,): dr_i/dx_j = (2/n) T_i'(2 x_j - 1),
    T'_{k+1} = 2 T_k + 2y T'_k - T'_{k-1}.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    J : ndarray of float64, shape (m, n)
        Overwritten with J(x), ``J[i, j] = dr_i/dx_j`` (every entry written).
    """
    n = x.size
    m = J.shape[0]
    for j in range(n):
        y = 2.0 * x[j] - 1.0
        t0, t1 = 1.0, y                # T_{i-1}, T_i
        d0, d1 = 0.0, 1.0              # their derivatives in y
        for i in range(m):
            J[i, j] = 2.0 * d1 / n
            t0, t1, d0, d1 = t1, 2.0 * y * t1 - t0, d1, 2.0 * t1 + 2.0 * y * d1 - d0


@_kernel
def chebyquad_value_and_grad(x, g):
    """Chebyquad f = sum_i r_i^2 (m = n) at x (n,), gradient into g (n,):
    g_j = (4/n) sum_i r_i T_i'(2 x_j - 1). O(n^2); the one kernel here that
    allocates (r, n floats per call: every g_j needs all of r).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    g : ndarray of float64, shape (n,)
        Overwritten with grad f(x).

    Returns
    -------
    float
        f(x).
    """
    n = x.size
    r = np.zeros(n)
    for j in range(n):
        y = 2.0 * x[j] - 1.0
        t0, t1 = 1.0, y
        for i in range(n):
            r[i] += t1
            t0, t1 = t1, 2.0 * y * t1 - t0
    f = 0.0
    for i in range(n):
        r[i] /= n
        if (i + 1) % 2 == 0:
            r[i] += 1.0 / ((i + 1) * (i + 1) - 1.0)
        f += r[i] * r[i]
    for j in range(n):
        y = 2.0 * x[j] - 1.0
        t0, t1 = 1.0, y
        d0, d1 = 0.0, 1.0
        s = 0.0
        for i in range(n):
            s += r[i] * d1
            t0, t1, d0, d1 = t1, 2.0 * y * t1 - t0, d1, 2.0 * t1 + 2.0 * y * d1 - d0
        g[j] = 4.0 * s / n
    return f


def chebyquad(n: int = 10) -> SolveProblem:
    """MGH problem 18 (the paper's 35), m = n.

    f* = 0 for 1 <= n <= 7 and n = 9, 3.51687e-3 (n = 8), 6.50395e-3
    (n = 10); None at other n.

    Parameters
    ----------
    n : int, default 10

    Returns
    -------
    SolveProblem
    """
    return SolveProblem("chebyquad", n, np.arange(1, n + 1) / (n + 1.0),
                        chebyquad_value_and_grad, CHEBYQUAD_F_STAR.get(n), _source(35), m=n,
                        residuals=chebyquad_residuals, jacobian=chebyquad_jacobian)


# ---------------------------------------------------------------------------
# L2-regularised logistic regression (not a sum of squares), labels b_i = +-1:
#   f(w) = (1/N) sum_i log(1 + exp(-b_i a_i.w)) + (lam/2) |w|^2,
#   grad f(w) = -(1/N) sum_i b_i sigma(-b_i a_i.w) a_i + lam w.
# ---------------------------------------------------------------------------

@_kernel
def logistic_value_and_grad(w, g, A, b, lam):
    """L2 logistic loss f(w) = mean_i log(1 + exp(-b_i A_i.w)) + lam/2 |w|^2 at w (d,),
    gradient into g (d,); A (N, d) C-contiguous, b (N,) of +-1, lam >= 0.

    One serial pass over A's rows (deterministic: a fixed order of sums);
    log(1 + e^-u) and sigma(-u) are computed without overflow for any u.

    Parameters
    ----------
    w : ndarray of float64, shape (d,)
    g : ndarray of float64, shape (d,)
        Overwritten with grad f(w).
    A : ndarray of float64, shape (N, d)
        The features, one sample a row.
    b : ndarray of float64, shape (N,)
        The labels, +1.0 or -1.0.
    lam : float
        The L2 weight.

    Returns
    -------
    float
        f(w).
    """
    N, d = A.shape
    for j in range(d):
        g[j] = 0.0
    f = 0.0
    for i in range(N):
        z = 0.0
        for j in range(d):
            z += A[i, j] * w[j]
        u = b[i] * z
        if u > 0.0:
            e = math.exp(-u)
            f += math.log1p(e)
            s = e / (1.0 + e)                  # sigma(-u)
        else:
            e = math.exp(u)
            f += -u + math.log1p(e)
            s = 1.0 / (1.0 + e)
        c = -b[i] * s
        for j in range(d):
            g[j] += c * A[i, j]
    q = 0.0
    for j in range(d):
        g[j] = g[j] / N + lam * w[j]
        q += w[j] * w[j]
    return f / N + 0.5 * lam * q


LOGISTIC_L2 = 1e-4
LOGISTIC_SEED = 20260530


def logistic_data(n_samples: int = 10**5, n_features: int = 100,
                  seed: int = LOGISTIC_SEED) -> tuple[np.ndarray, np.ndarray]:
    """A generated classification data set: features and +-1 labels.

    ``A = N(0, 1) / sqrt(d)`` (d = n_features), a true weight vector
    ``w ~ N(0, 4 I)``, and labels drawn from the logistic model,
    ``P(b_i = 1) = sigma(A_i.w)``: the classes overlap, so the minimiser is
    finite at any L2 weight.

    Parameters
    ----------
    n_samples : int, default 10**5
    n_features : int, default 100
    seed : int, default LOGISTIC_SEED
        numpy.random.default_rng's seed.

    Returns
    -------
    A : ndarray of float64, shape (n_samples, n_features)
    b : ndarray of float64, shape (n_samples,)
        +1.0 or -1.0.
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n_samples, n_features)) / math.sqrt(n_features)
    w = 2.0 * rng.standard_normal(n_features)
    p = 1.0 / (1.0 + np.exp(-(A @ w)))
    b = np.where(rng.random(n_samples) < p, 1.0, -1.0)
    return A, b


def logistic_regression(n_samples: int = 10**5, n_features: int = 100,
                        l2: float = LOGISTIC_L2, seed: int = LOGISTIC_SEED) -> SolveProblem:
    """L2 logistic regression on `logistic_data`, x0 = 0; f* unknown (None).

    Parameters
    ----------
    n_samples : int, default 10**5
    n_features : int, default 100
    l2 : float, default 1e-4
        lam in ``f(w) = mean_i log(1 + exp(-b_i A_i.w)) + lam/2 |w|^2``.
    seed : int, default LOGISTIC_SEED

    Returns
    -------
    SolveProblem
        args = (A, b, l2).
    """
    A, b = logistic_data(n_samples, n_features, seed)
    name = ("logistic" if (n_samples, n_features) == (10**5, 100)
            else f"logistic_{n_samples}x{n_features}")
    return SolveProblem(name, n_features, np.zeros(n_features), logistic_value_and_grad, None,
                        f"generated: logistic_data(seed={seed}), L2 {l2:g}",
                        args=(A, b, float(l2)))


def bounded_exp_fit(n_times: int = 40, seed: int = 7) -> SolveProblem:
    """A bounded least-squares fit: y = a exp(-b t) + c to noisy samples of
    1.5 exp(-0.3 t) + 0.1 on [0, 10], with a in [0, 1.2] (the bound binds at
    the minimum), b in [0, 1], c in [0, 0.5]; x0 = (1, 0.5, 0); f* unknown.

    Parameters
    ----------
    n_times : int, default 40
    seed : int, default 7

    Returns
    -------
    SolveProblem
        fun = gdfast.problems.exp_decay_value_and_grad, args = (y, t), bounds.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, n_times)
    y = 1.5 * np.exp(-0.3 * t) + 0.1 + 0.01 * rng.standard_normal(n_times)
    bounds = (np.array([0.0, 0.0, 0.0]), np.array([1.2, 1.0, 0.5]))
    return SolveProblem("bounded_exp_fit", 3, np.array([1.0, 0.5, 0.0]),
                        exp_decay_value_and_grad, None,
                        f"generated (seed {seed}): a exp(-b t) + c, a <= 1.2 binding",
                        args=(y, t), bounds=bounds)


TV_LAM, TV_EPS, TV_SIGMA, TV_SEED = 0.1, 0.05, 0.1, 3


@cached_objective
@njit(**_OPTIONS)
def tv_value_and_grad(x, g, f, lam, eps, work):
    """The smoothed-TV denoising energy of the image x (given flat) and its
    gradient into g (flat): kernels.tv's E(u) = 1/2 |u - f|^2 + lam sum
    sqrt(|grad u|^2 + eps^2), the rows in parallel."""
    return tv_energy_grad_2d_parallel(x.reshape(f.shape), f, lam, eps, g.reshape(f.shape),
                                      work)


def tv_denoising(side: int = 1024, lam: float = TV_LAM, eps: float = TV_EPS,
                 sigma: float = TV_SIGMA, seed: int = TV_SEED) -> SolveProblem:
    """Smoothed-TV denoising of a noisy `gdfast.images.synthetic_image` through
    minimize: x0 the noisy image (flat), f* unknown (None).

    Parameters
    ----------
    side : int, default 1024
        The image is side x side (n = side**2).
    lam, eps : float, default 0.1, 0.05
        The energy's weight and smoothing (kernels.tv).
    sigma : float, default 0.1
        The Gaussian noise added to the image (values in [0, 1]).
    seed : int, default 3

    Returns
    -------
    SolveProblem
        args = (f, lam, eps, work): the noisy image, lam, eps and kernels.tv's
        workspace.
    """
    rng = np.random.default_rng(seed)
    noisy = synthetic_image(side, seed) + sigma * rng.standard_normal((side, side))
    name = "tv_denoising" if side == 1024 else f"tv_denoising_{side}"
    return SolveProblem(name, side * side, noisy.ravel().copy(), tv_value_and_grad, None,
                        f"gdfast.kernels.tv's smoothed TV (lam {lam:g}, eps {eps:g}) of "
                        f"synthetic_image({side}) with noise {sigma:g}",
                        args=(noisy, float(lam), float(eps), tv_workspace_2d((side, side))))


# ---------------------------------------------------------------------------
# The suite
# ---------------------------------------------------------------------------

# MGH's unconstrained-minimization list, in its order (Algorithm 566's NPROB)
MGH_BUILDERS: tuple[Callable[[], SolveProblem], ...] = (
    helical_valley, biggs_exp6, gaussian, powell_badly_scaled, box_3d, variably_dimensioned,
    watson, penalty_1, penalty_2, brown_badly_scaled, brown_dennis, gulf, trigonometric,
    extended_rosenbrock, extended_powell, beale, wood, chebyquad)


def mgh_problems() -> list[SolveProblem]:
    """The 18 MGH problems at their standard x0 and the suite's n (module docstring).

    Returns
    -------
    list of SolveProblem
        In MGH's order (Algorithm 566's problem numbers 1 to 18).
    """
    return [build() for build in MGH_BUILDERS]


def solve_suite(quick: bool = False) -> list[SolveProblem]:
    """The problems of ``gdfast bench solve``: the 18 MGH problems, extended
    Rosenbrock at n = 10**4, the logistic regression (10**5 x 100) and TV
    denoising of a 1024^2 image (not in the quick suite: its compilation
    would double the test's time).

    Parameters
    ----------
    quick : bool, default False
        True: the last two at small sizes (n = 100; 2,000 x 20), the same
        kernels, for tests.

    Returns
    -------
    list of SolveProblem
    """
    if quick:
        return [*mgh_problems(), large_rosenbrock(100), logistic_regression(2000, 20),
                bounded_exp_fit()]
    return [*mgh_problems(), large_rosenbrock(), logistic_regression(), tv_denoising(),
            bounded_exp_fit()]
