"""gdfast.minimize_batch: many independent small problems, in parallel."""
import numpy as np
from numba.extending import is_jitted

from . import validation as check
from .kernels.driver import minimize_batch_nopython
from .optimizers import make_optimizer
from .result import MESSAGES, STATUS_OF_CODE, SUCCESS, OptimizeResult


def minimize_batch(fun, X0, method="adam", *, args=(), batch_args=(), options=None,
                   max_iter=1000, ftol=0.0, gtol=1e-6, xtol=0.0):
    """Minimise the rows of X0 as independent problems, in parallel over rows.

    fun         a numba @njit ``value_and_grad(x, g, *batch_rows, *args) -> f``
                that writes the gradient at x (float64 (n_params,)) into g.
                Problem i gets ``batch_rows = (b[i] for b in batch_args)``.
    X0          array (n_problems, n_params) of real numbers, finite; copied.
    method      an optimizer object or name, as in gdfast.minimize; every
                problem runs the rule's serial kernel on its own thread.
    batch_args  tuple of arrays whose first axis has length n_problems:
                per-problem data (problem i sees row i).
    args        tuple of data shared by all problems.
    max_iter, ftol, gtol, xtol: per problem, as in gdfast.minimize.

    Returns an OptimizeResult with x (n_problems, n_params), fun, nit
    (int64) and status (str: 'gtol', 'ftol', 'xtol', 'max_iter' or
    'non-finite') per problem, success (bool) per problem, and message.
    The loop over problems and every iteration run in compiled code: one
    call compiles it for the objective (once per process and objective) and
    pays numba's dispatch cost once, not once per problem.
    """
    if not is_jitted(fun):
        raise TypeError("fun must be a numba @njit function value_and_grad(x, g, *args) -> f; "
                        f"got {type(fun).__name__}")
    X = _checked_batch(X0)
    m, n = X.shape
    opt = make_optimizer(method, options)
    max_iter = check.whole_number("max_iter", max_iter, 0)
    ftol, gtol, xtol = (check.non_negative(k, v) for k, v in
                        (("ftol", ftol), ("gtol", gtol), ("xtol", xtol)))
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    if not isinstance(batch_args, tuple):
        raise TypeError(f"batch_args must be a tuple of arrays, got {type(batch_args).__name__}")
    batch_args = tuple(_checked_batch_arg(k, b, m) for k, b in enumerate(batch_args))
    S = tuple(a.reshape(m, n) for a in opt._initial_state(m * n))
    fun_out = np.empty(m)
    nit = np.empty(m, dtype=np.int64)
    codes = np.empty(m, dtype=np.int64)
    lr = opt.lr
    minimize_batch_nopython(fun, X, batch_args, args, opt.rule.step, S, opt.hyper, lr.kernel,
                            lr.lr0, lr.params, min(max_iter, 2**63 - 1), ftol, gtol, xtol, fun_out, nit,
                            codes)
    names = np.array([s.value for s in STATUS_OF_CODE])
    status = names[codes]
    success = np.isin(status, [s.value for s in SUCCESS])
    counts = ", ".join(f"{k}: {int(v)}" for k, v in zip(*np.unique(status, return_counts=True)))
    return OptimizeResult(x=X, fun=fun_out, nit=nit, status=status, success=success,
                          message=f"{m} problems; {counts}",
                          messages={s.value: MESSAGES[s] for s in STATUS_OF_CODE})


def _checked_batch(X0):
    X = np.array(check.real_array("X0", X0), order="C")     # copied: the rows are updated
    if X.ndim != 2:
        raise ValueError(f"X0 must be 2-D (n_problems, n_params), got shape {X.shape}")
    return X


def _checked_batch_arg(k, b, m):
    if not isinstance(b, np.ndarray):
        raise TypeError(f"batch_args[{k}] must be a numpy array, got {type(b).__name__}")
    if b.ndim == 0 or b.shape[0] != m:
        raise ValueError(f"batch_args[{k}] must have first axis of length {m} (one row per "
                         f"problem), got shape {b.shape}")
    return np.ascontiguousarray(b)
