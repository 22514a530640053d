"""gdfast.minimize_batch: many independent small problems, in parallel."""
import inspect
import math
import time
from collections.abc import Callable

import numba
import numpy as np
from numba.extending import is_jitted
from numpy.typing import ArrayLike

from . import _validation as check
from ._run import (
    MESSAGES,
    STATUS_OF_CODE,
    OptimizeResult,
    Status,
    batch_statuses,
    deferred_interrupt,
)
from .kernels.driver import RUNNING, minimize_batch_nopython
from .kernels.function_refs import cacheable
from .kernels.lbfgs_b import lbfgs_b_batch
from .kernels.schedules import PLATEAU_LR
from .optimizers import Optimizer
from .quasi_newton.minimize_method import (
    DEFAULT_FTOL,
    DEFAULT_GTOL,
    LBFGSB,
    batch_bounds,
    project_into,
    resolve_method,
)
from .schedules import ReduceLROnPlateau

FIRST_ORDER_FTOL, FIRST_ORDER_GTOL = 0.0, 1e-6     # minimize's, for the rules

# The compiled loop returns to Python after about this many seconds (a chunk
# of rows, or of their iterations), so that Ctrl-C is answered; the chunks
# change no number of a row.
CHUNK_SECONDS = 0.1
FIRST_STEPS = 1000


def minimize_batch(fun: Callable, X0: ArrayLike, method: "str | LBFGSB | Optimizer" = "lbfgs",
                   *, args: tuple = (), batch_args: tuple = (), options: dict | None = None,
                   bounds: object = None, max_iter: int = 1000, ftol: float | None = None,
                   gtol: float | None = None, xtol: float = 0.0,
                   plateau: ReduceLROnPlateau | None = None) -> OptimizeResult:
    """Minimise the rows of X0 as independent problems, in parallel over rows.

    Parameters
    ----------
    fun : numba @njit function
        ``value_and_grad(x, g, *batch_rows, *args) -> f`` that writes the
        gradient at x (float64 (n_params,)) into g. Problem i gets
        ``batch_rows = (b[i] for b in batch_args)``.
    X0 : array_like, shape (n_problems, n_params)
        Real numbers, finite; copied.
    method : str, LBFGSB or Optimizer, default 'lbfgs'
        As in `gdfast.minimize`: 'lbfgs' (L-BFGS with a strong Wolfe line
        search, or projected with ``bounds``; options m and max_ls), or an
        update rule by object or name. Every problem runs the method's serial
        kernels on one thread, the problems in parallel.
    args : tuple, default ()
        Data shared by all problems.
    batch_args : tuple of arrays, default ()
        Arrays whose first axis has length n_problems: per-problem data
        (problem i sees row i).
    options : dict, optional
        The hyperparameters of a method given by name, as in `gdfast.minimize`.
    bounds : scipy.optimize.Bounds, sequence or pair, optional
        For 'lbfgs': per-problem bounds as a pair (lo, hi) of arrays shaped
        like X0, or shared by every problem: (lo, hi) of shape (n_params,) or
        scalars, a sequence of n_params (lo, hi) pairs, or a Bounds; None (or
        -inf / inf) for a free side. Rows of X0 outside their bounds are
        projected onto them (said in the message).
    max_iter : int, default 1000
        Per problem, as in `gdfast.minimize`.
    ftol : float, optional
        Per problem, as in `gdfast.minimize`: 1e-12 for 'lbfgs' (relative to
        f), 0.0 (off) for the update rules.
    gtol : float, optional
        Per problem, as in `gdfast.minimize`: 1e-12 for 'lbfgs' (relative to
        the stationarity measure at the problem's start), 1e-6 (absolute)
        for the update rules.
    xtol : float, default 0.0
        Per problem, as in `gdfast.minimize`.
    plateau : gdfast.schedules.ReduceLROnPlateau, optional
        A ReduceLROnPlateau of ``method`` (an optimizer object with lr a
        number): every problem gets its own plateau with its settings and
        counters, reading that problem's f after each of its steps, so row
        i's rates are those of ``minimize(..., callback=plateau)`` on row i
        alone. The object and the optimizer are not changed; the rates each
        problem ended with are the result's ``lr``.

    Returns
    -------
    OptimizeResult
        x (n_problems, n_params), and per problem fun, nit (int64), status
        (str: 'gtol', 'ftol', 'xtol', 'max_iter', 'non-finite',
        'line_search' or 'interrupted') and success (bool); and message.
        With ``plateau``, also lr (n_problems,): each problem's last rate.

    Raises
    ------
    TypeError
        fun is not a numba @njit function, or takes other arguments than
        ``(x, g, *batch_rows, *args)``; args or batch_args is not a tuple, or
        an entry of batch_args is not a numpy array; plateau is not a
        ReduceLROnPlateau, or its optimizer's lr is not a number.
    ValueError
        For an argument out of its range (X0 not 2-D or not finite, a
        batch_args array whose first axis is not n_problems, ...), named in
        the message.

    Notes
    -----
    The loop over problems and every iteration run in compiled code: the first
    call compiles it for the objective (once per process and objective, or once
    per machine for an objective registered with `gdfast.cached_objective`,
    whose loop is cached on disk), and it returns to Python only between chunks
    (about 0.1 s each) of rows, and of their iterations where rows are long
    (the kernel's pause_after: f and the gradient are evaluated once more where
    a row goes on, so fun must be deterministic), whose results are bit for bit
    those of one call.

    Ctrl-C (SIGINT, main thread) stops after the chunk in progress (about
    0.1 s): the problems not finished get status 'interrupted' with x, fun and
    nit where they are (their start, NaN and 0 for those not begun); a second
    Ctrl-C raises KeyboardInterrupt at once.
    """
    if not is_jitted(fun):
        raise TypeError("fun must be a numba @njit function value_and_grad(x, g, *args) -> f; "
                        f"got {type(fun).__name__}")
    X = checked_batch(X0)
    m, n = X.shape
    opt = resolve_method(method, options)
    quasi_newton = isinstance(opt, LBFGSB)
    max_iter = check.whole_number("max_iter", max_iter, 0)
    if ftol is None:
        ftol = DEFAULT_FTOL if quasi_newton else FIRST_ORDER_FTOL
    if gtol is None:
        gtol = DEFAULT_GTOL if quasi_newton else FIRST_ORDER_GTOL
    ftol, gtol, xtol = (check.non_negative(k, v) for k, v in
                        (("ftol", ftol), ("gtol", gtol), ("xtol", xtol)))
    if quasi_newton and xtol > 0:
        raise ValueError("xtol is for the first-order rules; 'lbfgs' stops on ftol and gtol")
    if bounds is not None and not quasi_newton:
        raise ValueError(f"bounds are for method='lbfgs'; {type(opt).__name__} takes no bounds")
    plateau_rows = None if plateau is None else checked_plateau(plateau, opt, m)
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    if not isinstance(batch_args, tuple):
        raise TypeError(f"batch_args must be a tuple of arrays, got {type(batch_args).__name__}")
    batch_args = tuple(checked_batch_arg(k, b, m) for k, b in enumerate(batch_args))
    check_arity(fun, len(batch_args), len(args))
    fun_out = np.full(m, math.nan)
    nit = np.zeros(m, dtype=np.int64)
    codes = np.full(m, RUNNING, dtype=np.int64)
    kernel_fun = cacheable(fun)      # a ref where fun has one: the compiled loop is cached
    projected = False
    if isinstance(opt, LBFGSB):
        lower, upper = (batch_bounds(bounds, m, n) if bounds is not None else
                        (np.empty((m, 0)), np.empty((m, 0))))
        projected = lower.size > 0 and project_into(X, lower, upper)
        pairs = opt.m + 1             # kernels.lbfgs's ring of m + 1 rows
        S, Y = np.zeros((m, pairs, n)), np.zeros((m, pairs, n))
        rho, scalars, scales = np.zeros((m, pairs)), np.zeros((m, 3)), np.zeros((m, 2))

        def run(rows, steps):
            lbfgs_b_batch(kernel_fun, X[rows], tuple(b[rows] for b in batch_args), args,
                          lower[rows], upper[rows], S[rows], Y[rows], rho[rows],
                          scalars[rows], scales[rows], opt.max_ls, min(max_iter, 2**62), ftol,
                          gtol, fun_out[rows], nit[rows], codes[rows], steps)
            return bool((codes[rows] == RUNNING).any())
    else:
        state = tuple(a.reshape(m, n) for a in opt.init(np.empty(m * n)).arrays)
        lr = opt.lr
        rule, schedule = cacheable(opt.rule.step), cacheable(lr.kernel)

        def run(rows, steps):
            minimize_batch_nopython(kernel_fun, X[rows], tuple(b[rows] for b in batch_args),
                                    args, rule, tuple(a[rows] for a in state), opt.hyper,
                                    schedule, lr.lr0, lr.params, min(max_iter, 2**62), ftol,
                                    gtol, xtol, fun_out[rows], nit[rows], codes[rows], steps,
                                    None if plateau_rows is None else plateau_rows[rows])
            return bool((codes[rows] == RUNNING).any())
    status, success, message = run_batch(run, codes, max_iter, projected,
                                         f"fun could not be compiled as fun(x, g, *batch_rows, "
                                         f"*args) with {len(batch_args)} batch_args and "
                                         f"{len(args)} args")
    extra = {} if plateau_rows is None else {"lr": plateau_rows[:, PLATEAU_LR].copy()}
    return OptimizeResult(x=X, fun=fun_out, nit=nit, status=status, success=success,
                          message=message,
                          messages={s.value: MESSAGES[s] for s in STATUS_OF_CODE}, **extra)


def checked_plateau(plateau, opt, m):
    """minimize_batch's plateau: one kernel state per problem (m,
    PLATEAU_SIZE), each the plateau's (kernels.schedules.plateau_state)."""
    if not isinstance(plateau, ReduceLROnPlateau):
        raise TypeError("plateau must be a gdfast.schedules.ReduceLROnPlateau of the method's "
                        f"optimizer, got {type(plateau).__name__}")
    if isinstance(opt, LBFGSB):
        raise ValueError("plateau is for the first-order rules; 'lbfgs' has no learning rate")
    if plateau.optimizer is not opt:
        raise ValueError("plateau must be a ReduceLROnPlateau of the optimizer passed as "
                         "method (ReduceLROnPlateau(opt) and method=opt), not of another one")
    return np.tile(plateau.kernel_state(), (m, 1))     # TypeError if lr is a schedule


def checked_batch(X0):
    X = np.array(check.real_array("X0", X0), order="C")     # copied: the rows are updated
    if X.ndim != 2:
        raise ValueError(f"X0 must be 2-D (n_problems, n_params), got shape {X.shape}")
    return X


def checked_batch_arg(k, b, m):
    if not isinstance(b, np.ndarray):
        raise TypeError(f"batch_args[{k}] must be a numpy array, got {type(b).__name__}")
    if b.ndim == 0 or b.shape[0] != m:
        raise ValueError(f"batch_args[{k}] must have first axis of length {m} (one row per "
                         f"problem), got shape {b.shape}")
    return np.ascontiguousarray(b)


def check_arity(fun, n_batch, n_args, leading=("x", "g")):
    """TypeError naming batch_args and args when fun takes another number of
    parameters than the leading ones (x, g), one row per batch_args array
    and the args."""
    try:
        params = inspect.signature(fun.py_func).parameters.values()
    except (AttributeError, TypeError, ValueError):
        return                                   # no Python signature: numba will tell
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return
    wanted = len(leading) + n_batch + n_args
    takes = len(params)
    required = sum(p.default is p.empty for p in params)
    if not required <= wanted <= takes:
        raise TypeError(f"fun takes {takes} parameters but would be called with {wanted}: "
                        f"{', '.join(leading)}, {n_batch} row(s) of batch_args and {n_args} "
                        "of args; pass its "
                        "per-problem data as batch_args=(array, ...) (one row per problem) "
                        "and shared data as args=(...)")


def run_batch(run, codes, max_iter, projected, compile_failure):
    """run_in_chunks over the rows, then their statuses: (status, success,
    message) from ``codes`` (the rows still RUNNING after Ctrl-C are
    'interrupted'). A numba TypingError becomes a TypeError that starts with
    ``compile_failure`` and ends with numba's first line; ``projected`` adds
    that rows of X0 were projected onto their bounds to the message."""
    try:
        run_in_chunks(run, codes.size, max_iter)
    except numba.core.errors.TypingError as err:
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        raise TypeError(f"{compile_failure}; numba says: {lines[0] if lines else err}") from None
    codes[codes == RUNNING] = STATUS_OF_CODE.index(Status.INTERRUPTED)
    status, success, message = batch_statuses(codes)
    if projected:
        message += " (rows of X0 outside their bounds were projected onto them)"
    return status, success, message


def run_in_chunks(run, m, max_iter):
    """run(rows, steps) over slices of range(m), each call ``steps``
    iterations at most (run says whether a row of the slice is still
    running), both sized to about CHUNK_SECONDS a call, stopping between
    calls on Ctrl-C."""
    least = 4 * numba.get_num_threads()          # rows enough to keep every thread busy
    done, chunk, steps, calls = 0, least, min(max_iter, FIRST_STEPS), 0
    with deferred_interrupt() as interrupted:
        while done < m and not interrupted():
            end = min(m, done + chunk)
            start = time.perf_counter()
            running = run(slice(done, end), steps)
            seconds = time.perf_counter() - start   # the first call's includes compiling
            calls += 1
            if running:                          # long rows: their iterations in chunks
                fit = int(steps * CHUNK_SECONDS / seconds) if seconds > 0 else steps * 16
                steps = max(1, min(fit, steps * 16, max_iter))
                continue
            if calls == 1:                       # short rows: more of them at a time
                fit = int(CHUNK_SECONDS * (end - done) / seconds) if seconds > 0 else m
                chunk = max(least, min(fit, chunk * 1024))
            done, calls = end, 0
