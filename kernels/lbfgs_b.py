"""L-BFGS with bounds as a method of the minimize loop (kernels.driver.descend).

One iteration from x (f, g at x) is a *descent* and a *search*:

- descent: the L-BFGS direction of kernels.lbfgs over the free variables.
  A variable is held (binding) when it sits on a bound and the gradient
  pushes it out: ``x_i <= lo_i and g_i > 0`` or ``x_i >= hi_i and g_i < 0``.
  With w = g with the held entries zeroed, d = -H w and then d_i = 0 on the
  held entries, so g . d = -w . H w < 0: a descent direction for any
  positive definite H. This is the two-metric projection method (Bertsekas,
  "Projected Newton methods for optimization problems with simple
  constraints", SIAM J. Control Optim. 20, 1982; M. Schmidt's minConf_TMP),
  L-BFGS-B's active-set scheme without its Cauchy point and subspace
  minimisation.
- search: without bounds, the strong Wolfe search of kernels.line_search
  (c1 = 1e-4, c2 = 0.9); with bounds, backtracking along the projected path
  x(t) = P(x + t d) (P clips to [lo, hi]) until the Armijo condition
  f(x(t)) <= f + c1 g . (x(t) - x) holds, each failed t replaced by the
  minimiser of the quadratic through f, g . d and f(x(t)), kept in
  [t / 10, t / 2] (t / 10 after a NaN or inf f: such a point counts as too
  far). The first iteration (and the one after the memory is reset) tries
  t = 1 / ||d||_2, a step of unit length, as scipy's L-BFGS-B does; the
  others t = 1.

The pair s = x_new - x, y = g_new - g is kept when y . s > eps * (-g . s)
(scipy's L-BFGS-B test: relative, so the same pairs are kept whatever the
units of f). A search that finds no lower f resets the memory and tries the
steepest descent once more; if that also fails, the iteration ends with
status LINE_SEARCH and x, f, g as they were.

The stationarity measure g_norm is max|g_i| without bounds and the projected
gradient max|P(x - g)_i - x_i| with them (zero exactly at a point where no
descent stays feasible). descend's stopping rules apply to it.

The method's data, ``method`` of descend::

    (passes, state, lo, hi, c1, max_ls, ftol)
    passes  LBFGS_B_SERIAL or LBFGS_B_PARALLEL: (parallel, wolfe), the vector
            passes' variant (the same bits) and the strong Wolfe search
    state   lbfgs_b_state(n, m): (d, w, x0, g0, G, S, Y, rho, alpha, part, scalars)
    lo, hi  float64 (n,) bounds (-inf / +inf for a free side), or both (0,):
            no bounds
    c1      the sufficient-decrease constant (1e-4), max_ls the most
            evaluations of one search (20, scipy's maxls)
    ftol    the loop's ftol: a search that fails where the step's predicted
            change of f, -g . d / 2, is at most ftol |f| ends the run with
            status FTOL (f is at its rounding floor), not LINE_SEARCH

Everything is preallocated in the state; nothing is allocated per iteration.
The serial passes are safe inside a user's ``prange``.
"""
import numpy as np
from numba import prange
from numba.extending import register_jitable

from .calls import call_2
from .clock import monotonic_seconds
from .driver import F_FLOOR, FTOL, G_SCALE, LINE_SEARCH, RUNNING, descend
from .function_refs import cacheable
from .jit import BORROWING, PARALLEL, SERIAL, njit
from .lbfgs import (
    lbfgs_direction,
    lbfgs_direction_parallel,
    lbfgs_push,
    lbfgs_push_parallel,
    lbfgs_workspace,
    strong_wolfe_serial_pass,
)
from .linalg import blocks, copy_1d, dot_pass, max_abs_pass, workspace
from .line_search import strong_wolfe_parallel
from .reductions import block_bounds
from .tuples import rows

# the scalars array of lbfgs_b_state: pairs kept, the newest's row, H_0's scale
COUNT, NEWEST, GAMMA = range(3)
EPS = np.finfo(np.float64).eps
C1, MAX_LS = 1e-4, 20              # Armijo's constant (torch, N&W); scipy's maxls
C2 = 0.9                           # the curvature constant of the Wolfe search


@register_jitable
def lbfgs_b_state(n, m):
    """(d, w, x0, g0, G, S, Y, rho, alpha, part, scalars) for n variables and m
    pairs: the direction, the free gradient, the start of the search and its
    gradient, the Wolfe search's (3, n) workspace, kernels.lbfgs's ring
    buffer and ``part``, and scalars (COUNT, NEWEST, GAMMA), all float64.

    numba.extending.register_jitable: called from Python it runs as Python
    (numpy's allocations, about 1.5 us), not as a compiled function, whose
    11 arrays numba would box one by one (4 us: minimize calls it once a
    run); called from a user's numba code it is compiled into the caller."""
    S, Y, rho, alpha, part = lbfgs_workspace(n, m)
    scalars = np.zeros(3)
    scalars[GAMMA] = 1.0
    return (np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros((3, n)), S, Y, rho,
            alpha, part, scalars)


# --- the vector passes (serial and parallel, blocked sums: the same bits) ---

@njit(**SERIAL, inline="always")
def _held(x_i, g_i, lo_i, hi_i):
    return (x_i <= lo_i and g_i > 0.0) or (x_i >= hi_i and g_i < 0.0)


@njit(**SERIAL, inline="always")
def _free_range(w, g, x, lo, hi, a, b):
    for i in range(a, b):
        w[i] = 0.0 if _held(x[i], g[i], lo[i], hi[i]) else g[i]


@njit(**SERIAL, inline="always")
def _hold_range(d, g, x, lo, hi, a, b):
    for i in range(a, b):
        if _held(x[i], g[i], lo[i], hi[i]):
            d[i] = 0.0


@njit(**SERIAL, inline="always")
def _path_range(x, x0, d, t, lo, hi, g0, a, b):
    s = 0.0
    for i in range(a, b):
        x_i = min(max(x0[i] + t * d[i], lo[i]), hi[i])
        x[i] = x_i
        s += g0[i] * (x_i - x0[i])
    return s


@njit(**SERIAL, inline="always")
def _projected_range(x, g, lo, hi, a, b):
    m = 0.0
    for i in range(a, b):
        p = abs(min(max(x[i] - g[i], lo[i]), hi[i]) - x[i])
        if not p <= m:                     # NaN wins, as in max_abs
            m = p
    return m


@njit(**SERIAL, inline="always")
def _step_range(d, x, x0, a, b):
    m = 0.0
    for i in range(a, b):
        d_i = x[i] - x0[i]
        d[i] = d_i
        a_i = abs(d_i)
        if not a_i <= m:
            m = a_i
    return m


@njit(**BORROWING)
def _largest(part, nb):
    """The largest of part[:nb] (NaN wins, as in max_abs)."""
    m = 0.0
    for k in range(nb):
        if not part[k] <= m:
            m = part[k]
    return m


@njit(**SERIAL, inline="always")
def free_gradient(w, g, x, lo, hi, part):
    """w = g with the held entries (module docstring) zeroed."""
    _free_range(w, g, x, lo, hi, 0, x.size)


@njit(**PARALLEL)
def free_gradient_parallel(w, g, x, lo, hi, part):
    """:func:`free_gradient` over numba's threads."""
    nb = blocks(x.size)
    for k in prange(nb):
        a, b = block_bounds(x.size, nb, k)
        _free_range(w, g, x, lo, hi, a, b)


@njit(**SERIAL, inline="always")
def hold(d, g, x, lo, hi, part):
    """d_i = 0 on the held entries."""
    _hold_range(d, g, x, lo, hi, 0, x.size)


@njit(**PARALLEL)
def hold_parallel(d, g, x, lo, hi, part):
    """:func:`hold` over numba's threads."""
    nb = blocks(x.size)
    for k in prange(nb):
        a, b = block_bounds(x.size, nb, k)
        _hold_range(d, g, x, lo, hi, a, b)


@njit(**SERIAL, inline="always")
def projected_path(x, x0, d, t, lo, hi, g0, part):
    """x = P(x0 + t d); returns g0 . (x - x0), summed in kernels.linalg's blocks."""
    nb = blocks(x.size)
    total = 0.0
    for k in range(nb):
        a, b = block_bounds(x.size, nb, k)
        total += _path_range(x, x0, d, t, lo, hi, g0, a, b)
    return total


@njit(**PARALLEL)
def projected_path_parallel(x, x0, d, t, lo, hi, g0, part):
    """:func:`projected_path` over numba's threads, the same bits."""
    nb = blocks(x.size)
    for k in prange(nb):
        a, b = block_bounds(x.size, nb, k)
        part[k] = _path_range(x, x0, d, t, lo, hi, g0, a, b)
    total = 0.0
    for k in range(nb):
        total += part[k]
    return total


@njit(**SERIAL, inline="always")
def projected_gradient_norm(x, g, lo, hi, part):
    """max_i |P(x - g)_i - x_i|: 0 where no feasible descent is left."""
    return _projected_range(x, g, lo, hi, 0, x.size)


@njit(**PARALLEL)
def projected_gradient_norm_parallel(x, g, lo, hi, part):
    """:func:`projected_gradient_norm` over numba's threads (a max: the same bits)."""
    nb = blocks(x.size)
    for k in prange(nb):
        a, b = block_bounds(x.size, nb, k)
        part[k] = _projected_range(x, g, lo, hi, a, b)
    return _largest(part, nb)


@njit(**SERIAL, inline="always")
def step_taken(d, x, x0, part):
    """d = x - x0; returns max|d_i|."""
    return _step_range(d, x, x0, 0, x.size)


@njit(**PARALLEL)
def step_taken_parallel(d, x, x0, part):
    """:func:`step_taken` over numba's threads (a max: the same bits)."""
    nb = blocks(x.size)
    for k in prange(nb):
        a, b = block_bounds(x.size, nb, k)
        part[k] = _step_range(d, x, x0, a, b)
    return _largest(part, nb)


# a pass serial or parallel by the flag ``parallel`` of the method's passes
# (the same bits): inlined, so that the serial variant is one function
# without the reference counting of a call per pass (kernels.linalg)

@njit(**SERIAL, inline="always")
def _direction(parallel, g, d, S, Y, rho, alpha, count, newest, gamma, part):
    if parallel:
        return lbfgs_direction_parallel(g, d, S, Y, rho, alpha, count, newest, gamma, part)
    return lbfgs_direction(g, d, S, Y, rho, alpha, count, newest, gamma)


@njit(**SERIAL, inline="always")
def _push(parallel, S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min, part):
    if parallel:
        return lbfgs_push_parallel(S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min,
                                   part)
    return lbfgs_push(S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min)


@njit(**SERIAL, inline="always")
def _free(parallel, w, g, x, lo, hi, part):
    if parallel:
        free_gradient_parallel(w, g, x, lo, hi, part)
    else:
        free_gradient(w, g, x, lo, hi, part)


@njit(**SERIAL, inline="always")
def _hold(parallel, d, g, x, lo, hi, part):
    if parallel:
        hold_parallel(d, g, x, lo, hi, part)
    else:
        hold(d, g, x, lo, hi, part)


@njit(**SERIAL, inline="always")
def _path(parallel, x, x0, d, t, lo, hi, g0, part):
    if parallel:
        return projected_path_parallel(x, x0, d, t, lo, hi, g0, part)
    return projected_path(x, x0, d, t, lo, hi, g0, part)


@njit(**SERIAL, inline="always")
def _gradient_norm(parallel, x, g, lo, hi, part):
    if parallel:
        return projected_gradient_norm_parallel(x, g, lo, hi, part)
    return projected_gradient_norm(x, g, lo, hi, part)


@njit(**SERIAL, inline="always")
def _step(parallel, d, x, x0, part):
    if parallel:
        return step_taken_parallel(d, x, x0, part)
    return step_taken(d, x, x0, part)


# (parallel, wolfe): the passes' variant and the strong Wolfe search (a
# FunctionRef, so that the loops compiled for it are cached on disk; the
# Python loop of a Python objective puts its Python search there)
LBFGS_B_SERIAL = (False, cacheable(strong_wolfe_serial_pass))
LBFGS_B_PARALLEL = (True, cacheable(strong_wolfe_parallel))


# --- the method: begin and advance of kernels.driver.descend ---------------

@njit(**BORROWING)
def lbfgs_b_begin(value_and_grad, args, x, g, method, max_skips):
    """f and g at the start x (inside the bounds) and its stationarity measure:
    (f, g_norm, 1)."""
    passes, state, lo, hi, c1, max_ls, ftol = method
    parallel = passes[0]
    part = state[9]
    f = call_2(value_and_grad, x, g, args)
    if lo.size > 0:
        return f, _gradient_norm(parallel, x, g, lo, hi, part), 1
    return f, max_abs_pass(parallel, g), 1


@njit(**BORROWING)
def lbfgs_b_advance(value_and_grad, args, x, g, x_prev, f, g_norm, it, method, max_skips):
    """One L-BFGS iteration (module docstring): x, g, f at the next iterate.
    Returns (f, g_norm, max|dx_i|, evaluations, 0, status): status RUNNING,
    or LINE_SEARCH (x, g, f unchanged) when no lower f was found (FTOL if
    the change predicted was below ftol |f|: the rounding floor)."""
    passes, state, lo, hi, c1, max_ls, ftol = method
    parallel, wolfe = passes
    d, w, x0, g0, G, S, Y, rho, alpha, part, scalars = state
    bounded = lo.size > 0
    count, newest, gamma = int(scalars[COUNT]), int(scalars[NEWEST]), scalars[GAMMA]
    copy_1d(x0, x)
    copy_1d(g0, g)
    n_eval = 0
    predicted = np.inf                     # -g . d / 2 along the first direction
    for attempt in range(2):               # the L-BFGS direction, then steepest descent
        if bounded:
            _free(parallel, w, g0, x0, lo, hi, part)
            gtd = _direction(parallel, w, d, S, Y, rho, alpha, count, newest, gamma, part)
            _hold(parallel, d, g0, x0, lo, hi, part)
        else:
            gtd = _direction(parallel, g0, d, S, Y, rho, alpha, count, newest, gamma, part)
        if attempt == 0:
            predicted = -0.5 * gtd
        if not gtd < 0.0:                  # no descent left along d (g = 0 on the free set)
            if count == 0:
                break
            count, newest, gamma = 0, 0, 1.0
            continue
        t = 1.0 / np.sqrt(dot_pass(parallel, d, d, part)) if count == 0 else 1.0
        if bounded:
            f_new, decrease = f, 0.0
            for _ in range(max_ls):        # backtracking along the projected path
                trial_decrease = _path(parallel, x, x0, d, t, lo, hi, g0, part)
                f_trial = call_2(value_and_grad, x, g, args)
                n_eval += 1
                if np.isfinite(f_trial) and f_trial <= f + c1 * trial_decrease:
                    f_new, decrease = f_trial, trial_decrease
                    break
                if np.isfinite(f_trial):  # the quadratic through f, gtd and f_trial
                    curvature = f_trial - f - gtd * t
                    t_q = -gtd * t * t / (2.0 * curvature) if curvature > 0.0 else 0.5 * t
                    t = min(max(t_q, 0.1 * t), 0.5 * t)
                else:
                    t = 0.1 * t
        else:
            tolerance = EPS * max_abs_pass(parallel, x0)          # a bracket narrower than x's ulp
            f_new, t, k, _ = wolfe(value_and_grad, args, x0, f, g0, d, t, gtd, x, g, G, c1, C2,
                                   tolerance, max_ls, part)
            n_eval += k
            decrease = t * gtd
        if np.isfinite(f_new) and f_new < f:
            step_norm = _step(parallel, d, x, x0, part)                      # d = s = x - x0
            count, newest, gamma = _push(parallel, S, Y, rho, count, newest, gamma, 1.0, d, g, g0,
                                        EPS * -decrease, part)
            scalars[COUNT], scalars[NEWEST], scalars[GAMMA] = count, newest, gamma
            norm = (_gradient_norm(parallel, x, g, lo, hi, part) if bounded else
                    max_abs_pass(parallel, g))
            return f_new, norm, step_norm, n_eval, 0, RUNNING
        if count == 0:
            break
        count, newest, gamma = 0, 0, 1.0   # forget the pairs: steepest descent once more
    copy_1d(x, x0)
    copy_1d(g, g0)
    scalars[COUNT], scalars[NEWEST], scalars[GAMMA] = count, newest, gamma
    status = FTOL if predicted <= ftol * abs(f) else LINE_SEARCH
    return f, g_norm, 0.0, n_eval, 0, status


# (begin, advance) for kernels.driver.descend
LBFGS_B = (cacheable(lbfgs_b_begin), cacheable(lbfgs_b_advance))


# --- the whole loop, for the facade and for users' numba code ---------------

@njit(**SERIAL, inline="always")
def _descend(passes, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0, g0, G, S,
             Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter, pause_at, ftol, gtol,
             scales, fun_history, grad_norm_history):
    state = (d, w, x0, g0, G, S, Y, rho, alpha, part, scalars)
    return descend(value_and_grad, x, g, x[:0], f, g_norm, nit, evaluated, args, LBFGS_B,
                   (passes, state, lo, hi, C1, max_ls, ftol), max_iter, pause_at, ftol, gtol,
                   0.0, scales, 0, fun_history, grad_norm_history)


@njit(**SERIAL)
def lbfgs_b_descend(value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0, g0, G, S,
                    Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter, pause_at, ftol, gtol,
                    scales, fun_history, grad_norm_history):
    """kernels.driver.descend with LBFGS_B and the serial passes, its method
    data given flat (the state's arrays one by one, as lbfgs_b_state makes
    them): one call from Python types each argument on numba's fast path,
    where a nested tuple costs milliseconds. Arguments as descend's (x_prev
    none, xtol 0, max_skips 0); safe inside a user's ``prange``."""
    return _descend(LBFGS_B_SERIAL, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w,
                    x0, g0, G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter,
                    pause_at, ftol, gtol, scales, fun_history, grad_norm_history)


@njit(**SERIAL)            # the passes it calls are the parallel ones
def lbfgs_b_descend_parallel(value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0,
                             g0, G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter,
                             pause_at, ftol, gtol, scales, fun_history, grad_norm_history):
    """:func:`lbfgs_b_descend` with the parallel passes, the same bits."""
    return _descend(LBFGS_B_PARALLEL, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d,
                    w, x0, g0, G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter,
                    pause_at, ftol, gtol, scales, fun_history, grad_norm_history)


@njit(**PARALLEL)
def lbfgs_b_batch(value_and_grad, X, batch_args, args, LO, HI, S, Y, rho, scalars, scales,
                  max_ls, max_iter, ftol, gtol, fun, nit, status, pause_after=-1):
    """lbfgs_b_descend on every row of X, rows in parallel (gdfast.minimize_batch).

    X (P, n): the starts (inside the bounds), rows updated in place. Problem
    i calls value_and_grad(X[i], g, *rows(batch_args, i), *args). LO, HI
    (P, n): each problem's bounds (-inf / inf for a free side), or (P, 0):
    none. The memory of each problem, kept between calls: S, Y (P, m + 1, n),
    rho (P, m + 1), scalars (P, 3) (COUNT, NEWEST, GAMMA) and scales (P, 2)
    (descend's F_FLOOR, G_SCALE). fun (P,) float64, nit (P,) int64, status
    (P,) int64 receive the results.

    pause_after -1 (default): every row runs from its start (its memory
                reset). K >= 0: only the rows whose status is RUNNING on entry
                run, from iterate nit[i] with the memory a paused call left
                them (f and g evaluated again there: the same numbers for a
                deterministic objective), for at most K iterations; a row
                still running keeps status RUNNING. Calls of K iterations go
                as one call goes, bit for bit.
    """
    n = X.shape[1]
    m1 = S.shape[1]
    empty = np.empty(0)
    for i in prange(X.shape[0]):
        if pause_after >= 0 and status[i] != RUNNING:
            continue
        start = nit[i] if pause_after >= 0 else 0
        if pause_after < 0 or start == 0:
            scalars[i, COUNT], scalars[i, NEWEST], scalars[i, GAMMA] = 0.0, 0.0, 1.0
            scales[i, F_FLOOR], scales[i, G_SCALE] = 0.0, -1.0
        x = X[i]
        r = _descend(LBFGS_B_SERIAL, value_and_grad, x, np.empty(n), 0.0, 0.0, start, False,
                     rows(batch_args, i) + args, np.empty(n), np.empty(n), np.empty(n),
                     np.empty(n), np.empty((3, n)), S[i], Y[i], rho[i], np.empty(m1),
                     workspace(), scalars[i], LO[i], HI[i], max_ls, max_iter,
                     start + pause_after if pause_after >= 0 else -1, ftol, gtol, scales[i],
                     empty, empty)
        fun[i] = r.fun
        nit[i] = r.nit
        status[i] = r.status


# --- minimize's nopython mode: chunks timed in compiled code -----------------

# the most iterations of one chunk, and its most growth from one to the next
# (in case the one timed was unusually fast)
_CHUNK_CAP, _CHUNK_GROWTH = 1 << 40, 1024


@njit(**BORROWING)
def _timed(passes, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0, g0, G, S, Y,
           rho, alpha, part, scalars, lo, hi, max_ls, max_iter, pause_at, ftol, gtol, scales,
           fun_history, grad_norm_history, seconds):
    start = monotonic_seconds()
    chunk, nfev, skipped = 1, 0, 0
    while True:
        stop = nit + chunk
        if 0 <= pause_at < stop:
            stop = pause_at
        t0 = monotonic_seconds()
        r = _descend(passes, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0, g0,
                     G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter, stop, ftol,
                     gtol, scales, fun_history, grad_norm_history)
        nfev += r.nfev
        skipped += r.skipped
        now = monotonic_seconds()
        if r.status != RUNNING or r.nit == pause_at or now - start >= seconds:
            return r.nit, r.fun, r.status, nfev, skipped, r.grad_norm
        # the iterations that fit the time left, at the rate just seen
        per_iteration = (now - t0) / max(r.nit - nit, 1)
        fit = int((seconds - (now - start)) / per_iteration) if per_iteration > 0 else _CHUNK_CAP
        chunk = max(1, min(fit, chunk * _CHUNK_GROWTH, _CHUNK_CAP))
        nit, f, g_norm, evaluated = r.nit, r.fun, r.grad_norm, True


@njit(**BORROWING)
def lbfgs_b_descend_timed(value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0, g0, G,
                          S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter, pause_at,
                          ftol, gtol, scales, fun_history, grad_norm_history, seconds):
    """:func:`lbfgs_b_descend` that also pauses (status RUNNING) once about
    ``seconds`` have passed (kernels.clock; needs clock.AVAILABLE), for
    minimize's nopython mode: one call from Python serves a short run whole,
    and a long one returns every ``seconds`` so that Ctrl-C is answered.
    It runs in chunks of iterations sized by the rate seen (the first: one
    iteration), each a call of the loop that goes on where the last paused,
    so the iterates are those of one call. Returns the plain tuple (nit,
    fun, status, nfev, skipped, grad_norm): x and g are the arrays passed."""
    return _timed(LBFGS_B_SERIAL, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w, x0,
                  g0, G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter, pause_at,
                  ftol, gtol, scales, fun_history, grad_norm_history, seconds)


@njit(**BORROWING)            # the passes it calls are the parallel ones
def lbfgs_b_descend_timed_parallel(value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w,
                                   x0, g0, G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls,
                                   max_iter, pause_at, ftol, gtol, scales, fun_history,
                                   grad_norm_history, seconds):
    """:func:`lbfgs_b_descend_timed` with the parallel passes, the same bits."""
    return _timed(LBFGS_B_PARALLEL, value_and_grad, x, g, f, g_norm, nit, evaluated, args, d, w,
                  x0, g0, G, S, Y, rho, alpha, part, scalars, lo, hi, max_ls, max_iter, pause_at,
                  ftol, gtol, scales, fun_history, grad_norm_history, seconds)
