"""Numerical gradients: central differences and a gradient checker."""
from collections.abc import Callable

import numpy as np
from numba.extending import is_jitted
from numpy.typing import ArrayLike

from . import _validation as check
from .kernels.finite_differences import central_differences, central_differences_parallel
from .kernels.function_refs import cacheable

EPS = np.finfo(np.float64).eps
# Coordinates per call above which the compiled differences run in parallel.
PARALLEL_MIN_COORDINATES = 64


def default_steps(x):
    """h_i = eps**(1/3) * max(1, |x_i|), rounded so that x_i + h_i - x_i == h_i.

    eps**(1/3) balances truncation error O(h^2) against rounding O(eps/h)
    for central differences (Nocedal & Wright, Numerical Optimization, 8.1).
    """
    h = EPS ** (1.0 / 3.0) * np.maximum(1.0, np.abs(x))
    return (x + h) - x


def scalar_value(name, f):
    """f as a float; TypeError/ValueError naming fun if it is not a real scalar."""
    if isinstance(f, (bool, np.bool_)):
        raise TypeError(f"{name} must return a real number, got the bool {f!r}")
    if isinstance(f, (str, bytes, bytearray, tuple, list, dict)):
        hint = " (a fun returning (f, g) needs jac=True)" if isinstance(f, tuple) else ""
        raise TypeError(f"{name} must return a real scalar, got {type(f).__name__}{hint}")
    if np.ndim(f) != 0:
        raise ValueError(f"{name} must return a scalar, got an array of shape {np.shape(f)}")
    if np.iscomplexobj(f):
        raise TypeError(f"{name} must return a real number, got {f!r}")
    try:
        return float(f)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must return a real number, got {type(f).__name__}") from None


def _steps(h, x):
    if h is None:
        return default_steps(x)
    h_arr = np.broadcast_to(np.asarray(h, dtype=np.float64), x.shape).copy()
    if not (np.isfinite(h_arr).all() and (h_arr > 0).all()):
        raise ValueError("h must be > 0 and finite (a float or an array shaped like x)")
    return h_arr


def central_difference_gradient(fun, x_flat, h_flat, g_flat, args, shape):
    """g_flat <- central differences of fun at x_flat (all float64, 1-D).

    A numba-compiled fun (called as fun(x, *args) on arrays of ``shape``)
    runs in compiled kernels, in parallel over coordinates when there are
    many; any other callable is called from Python once per evaluation.
    """
    n = x_flat.size
    if is_jitted(fun) and len(shape) == 1:
        kernel = (central_differences_parallel if n >= PARALLEL_MIN_COORDINATES
                  else central_differences)
        kernel(cacheable(fun), x_flat, h_flat, g_flat, tuple(args))
        return
    work = x_flat.copy()
    view = work.reshape(shape)
    for i in range(n):
        xi = x_flat[i]
        work[i] = xi + h_flat[i]
        f_plus = scalar_value("fun", fun(view, *args))
        work[i] = xi - h_flat[i]
        f_minus = scalar_value("fun", fun(view, *args))
        work[i] = xi
        g_flat[i] = (f_plus - f_minus) / (2.0 * h_flat[i])


def gradient(fun: Callable[..., float], x: ArrayLike, h: float | ArrayLike | None = None,
             args: tuple = ()) -> np.ndarray:
    """Central-difference gradient of a scalar function.

    ::

        g_i = (fun(x + h_i e_i, *args) - fun(x - h_i e_i, *args)) / (2 h_i)

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``; a numba @njit fun of a 1-D x is differenced
        by compiled kernels, in parallel over coordinates.
    x : array_like
        Real numbers, any shape, finite, not empty.
    h : float or array_like, optional
        The steps, every one > 0: a float, or an array shaped like x; None
        (default): ``eps**(1/3) * max(1, |x_i|)``.
    args : tuple, default ()
        Extra arguments passed to fun after x.

    Returns
    -------
    ndarray of float64
        The gradient, shaped like x. The error is O(h^2) for smooth fun: about
        1e-10 relative with the default steps.

    Examples
    --------
    >>> import numpy as np
    >>> import gdfast
    >>> g = gdfast.gradient(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]))
    >>> print(np.round(g, 6))
    [ 3. 12.]
    """
    x_arr = check.real_array("x", x)
    h_arr = _steps(h, x_arr)
    scalar_value("fun", fun(x_arr.copy(), *args))
    g = np.empty(x_arr.size)
    central_difference_gradient(fun, x_arr.ravel(), h_arr.ravel(), g, args, x_arr.shape)
    return g.reshape(x_arr.shape)


def check_grad(fun: Callable[..., float], grad: Callable[..., ArrayLike], x: ArrayLike,
               args: tuple = (), h: float | ArrayLike | None = None) -> float:
    """The distance of grad from fun's central-difference gradient.

    ``sqrt(sum((grad(x) - gradient(fun, x))**2))``, as
    scipy.optimize.check_grad. A small number (relative to ``|grad(x)|``)
    means grad is fun's gradient.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, differenced as by `gdfast.gradient`.
    grad : callable
        ``grad(x, *args) -> g``, an array shaped like x.
    x : array_like
        Real numbers, any shape, finite, not empty.
    args : tuple, default ()
        Extra arguments passed to fun and grad after x.
    h : float or array_like, optional
        The steps, as in `gdfast.gradient`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        grad returned an array of another shape than x.

    Examples
    --------
    >>> import numpy as np
    >>> import gdfast
    >>> err = gdfast.check_grad(lambda x: (x ** 2).sum(), lambda x: 2 * x,
    ...                         np.array([1.0, -3.0]))
    >>> bool(err < 1e-6)
    True
    """
    x_arr = check.real_array("x", x)
    analytic = np.asarray(grad(x_arr.copy(), *args), dtype=np.float64)
    if analytic.shape != x_arr.shape:
        raise ValueError(f"grad must return an array of shape {x_arr.shape}, got {analytic.shape}")
    return float(np.sqrt(np.sum((analytic - gradient(fun, x_arr, h, args)) ** 2)))


class Objective:
    """f(x) and the gradient written into a buffer, in one of the three jac modes."""

    def __init__(self, fun, jac, args, shape):
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        if not (jac is True or callable(jac) or jac in ("3-point", "inplace")):
            raise ValueError(f"jac must be True, a callable, '3-point' or 'inplace', got {jac!r}")
        self.fun, self.jac, self.args, self.shape = fun, jac, args, shape
        self.nfev = 0

    def __call__(self, x, g):
        view = x.reshape(self.shape)
        self.nfev += 1
        if self.jac is True:
            out = self.fun(view, *self.args)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("fun must return (f, g) when jac=True; pass jac='3-point' "
                                "or jac=callable for a fun that returns f alone")
            f, grad = out
            self._store(grad, g, "fun")
        elif self.jac == "inplace":
            f = self.fun(view, g.reshape(self.shape), *self.args)
        elif self.jac == "3-point":
            f = self.fun(view, *self.args)
            central_difference_gradient(self.fun, x, default_steps(x), g, self.args, self.shape)
            self.nfev += 2 * x.size
        else:
            f = self.fun(view, *self.args)
            self._store(self.jac(view, *self.args), g, "jac")
        return scalar_value("fun", f)

    def _store(self, grad, g, who):
        grad = np.asarray(grad)
        if grad.shape != self.shape:
            raise ValueError(f"{who} must return a gradient of shape {self.shape} (the shape "
                             f"of x0), got shape {grad.shape}")
        if grad.dtype.kind not in "fiu":
            raise TypeError(f"{who} must return a real gradient, got dtype {grad.dtype}")
        np.copyto(g.reshape(self.shape), grad)
