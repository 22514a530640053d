"""L-BFGS: the two-loop recursion over a ring buffer of (s, y) pairs.

The inverse-Hessian approximation H of L-BFGS (Nocedal & Wright, Numerical
Optimization, 2nd ed., Alg. 7.4) is kept as at most m pairs

    s_k = x_{k+1} - x_k = t_k d_k,    y_k = g_{k+1} - g_k,    rho_k = 1 / (y_k . s_k)

and gamma = y . s / y . y of the newest pair (H_0 = gamma I). The pairs live
in a ring buffer of m + 1 rows, so that a new pair is written into the spare
row in one pass and kept only if its curvature y . s passes the test, with
nothing copied or allocated::

    S, Y    float64 (m + 1, n)   the pairs, row ``newest`` the newest
    rho     float64 (m + 1,)     1 / (y . s) of each row
    alpha   float64 (m + 1,)     the two-loop recursion's coefficients (workspace)
    count   int                  pairs kept (0 .. m); rows newest, newest - 1,
                                 ..., newest - count + 1 (mod m + 1)
    newest  int                  the row of the newest pair

``lbfgs_workspace(n, m)`` allocates S, Y, rho, alpha and the ``part`` the
parallel kernels sum into (kernels.linalg). The equations and their order
are those of torch.optim.LBFGS (which follows minFunc), so its trajectories
are reproduced: a pair is kept when y . s > ys_min (torch: 1e-10), and then
gamma = y . s / y . y; the direction is

    q = -g;  for i newest .. oldest:  a_i = rho_i s_i . q,  q = q - a_i y_i
    d = gamma q;  for i oldest .. newest:  b_i = rho_i y_i . d,  d = d + (a_i - b_i) s_i

computed as 2 count + 1 passes over memory (each pass updates d and forms
the next dot product). Every dot product is summed in fixed blocks
(kernels.linalg), so the serial kernels and the ``*_parallel`` ones give the
same bits for any thread count. The serial kernels are safe inside a user's
``prange`` over independent problems.
"""
import numpy as np
from numba.extending import register_jitable

from .calls import call_2
from .function_refs import cacheable
from .jit import BORROWING, SERIAL, njit
from .linalg import (
    AXPY,
    SCALE,
    SET_NEG,
    abs_sum,
    abs_sum_parallel,
    copy_1d,
    fused,
    fused_parallel,
    workspace,
    write_pair,
    write_pair_parallel,
)
from .line_search import strong_wolfe, strong_wolfe_parallel
from .reductions import max_abs, max_abs_parallel
from .stream import triad, triad_parallel

YS_MIN = 1e-10               # torch.optim.LBFGS's curvature threshold


@register_jitable
def lbfgs_workspace(n, m):
    """(S, Y, rho, alpha, part) for m pairs of length n (module docstring), zeroed."""
    return (np.zeros((m + 1, n)), np.zeros((m + 1, n)), np.zeros(m + 1), np.zeros(m + 1),
            workspace())


@njit(**SERIAL, inline="always")
def _fused_pass(parallel, mode, d, src, c, x, y, part):
    if parallel:
        return fused_parallel(mode, d, src, c, x, y, part)
    return fused(mode, d, src, c, x, y)


@njit(**SERIAL, inline="always")
def _pair_pass(parallel, s, y, scale, d, g, g_prev, part):
    if parallel:
        return write_pair_parallel(s, y, scale, d, g, g_prev, part)
    return write_pair(s, y, scale, d, g, g_prev)


@njit(**BORROWING)
def _push(parallel, S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min, part):
    rows = S.shape[0]
    slot = (newest + 1) % rows
    ys, yy = _pair_pass(parallel, S[slot], Y[slot], t, d, g, g_prev, part)
    if ys > ys_min:
        rho[slot] = 1.0 / ys
        return min(count + 1, rows - 1), slot, ys / yy
    return count, newest, gamma


@njit(**BORROWING)
def _direction(parallel, g, d, S, Y, rho, alpha, count, newest, gamma, part):
    rows = S.shape[0]
    if count == 0:
        _fused_pass(parallel, SET_NEG, d, g, 0.0, g, g, part)
        return _fused_pass(parallel, SCALE, d, g, gamma, g, g, part)
    a = _fused_pass(parallel, SET_NEG, d, g, 0.0, g, S[newest], part)  # q = -g; s_newest . q
    for j in range(count):                                             # newest .. oldest
        i = (newest - j) % rows
        alpha[i] = a * rho[i]
        older = (i - 1) % rows if j + 1 < count else i
        a = _fused_pass(parallel, AXPY, d, g, -alpha[i], Y[i], S[older], part)
    oldest = (newest - count + 1) % rows
    b = _fused_pass(parallel, SCALE, d, g, gamma, g, Y[oldest], part)  # d = gamma q; y_oldest . d
    for j in range(count):                                             # oldest .. newest
        i = (oldest + j) % rows
        beta = b * rho[i]
        nxt = Y[(i + 1) % rows] if j + 1 < count else g
        b = _fused_pass(parallel, AXPY, d, g, alpha[i] - beta, S[i], nxt, part)
    return b                                                           # the last dot is g . d


@njit(**BORROWING)
def lbfgs_push(S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min):
    """Offer the pair s = t d, y = g - g_prev (one pass, into the spare row).

    S, Y, rho, count, newest as in the module docstring; gamma the current
    H_0 scale; t the step taken along d (float64 (n,)); g, g_prev the
    gradients after and before it. The pair is kept when y . s > ys_min
    (the oldest pair then leaves if m were kept) and gamma becomes
    y . s / y . y. Returns (count, newest, gamma), unchanged if refused.
    """
    return _push(False, S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min,
                 S[0, :0])


@njit(**BORROWING)            # the passes it calls are the parallel ones
def lbfgs_push_parallel(S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min, part):
    """:func:`lbfgs_push` over numba's threads, the same bits; part from lbfgs_workspace."""
    return _push(True, S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min,
                 part)


@njit(**BORROWING)
def lbfgs_direction(g, d, S, Y, rho, alpha, count, newest, gamma):
    """d = -H g, H the L-BFGS inverse Hessian of the pairs kept (module docstring).

    g, d: float64 (n,), d written; alpha: workspace (m + 1,). With no pair
    kept, d = -gamma g. Returns g . d (negative for a descent direction).
    """
    return _direction(False, g, d, S, Y, rho, alpha, count, newest, gamma, S[0, :0])


@njit(**BORROWING)            # the passes it calls are the parallel ones
def lbfgs_direction_parallel(g, d, S, Y, rho, alpha, count, newest, gamma, part):
    """:func:`lbfgs_direction` over numba's threads, the same bits; part from lbfgs_workspace."""
    return _direction(True, g, d, S, Y, rho, alpha, count, newest, gamma, part)


# --- torch.optim.LBFGS's step -------------------------------------------------

# positions in lbfgs_torch_state's tuple: the gradient at x, the counts array
GRADIENT, COUNTS = 0, 10
# the entries of a torch-style run's counts (int64) and scalars (float64) arrays
COUNT, NEWEST, N_ITER, FUNC_EVALS = range(4)
GAMMA, STEP, PREV_LOSS = range(3)


@njit(**SERIAL, inline="always")
def torch_step_body(direction, push, vec_abs_sum, vec_max_abs, vec_point, search, value_and_grad,
                args, x, state, lr, max_iter, max_eval, tolerance_grad, tolerance_change,
                line_search):
    """lbfgs_torch_step's body, its passes given (TORCH_SERIAL_PASSES or
    TORCH_PARALLEL_PASSES): compiled by the kernels below, or run as Python
    (``torch_step_body.py_func``, with a Python search) for a Python objective."""
    g, d, g_prev, x0, G, S, Y, rho, alpha, part, counts, scalars = state
    loss = call_2(value_and_grad, x, g, args)
    orig_loss = loss
    current_evals = 1
    counts[FUNC_EVALS] += 1
    g_norm = vec_max_abs(g)
    if g_norm <= tolerance_grad or not (np.isfinite(loss) and np.isfinite(g_norm)):
        return orig_loss                       # optimal, or NaN/inf at x: x is left as it is
    count, newest = counts[COUNT], counts[NEWEST]
    gamma, t, prev_loss = scalars[GAMMA], scalars[STEP], scalars[PREV_LOSS]
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        counts[N_ITER] += 1
        if counts[N_ITER] == 1:
            count, newest, gamma = 0, 0, 1.0
            gtd = direction(g, d, S, Y, rho, alpha, count, newest, gamma, part)
        else:
            count, newest, gamma = push(S, Y, rho, count, newest, gamma, t, d, g, g_prev,
                                        YS_MIN, part)
            gtd = direction(g, d, S, Y, rho, alpha, count, newest, gamma, part)
        copy_1d(g_prev, g)
        prev_loss = loss
        if counts[N_ITER] == 1:
            t = min(1.0, 1.0 / vec_abs_sum(g, part)) * lr
        else:
            t = lr
        if gtd > -tolerance_change:
            break
        if line_search:
            copy_1d(x0, x)
            loss, t, ls_evals, _ = search(value_and_grad, args, x0, loss, g_prev, d, t, gtd, x, g,
                                          G, 1e-4, 0.9, tolerance_change,
                                          max_eval - current_evals, part)
            opt_cond = vec_max_abs(g) <= tolerance_grad
        else:
            ls_evals = 0
            vec_point(x, x, d, t)                             # x + t d
            opt_cond = False
            if n_iter != max_iter:
                loss = call_2(value_and_grad, x, g, args)
                opt_cond = vec_max_abs(g) <= tolerance_grad
                ls_evals = 1
        current_evals += ls_evals
        counts[FUNC_EVALS] += ls_evals
        if n_iter == max_iter or current_evals >= max_eval or opt_cond:
            break
        if vec_max_abs(d) * abs(t) <= tolerance_change:       # max|t d_i|, bit for bit
            break
        if abs(loss - prev_loss) < tolerance_change:
            break
    counts[COUNT], counts[NEWEST] = count, newest
    scalars[GAMMA], scalars[STEP], scalars[PREV_LOSS] = gamma, t, prev_loss
    return orig_loss


@njit(**BORROWING)
def direction_serial_pass(g, d, S, Y, rho, alpha, count, newest, gamma, part):
    return lbfgs_direction(g, d, S, Y, rho, alpha, count, newest, gamma)


@njit(**BORROWING)
def push_serial_pass(S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min, part):
    return lbfgs_push(S, Y, rho, count, newest, gamma, t, d, g, g_prev, ys_min)


@njit(**BORROWING)
def _abs_sum_serial(a, part):
    return abs_sum(a)


@njit(**BORROWING)
def strong_wolfe_serial_pass(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1, c2,
                   tolerance_change, max_ls, part):
    return strong_wolfe(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1, c2,
                        tolerance_change, max_ls)


# (direction, push, abs_sum, max_abs, point, search) of torch_step_body's variants
TORCH_SERIAL_PASSES = tuple(cacheable(f) for f in (direction_serial_pass, push_serial_pass,
                                                   _abs_sum_serial, max_abs, triad,
                                                   strong_wolfe_serial_pass))
TORCH_PARALLEL_PASSES = tuple(cacheable(f) for f in (lbfgs_direction_parallel, lbfgs_push_parallel,
                                               abs_sum_parallel, max_abs_parallel,
                                               triad_parallel, strong_wolfe_parallel))


@njit(**SERIAL)
def lbfgs_torch_state(n, history_size):
    """The state of a torch.optim.LBFGS run over n parameters, as a tuple
    (g, d, g_prev, x0, G, S, Y, rho, alpha, part, counts, scalars): the
    gradient, the direction, the previous gradient, the line search's start
    and gradients (G: (3, n)), the ring buffer of history_size pairs (module
    docstring), the parallel kernels' workspace, counts (int64: COUNT,
    NEWEST, N_ITER, FUNC_EVALS) and scalars (float64: GAMMA, STEP, PREV_LOSS)."""
    S, Y, rho, alpha, part = lbfgs_workspace(n, history_size)
    scalars = np.zeros(3)
    scalars[GAMMA] = 1.0
    return (np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros((3, n)), S, Y, rho,
            alpha, part, np.zeros(4, np.int64), scalars)


@njit(**BORROWING)
def lbfgs_torch_step(value_and_grad, args, x, state, lr, max_iter, max_eval, tolerance_grad,
                     tolerance_change, line_search):
    """One ``torch.optim.LBFGS.step(closure)``: up to max_iter L-BFGS iterations
    from x (updated in place), operation for operation as torch's.

    value_and_grad(x, g, *args) -> f is the closure (f at x, its gradient
    written into g); state from lbfgs_torch_state (kept between steps, as
    torch keeps the optimizer's state); lr, max_iter, max_eval,
    tolerance_grad, tolerance_change as torch's; line_search: True for
    line_search_fn="strong_wolfe" (c1 = 1e-4, c2 = 0.9, at most max_eval
    evaluations in all), False for steps of length lr (the first
    min(1, 1 / sum|g_i|) lr). Returns f at x on entry (torch's step returns
    the closure's first loss); where f or the gradient there is NaN or inf,
    x and the state are left as they are.
    """
    direction, push, abs_sum_, max_abs_, point_, search = TORCH_SERIAL_PASSES
    return torch_step_body(direction, push, abs_sum_, max_abs_, point_, search, value_and_grad,
                           args, x, state, lr, max_iter, max_eval, tolerance_grad,
                           tolerance_change, line_search)


@njit(**BORROWING)            # the passes it calls are the parallel ones
def lbfgs_torch_step_parallel(value_and_grad, args, x, state, lr, max_iter, max_eval,
                              tolerance_grad, tolerance_change, line_search):
    """:func:`lbfgs_torch_step` with its vector passes over numba's threads, the same bits."""
    direction, push, abs_sum_, max_abs_, point_, search = TORCH_PARALLEL_PASSES
    return torch_step_body(direction, push, abs_sum_, max_abs_, point_, search, value_and_grad,
                           args, x, state, lr, max_iter, max_eval, tolerance_grad,
                           tolerance_change, line_search)
