"""The whole optimisation loop in nopython mode.

``minimize_nopython`` runs any update rule of gdfast.kernels with any
schedule on a user's compiled objective::

    value_and_grad(x, g, *args) -> f      # writes the gradient at x into g

with the stopping rules of gdfast.minimize, and returns a DriverResult. It is
callable from a user's own @njit code, including inside a ``prange`` over
independent problems (pass the serial ``*_step`` kernels there).

The objective, the rule and the schedule are passed as functions, so numba
compiles the driver once per combination of them and cannot cache it on disk
(it warns about "dynamic globals" if asked to); these are the kernels
compiled with ``cache=False``. The per-iteration work has no Python in it.
"""
from collections import namedtuple

import numpy as np
from numba import njit, prange

from .jit import SERIAL
from .reductions import max_abs, max_abs_diff
from .tuples import rows

# Status codes, in the order of gdfast.result.Status.
GTOL, FTOL, XTOL, MAX_ITER, CALLBACK, NON_FINITE = 0, 1, 2, 3, 4, 5
RUNNING = -1

DriverResult = namedtuple("DriverResult", ["x", "fun", "jac", "nit", "status"])

_OPTIONS = dict(cache=False, nogil=True, error_model="numpy")


@njit(**SERIAL)
def convergence_status(g_norm, f_prev, f, step_norm, x, gtol, ftol, xtol):
    """GTOL, FTOL or XTOL if that rule stops the run after a step, else RUNNING.

    gtol: max|g_i| <= gtol; ftol (0 = off): |f_prev - f| <= ftol *
    max(|f_prev|, |f|, 1); xtol (0 = off): max|dx_i| <= xtol * max(1, max|x_i|).
    """
    if g_norm <= gtol:
        return GTOL
    if ftol > 0.0 and abs(f_prev - f) <= ftol * max(abs(f_prev), abs(f), 1.0):
        return FTOL
    if xtol > 0.0 and step_norm <= xtol * max(1.0, max_abs(x)):
        return XTOL
    return RUNNING


@njit(**_OPTIONS)
def minimize_nopython(value_and_grad, x, args, rule_step, state, hyper, schedule, lr0,
                      schedule_params, max_iter, ftol, gtol, xtol, fun_history,
                      grad_norm_history):
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

    Returns DriverResult(x, fun, jac, nit, status); status is one of GTOL,
    FTOL, XTOL, MAX_ITER, NON_FINITE. On NON_FINITE, x, fun and jac are those
    of the last finite iterate. Allocates three arrays of length n per call.
    """
    n = x.size
    g, g_next, x_prev = np.empty(n), np.empty(n), np.empty(n)
    f = value_and_grad(x, g, *args)
    g_norm = max_abs(g)
    if not (np.isfinite(f) and np.isfinite(g_norm)):
        return DriverResult(x, f, g, 0, NON_FINITE)
    if fun_history.size > 0:
        fun_history[0] = f
    if grad_norm_history.size > 0:
        grad_norm_history[0] = g_norm
    status = GTOL if g_norm <= gtol else RUNNING
    nit = 0
    while status == RUNNING:
        if nit == max_iter:
            status = MAX_ITER
            break
        x_prev[:] = x
        t = nit + 1
        rule_step(x, g, state, t, schedule(t, lr0, schedule_params), hyper)
        f_next = value_and_grad(x, g_next, *args)
        step_norm = max_abs_diff(x, x_prev)
        g_norm_next = max_abs(g_next)
        if not (np.isfinite(f_next) and np.isfinite(g_norm_next) and np.isfinite(step_norm)):
            x[:] = x_prev
            status = NON_FINITE
            break
        nit = t
        f_prev, f, g_norm = f, f_next, g_norm_next
        g, g_next = g_next, g
        if nit < fun_history.size:
            fun_history[nit] = f
        if nit < grad_norm_history.size:
            grad_norm_history[nit] = g_norm
        status = convergence_status(g_norm, f_prev, f, step_norm, x, gtol, ftol, xtol)
    return DriverResult(x, f, g, nit, status)


@njit(parallel=True, **_OPTIONS)
def minimize_batch_nopython(value_and_grad, X, batch_args, args, rule_step, S, hyper,
                            schedule, lr0, schedule_params, max_iter, ftol, gtol, xtol,
                            fun, nit, status):
    """minimize_nopython on every row of X, rows in parallel.

    X (m, n): the starts, rows updated in place; S: tuple of (m, n) state
    arrays; problem i calls value_and_grad(X[i], g, *rows(batch_args, i), *args)
    where batch_args is a tuple of arrays whose first axis has length m.
    fun (m,) float64, nit (m,) int64, status (m,) int64 receive the results.
    rule_step must be a serial kernel.
    """
    empty = np.empty(0)
    for i in prange(X.shape[0]):
        r = minimize_nopython(value_and_grad, X[i], rows(batch_args, i) + args, rule_step,
                              rows(S, i), hyper, schedule, lr0, schedule_params, max_iter,
                              ftol, gtol, xtol, empty, empty)
        fun[i] = r.fun
        nit[i] = r.nit
        status[i] = r.status
