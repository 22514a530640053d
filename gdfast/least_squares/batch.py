"""gdfast.least_squares_batch: many small least-squares fits by Levenberg–Marquardt.

The iterations are kernels.levenberg_marquardt's, one problem per row of X0,
the rows in parallel; the chunking over rows and iterations (for Ctrl-C)
is minimize_batch's (gdfast._batch), and changes no number of a row.
"""
import math
from collections.abc import Callable

import numpy as np
from numba.extending import is_jitted
from numpy.typing import ArrayLike

from .. import _validation as check
from .._batch import check_arity, checked_batch, checked_batch_arg, run_batch
from .._run import OptimizeResult, Status
from ..kernels.driver import RUNNING
from ..kernels.function_refs import cacheable
from ..kernels.levenberg_marquardt import FUSED, least_squares_batch_nopython
from ..quasi_newton.minimize_method import batch_bounds, project_into

# what each status means for this method (the result's ``messages``)
LM_MESSAGES = {
    Status.GTOL: "the gradient is orthogonal to the residuals: max_j |J_j . r| / "
                 "(||J_j|| ||r||) <= gtol over the free parameters (or r = 0)",
    Status.FTOL: "a step lowered the cost by at most ftol times the cost",
    Status.XTOL: "the step's norm ||dx|| <= xtol * (xtol + ||x||)",
    Status.MAX_ITER: "max_iter trial steps taken",
    Status.NON_FINITE: "NaN or inf in the residuals or the Jacobian at x0, or in the "
                       "Jacobian at an accepted point (x is that point)",
    Status.INTERRUPTED: "interrupted (Ctrl-C); x is the last accepted point",
}


def least_squares_batch(fun: Callable, X0: ArrayLike, jac: "Callable | bool | None" = None, *,
                        n_residuals: int, args: tuple = (), batch_args: tuple = (),
                        bounds: object = None, max_iter: int = 100, ftol: float = 1e-8,
                        xtol: float = 1e-8, gtol: float = 1e-8) -> OptimizeResult:
    """Fit the rows of X0 as independent least-squares problems, in parallel.

    Each problem minimises ``cost(x) = 1/2 sum_k r_k(x)^2`` over its row x
    (n_params), inside its bounds, by Levenberg–Marquardt with Marquardt's
    scaling and Nielsen's damping update (kernels.levenberg_marquardt, whose
    docstring has the equations): scipy.optimize.least_squares(method='lm')
    for every pixel of an image, in compiled code.

    Parameters
    ----------
    fun : numba @njit function
        ``residuals(x, r, *batch_rows, *args)`` that writes the n_residuals
        residuals at x (float64 (n_params,)) into r (float64
        (n_residuals,)). Problem i gets ``batch_rows = (b[i] for b in
        batch_args)``.
    X0 : array_like, shape (n_problems, n_params)
        The starts: real, finite; copied.
    jac : numba @njit function, True or None, default None
        ``jacobian(x, J, *batch_rows, *args)`` that writes dr/dx into J
        (float64 (n_residuals, n_params), zeroed before each call). True: fun
        writes both, ``fun(x, r, J, *batch_rows, *args)``, so that what the
        residuals and the Jacobian share (exp(-b t) in an exponential fit) is
        computed once: the fastest form (as Gpufit's models); every trial
        point then gets its Jacobian (njev = nfev). None: forward differences
        (n_params evaluations of fun per Jacobian).
    n_residuals : int
        The length of r (>= 1).
    args : tuple, default ()
        Data shared by all problems.
    batch_args : tuple of arrays, default ()
        Arrays whose first axis has length n_problems: per-problem data.
    bounds : optional
        As in `gdfast.minimize_batch`: shared or per problem, None or -inf /
        inf for a free side; rows of X0 outside are projected onto them.
    max_iter : int, default 100
        Trial steps per problem (accepted or rejected).
    ftol, xtol, gtol : float, default 1e-8
        The stopping tolerances, scipy.optimize.least_squares's defaults;
        each test is relative (module docstring of
        kernels.levenberg_marquardt), so the fit does not depend on the units
        of the residuals or of the parameters. 0 turns a test off.

    Returns
    -------
    OptimizeResult
        x (n_problems, n_params); per problem cost (float64), fun (the
        residuals at x, (n_problems, n_residuals)), nit (trial steps), nfev
        (evaluations of fun, the forward differences' not counted, as
        scipy's), njev (Jacobians), status ('gtol', 'ftol', 'xtol',
        'max_iter', 'non-finite', 'interrupted') and success (bool); message
        (the counts of each status) and messages (what each means).

    Raises
    ------
    TypeError
        fun or jac is not a numba @njit function, or takes other arguments
        than ``(x, r, *batch_rows, *args)``; fun returns its residuals
        instead of writing them into r.
    ValueError
        An argument out of its range (X0 not 2-D or not finite, n_residuals
        < 1, bounds with lower > upper, ...), or fun or jac writing past the
        arrays of n_residuals rows (tried on the first problem, in Python,
        before any compiled call), named in the message.

    Notes
    -----
    Compiled once per process and pair of functions (once per machine for
    functions registered with `gdfast.cached_objective`). Every problem's
    numbers are bit for bit the same for any thread count and any cut of the
    rows into chunks. Ctrl-C stops after the chunk in progress (about 0.1 s):
    the problems not finished get status 'interrupted', x where they are.

    Examples
    --------
    >>> import numpy as np, gdfast
    >>> from numba import njit
    >>> @njit
    ... def decay(p, r, y, t):              # r_k = a exp(-b t_k) + c - y_k
    ...     for k in range(t.size):
    ...         r[k] = p[0] * np.exp(-p[1] * t[k]) + p[2] - y[k]
    >>> t = np.arange(8.0)
    >>> Y = np.array([2.0 * np.exp(-0.3 * t) + 0.1, 1.0 * np.exp(-0.2 * t)])
    >>> res = gdfast.least_squares_batch(decay, np.ones((2, 3)), n_residuals=8,
    ...                                  batch_args=(Y,), args=(t,))
    >>> print(np.round(res.x, 6), res.success)
    [[2.  0.3 0.1]
     [1.  0.2 0. ]] [ True  True]
    """
    fused = jac is True
    if fused:
        jac = None
    elif isinstance(jac, (bool, np.bool_)):
        raise TypeError("jac must be a numba @njit function, True (fun writes r and J) or "
                        "None (forward differences); got False")
    for name, f in (("fun", fun), ("jac", jac)):
        if f is not None and not is_jitted(f):
            raise TypeError(f"{name} must be a numba @njit function; got {type(f).__name__}")
    X = checked_batch(X0)
    m, n = X.shape
    n_res = check.whole_number("n_residuals", n_residuals, 1)
    max_iter = check.whole_number("max_iter", max_iter, 0)
    ftol, xtol, gtol = (check.non_negative(k, v) for k, v in
                        (("ftol", ftol), ("xtol", xtol), ("gtol", gtol)))
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    if not isinstance(batch_args, tuple):
        raise TypeError(f"batch_args must be a tuple of arrays, got {type(batch_args).__name__}")
    batch_args = tuple(checked_batch_arg(k, b, m) for k, b in enumerate(batch_args))
    check_arity(fun, len(batch_args), len(args), ("x", "r", "J") if fused else ("x", "r"))
    if jac is not None:
        check_arity(jac, len(batch_args), len(args), ("x", "J"))
    lower, upper = (batch_bounds(bounds, m, n) if bounds is not None else
                    (np.empty((m, 0)), np.empty((m, 0))))
    if m > 0:
        _try_first_problem(fun, FUSED if fused else jac, X[0], n_res,
                           tuple(b[0] for b in batch_args) + args)
    projected = lower.size > 0 and project_into(X, lower, upper)
    cost = np.full(m, math.nan)
    R = np.full((m, n_res), math.nan)
    codes = np.full(m, RUNNING, dtype=np.int64)
    D, damping = np.zeros((m, n)), np.zeros((m, 2))
    counts = np.zeros((m, 3), dtype=np.int64)
    residuals = cacheable(fun)
    jacobian = FUSED if fused else None if jac is None else cacheable(jac)

    def run(rows, steps):
        least_squares_batch_nopython(residuals, jacobian, X[rows],
                                     tuple(b[rows] for b in batch_args), args, lower[rows],
                                     upper[rows], n_res, min(max_iter, 2**62), ftol, xtol, gtol,
                                     cost[rows], R[rows], codes[rows], D[rows], damping[rows],
                                     counts[rows], steps)
        return bool((codes[rows] == RUNNING).any())
    status, success, message = run_batch(
        run, codes, max_iter, projected,
        f"fun (or jac) could not be compiled as fun(x, r{', J' if fused else ''}, "
        "*batch_rows, *args) with "
        f"{len(batch_args)} batch_args and {len(args)} args")
    return OptimizeResult(x=X, cost=cost, fun=R, nit=counts[:, 0].copy(),
                          nfev=counts[:, 1].copy(), njev=counts[:, 2].copy(), status=status,
                          success=success, message=message,
                          messages={s.value: LM_MESSAGES[s] for s in LM_MESSAGES})


def _try_first_problem(fun, jac, x0, n_res, args):
    """fun and jac (None, a function or FUSED) once in Python on the first
    problem, into arrays of the stated size: writing past them (an
    IndexError there, memory corruption in compiled code) or returning the
    residuals instead of writing them is named before any compiled call.
    Other errors are left to the compiled call, whose messages numba words."""
    r = np.full(n_res, math.nan)
    J = np.zeros((n_res, x0.size))
    fused = jac is FUSED
    try:
        out = fun.py_func(x0.copy(), r, J, *args) if fused else fun.py_func(x0.copy(), r, *args)
    except IndexError as err:
        what = (f"the residuals (n_residuals,) = ({n_res},) or the Jacobian (n_residuals, "
                f"n_params) = {J.shape}" if fused else
                f"the {n_res} residuals of n_residuals={n_res}")
        raise ValueError(f"fun writes past {what} (on problem 0: {err})") from None
    except Exception:                           # noqa: BLE001 - numba will say
        return
    if isinstance(out, np.ndarray) and out.size == n_res and np.isnan(r).all():
        raise TypeError("fun returned its residuals: it must write them into its second "
                        f"argument r, as fun(x, r{', J' if fused else ''}, *batch_rows, *args)")
    if jac is None or fused:
        return
    try:
        jac.py_func(x0.copy(), J, *args)
    except IndexError as err:
        raise ValueError(f"jac writes past the Jacobian's shape (n_residuals, n_params) = "
                         f"{J.shape} (on problem 0: {err})") from None
    except Exception:                           # noqa: BLE001 - numba will say
        return
