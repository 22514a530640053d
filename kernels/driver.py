"""The whole optimisation loop in nopython mode.

``minimize_nopython`` runs any update rule of gdfast.kernels with any
schedule on a user's compiled objective::

    value_and_grad(x, g, *args) -> f      # writes the gradient at x into g

with the stopping rules of gdfast.minimize, and returns a DriverResult. It is
callable from a user's own @njit code, including inside a ``prange`` over
independent problems (pass the serial ``*_step`` kernels there).

The objective, the rule and the schedule are passed as functions: numba
compiles the driver once per combination of them. Passed as FunctionRefs
(gdfast.kernels.function_refs; gdfast's facade does so for its rules and
schedules and for objectives registered with gdfast.cached_objective) the
compiled driver is cached on disk and the next process loads it; passed as
dispatchers it is compiled once per process (see gdfast.kernels.jit). The
per-iteration work has no Python in it.
"""
from collections import namedtuple

import numpy as np
from numba import prange

from .function_refs import cacheable
from .jit import BORROWING, PARALLEL, SERIAL, njit
from .linalg import copy_1d
from .reductions import max_abs, max_abs_diff
from .schedules import plateau_lr, plateau_step
from .tuples import rows

# Status codes, in the order of gdfast.Status.
GTOL, FTOL, XTOL, MAX_ITER, CALLBACK, NON_FINITE, MAX_SKIPS, INTERRUPTED, LINE_SEARCH = range(9)
RUNNING = -1
# the entries of descend's ``scales`` array: the floor under the energies of
# the ftol test and the scale of the gtol test (module docstring of descend)
F_FLOOR, G_SCALE = 0, 1

DriverResult = namedtuple("DriverResult", ["x", "fun", "jac", "nit", "status", "nfev",
                                           "skipped", "grad_norm"])


@njit(**BORROWING)
def convergence_status(g_norm, f_prev, f, step_norm, x, gtol, ftol, xtol, scales):
    """GTOL, FTOL or XTOL if that rule stops the run after a step, else RUNNING.

    gtol: max|g_i| <= gtol * scales[G_SCALE]; ftol (0 = off): |f_prev - f| <=
    ftol * max(|f_prev|, |f|, scales[F_FLOOR]); xtol (0 = off): max|dx_i| <=
    xtol * max(1, max|x_i|). The first-order rules' scales are (1, 1):
    scipy's rules; L-BFGS's are (0, g_norm at x_0): relative to f alone and
    to the start's gradient, so they do not depend on the units of f.
    """
    if g_norm <= gtol * scales[G_SCALE]:
        return GTOL
    if ftol > 0.0 and abs(f_prev - f) <= ftol * max(abs(f_prev), abs(f), scales[F_FLOOR]):
        return FTOL
    if xtol > 0.0 and step_norm <= xtol * max(1.0, max_abs(x)):
        return XTOL
    return RUNNING


@njit(**SERIAL, inline="always")
def evaluate(value_and_grad, x, g, args, max_skips):
    """f(x), with the gradient written into g, evaluated again while f or g
    holds NaN or inf, up to max_skips evaluations in all (a stochastic
    objective draws anew; 0 or 1: one evaluation).

    Returns (f, max|g_i|, evaluations); f and max|g_i| are non-finite if
    every evaluation was.
    """
    n_eval = 0
    while True:
        f = value_and_grad(x, g, *args)
        g_norm = max_abs(g)
        n_eval += 1
        if (np.isfinite(f) and np.isfinite(g_norm)) or n_eval >= max_skips:
            return f, g_norm, n_eval


@njit(**SERIAL)
def first_order_begin(value_and_grad, args, x, g, method, max_skips):
    """A first-order method's start: f and g at x (``evaluate``); returns
    (f, max|g_i|, evaluations)."""
    return evaluate(value_and_grad, x, g, args, max_skips)


@njit(**SERIAL, inline="always")
def first_order_advance(value_and_grad, args, x, g, x_prev, f, g_norm, t, method, max_skips):
    """Step t of an update rule, then f and g at the new x.

    method = (rule_step, state, hyper, schedule, lr0, schedule_params): the
    rule's kernel, state and hyperparameters and the schedule of its
    learning rate. Returns (f, max|g_i|, max|dx_i|, evaluations, skipped,
    status): status RUNNING after a step, NON_FINITE or MAX_SKIPS as
    ``descend`` describes (x, f and g then those of the last finite iterate
    where x_prev kept it).
    """
    rule_step, state, hyper, schedule, lr0, schedule_params = method
    keep = x_prev.size > 0
    if keep:
        copy_1d(x_prev, x)
    wrote_nonfinite = rule_step(x, g, state, t, schedule(t, lr0, schedule_params), hyper)
    if wrote_nonfinite:                    # NaN or inf in x or the state
        step_norm = np.nan
    else:                                  # without x_prev: 0.0, the step is finite
        step_norm = max_abs_diff(x, x_prev) if keep else 0.0
    f_prev, g_norm_prev, n_eval = f, g_norm, 0
    if np.isfinite(step_norm):             # NaN or inf written: no evaluation can help
        f, g_norm, n_eval = evaluate(value_and_grad, x, g, args, max_skips)
    if np.isfinite(f) and np.isfinite(g_norm) and np.isfinite(step_norm):
        return f, g_norm, step_norm, n_eval, n_eval - 1, RUNNING
    skipped = n_eval
    status = MAX_SKIPS if max_skips > 0 and np.isfinite(step_norm) else NON_FINITE
    if keep:
        copy_1d(x, x_prev)
        f, g_norm, n_again = evaluate(value_and_grad, x, g, args, 1)
        n_eval += n_again
        if not (np.isfinite(f) and np.isfinite(g_norm)):   # still broken there:
            skipped += n_again                            # keep f as recorded
            f, g_norm = f_prev, g_norm_prev
    return f, g_norm, step_norm, n_eval, skipped, status


@njit(**SERIAL, inline="always")
def first_order_plateau_advance(value_and_grad, args, x, g, x_prev, f, g_norm, t, method,
                                max_skips):
    """``first_order_advance`` under a ReduceLROnPlateau: method's schedule
    is kernels.schedules.plateau_lr and its schedule_params the plateau state
    (kernels.schedules.plateau_state), which ``plateau_step`` updates with the
    new f after every step taken (status RUNNING), as minimize's callback
    would: the next step's rate is the state's."""
    r = first_order_advance(value_and_grad, args, x, g, x_prev, f, g_norm, t, method, max_skips)
    if r[5] == RUNNING:
        plateau_step(method[5], r[0])
    return r


# (begin, advance) of an update rule's run, as FunctionRefs so that the loop
# compiled for them is cached on disk; FIRST_ORDER_PLATEAU: under a
# ReduceLROnPlateau (first_order_plateau_advance)
FIRST_ORDER = (cacheable(first_order_begin), cacheable(first_order_advance))
FIRST_ORDER_PLATEAU = (cacheable(first_order_begin), cacheable(first_order_plateau_advance))
# the schedule of a plateau run, a FunctionRef likewise (a dispatcher given as
# a value inside a kernel would keep the kernel from the disk cache)
PLATEAU_LR = cacheable(plateau_lr)


@njit(**SERIAL, inline="always")
def descend(value_and_grad, x, g, x_prev, f, g_norm, nit, evaluated, args, steps, method,
            max_iter, pause_at, ftol, gtol, xtol, scales, max_skips, fun_history,
            grad_norm_history):
    """The loop of gdfast.minimize, for every method, able to pause and go on.

    A method is two functions, ``steps = (begin, advance)`` (FIRST_ORDER for
    the update rules, kernels.lbfgs_b's LBFGS_B for L-BFGS), and its data
    ``method``, which they alone read::

        begin(value_and_grad, args, x, g, method, max_skips)
            -> (f, g_norm, evaluations)          # f and g at the start x
        advance(value_and_grad, args, x, g, x_prev, f, g_norm, t, method, max_skips)
            -> (f, g_norm, step_norm, evaluations, skipped, status)

    advance takes step t (x, g, f at iterate t - 1 in, iterate t out; status
    RUNNING, or why the run cannot go on). g_norm is the method's measure of
    stationarity (max|g_i|; the projected gradient's with bounds) and
    step_norm max|dx_i|. The loop keeps the counts, the histories and the
    stopping rules (``convergence_status``).

    x is iterate ``nit`` (``nit`` steps taken). With evaluated=False, f and
    the gradient at x are evaluated first (into g) and the gtol test is
    applied to them, as at a start; with evaluated=True, f, g and g_norm
    already hold them and the run is going on. The loop stops when a
    stopping rule fires, or pauses with status RUNNING when nit reaches
    pause_at: calling again with evaluated=True and the returned values goes
    on exactly as if it had not paused.

    scales (float64 (2,)): the F_FLOOR and G_SCALE of the stopping tests
    (``convergence_status``); a G_SCALE < 0 is set to g_norm at the start
    evaluation, and kept for the calls that go on.

    max_skips = 0: a NaN or inf in f or the gradient ends the run with status
    NON_FINITE. max_skips = N >= 1 (first-order methods): the step is skipped
    instead (x and state untouched) and f and g are evaluated again (see
    ``evaluate``); N non-finite evaluations in a row end the run with status
    MAX_SKIPS. x_prev: float64 (n,) workspace, or an empty array (no copy of
    x, which saves memory): then a failed step is not undone, x holds the
    non-finite iterate on return, and xtol must be 0.

    f and g_norm of iterate k go to fun_history[k], grad_norm_history[k]
    while k < their length. Returns DriverResult(x, fun, jac=g, nit, status,
    nfev, skipped, grad_norm): nfev evaluations made by this call, skipped
    the non-finite ones among them. On NON_FINITE or MAX_SKIPS (with
    x_prev), x and fun are those of the last finite iterate and jac its
    gradient evaluated once more (non-finite if the objective no longer
    gives a finite one there; fun is then the value recorded before).
    """
    begin, advance = steps
    nfev, skipped, status = 0, 0, RUNNING
    if not evaluated:
        f, g_norm, n_eval = begin(value_and_grad, args, x, g, method, max_skips)
        nfev += n_eval
        if not (np.isfinite(f) and np.isfinite(g_norm)):
            status = MAX_SKIPS if max_skips > 0 else NON_FINITE
            return DriverResult(x, f, g, nit, status, nfev, n_eval, g_norm)
        skipped += n_eval - 1
        if scales[G_SCALE] < 0:
            scales[G_SCALE] = g_norm
        _record(nit, f, g_norm, fun_history, grad_norm_history)
        if g_norm <= gtol * scales[G_SCALE]:
            return DriverResult(x, f, g, nit, GTOL, nfev, skipped, g_norm)
    while True:
        if nit >= max_iter:
            status = MAX_ITER
            break
        if nit == pause_at:
            break
        f_prev = f
        f, g_norm, step_norm, n_eval, n_skipped, status = advance(
            value_and_grad, args, x, g, x_prev, f, g_norm, nit + 1, method, max_skips)
        nfev += n_eval
        skipped += n_skipped
        if status != RUNNING:
            break
        nit += 1
        _record(nit, f, g_norm, fun_history, grad_norm_history)
        status = convergence_status(g_norm, f_prev, f, step_norm, x, gtol, ftol, xtol, scales)
        if status != RUNNING:
            break
    return DriverResult(x, f, g, nit, status, nfev, skipped, g_norm)


@njit(**SERIAL)
def first_order_descend(value_and_grad, x, g, x_prev, f, g_norm, nit, evaluated, args, rule_step,
                        state, hyper, schedule, lr0, schedule_params, max_iter, pause_at, ftol,
                        gtol, xtol, max_skips, fun_history, grad_norm_history):
    """``descend`` with FIRST_ORDER, the method's data given as separate
    arguments (rule_step, state, hyper, schedule, lr0, schedule_params as
    first_order_advance's): what minimize's nopython mode calls, since numba
    types a nested tuple argument from Python slowly (about 0.1 ms per call
    here). The scales are the rules' (1, 1)."""
    return descend(value_and_grad, x, g, x_prev, f, g_norm, nit, evaluated, args, FIRST_ORDER,
                   (rule_step, state, hyper, schedule, lr0, schedule_params), max_iter, pause_at,
                   ftol, gtol, xtol, np.ones(2), max_skips, fun_history, grad_norm_history)


@njit(**SERIAL)
def first_order_plateau_descend(value_and_grad, x, g, x_prev, f, g_norm, nit, evaluated, args,
                                rule_step, state, hyper, plateau, max_iter, pause_at, ftol,
                                gtol, xtol, max_skips, fun_history, grad_norm_history):
    """``first_order_descend`` under a ReduceLROnPlateau: ``descend`` with
    FIRST_ORDER_PLATEAU, the schedule kernels.schedules.plateau_lr of the
    plateau state ``plateau`` (float64 (PLATEAU_SIZE,), updated in place
    after every step: it carries on from call to call as the optimizer state
    does, so paused calls go as one call goes)."""
    return descend(value_and_grad, x, g, x_prev, f, g_norm, nit, evaluated, args,
                   FIRST_ORDER_PLATEAU, (rule_step, state, hyper, PLATEAU_LR, 0.0, plateau),
                   max_iter, pause_at, ftol, gtol, xtol, np.ones(2), max_skips, fun_history,
                   grad_norm_history)


@njit(**BORROWING)
def _record(k, f, g_norm, fun_history, grad_norm_history):
    if k < fun_history.size:
        fun_history[k] = f
    if k < grad_norm_history.size:
        grad_norm_history[k] = g_norm


@njit(**SERIAL)
def minimize_nopython(value_and_grad, x, args, rule_step, state, hyper, schedule, lr0,
                      schedule_params, max_iter, ftol, gtol, xtol, fun_history,
                      grad_norm_history, max_skips=0):
    """Minimise value_and_grad from x (updated in place) with one update rule.

    value_and_grad  @njit (x, g, *args) -> float, writes dE/dx into g
    x               float64[::1] (n,), the start; the solution on return
    args            tuple, extra arguments of value_and_grad
    rule_step       a gdfast.kernels rule, e.g. adam_step (serial inside prange)
    state, hyper    its state arrays (each (n,), zeroed or initialised) and hyper
    schedule        a gdfast.kernels schedule, e.g. constant; lr0, schedule_params
    max_iter        int >= 0; ftol, gtol, xtol as in gdfast.minimize
    fun_history, grad_norm_history
                    float64 arrays: f and max|g_i| of iterate k go to entry k
                    while k < len (pass np.empty(0) to keep none)
    max_skips       0 (default): NaN or inf ends the run (NON_FINITE); N >= 1:
                    skip such steps, stop after N in a row (MAX_SKIPS)

    Returns DriverResult(x, fun, jac, nit, status, nfev, skipped, grad_norm);
    status is one of GTOL, FTOL, XTOL, MAX_ITER, NON_FINITE, MAX_SKIPS. On
    NON_FINITE and MAX_SKIPS, x, fun and jac are those of the last finite
    iterate. Allocates two arrays of length n per call (the gradient and a
    copy of the previous iterate). See ``descend`` for the loop itself.
    """
    n = x.size
    return descend(value_and_grad, x, np.empty(n), np.empty(n), 0.0, 0.0, 0, False, args,
                   FIRST_ORDER, (rule_step, state, hyper, schedule, lr0, schedule_params),
                   max_iter, -1, ftol, gtol, xtol, np.ones(2), max_skips, fun_history,
                   grad_norm_history)


@njit(**PARALLEL)
def minimize_batch_nopython(value_and_grad, X, batch_args, args, rule_step, S, hyper,
                            schedule, lr0, schedule_params, max_iter, ftol, gtol, xtol,
                            fun, nit, status, pause_after=-1, plateau=None):
    """minimize_nopython on every row of X, rows in parallel.

    X (m, n): the starts, rows updated in place; S: tuple of (m, n) state
    arrays; problem i calls value_and_grad(X[i], g, *rows(batch_args, i), *args)
    where batch_args is a tuple of arrays whose first axis has length m.
    fun (m,) float64, nit (m,) int64, status (m,) int64 receive the results.
    rule_step must be a serial kernel.

    pause_after -1 (default): every row runs from its start. K >= 0: only
                the rows whose status is RUNNING on entry run, each from
                iterate nit[i] (X[i] and S's rows as a call that paused left
                them; f and the gradient are evaluated again there, the same
                numbers for a deterministic objective), for at most K
                iterations: a row still running then keeps status RUNNING,
                with fun its f. Calls of K iterations go as one call goes,
                bit for bit, so a caller can answer Ctrl-C between them.
    plateau     None (default), or float64 (m, PLATEAU_SIZE): row i's
                ReduceLROnPlateau state (kernels.schedules.plateau_state),
                which replaces the schedule (the rate of row i is its
                state's, updated after each of its steps: FIRST_ORDER_PLATEAU)
                and carries on across paused calls.
    """
    empty = np.empty(0)
    n = X.shape[1]
    scales = np.ones(2)        # the rules' (read only: G_SCALE >= 0 is never set)
    for i in prange(X.shape[0]):
        if pause_after >= 0 and status[i] != RUNNING:
            continue
        start = nit[i] if pause_after >= 0 else 0
        pause_at = start + pause_after if pause_after >= 0 else -1
        if plateau is None:
            r = descend(value_and_grad, X[i], np.empty(n), np.empty(n), 0.0, 0.0, start, False,
                        rows(batch_args, i) + args, FIRST_ORDER,
                        (rule_step, rows(S, i), hyper, schedule, lr0, schedule_params),
                        max_iter, pause_at, ftol, gtol, xtol, scales, 0, empty, empty)
        else:
            r = descend(value_and_grad, X[i], np.empty(n), np.empty(n), 0.0, 0.0, start, False,
                        rows(batch_args, i) + args, FIRST_ORDER_PLATEAU,
                        (rule_step, rows(S, i), hyper, PLATEAU_LR, 0.0, plateau[i]),
                        max_iter, pause_at, ftol, gtol, xtol, scales, 0, empty, empty)
        fun[i] = r.fun
        nit[i] = r.nit
        status[i] = r.status
