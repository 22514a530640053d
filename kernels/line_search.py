"""Line searches: how far to go along a descent direction d from x0.

Both searches call the user's compiled objective, with gdfast.kernels'
convention ``value_and_grad(x, g, *args) -> f`` (the gradient written into
g), at trial points x = x0 + t d, and end with x, g and f of the accepted t::

    f, t, nfev, status = strong_wolfe(value_and_grad, args, x0, f0, g0, d, t, gtd0,
                                      x, g, G, c1, c2, tolerance_change, max_ls)

x0, g0  float64 (n,)   the start and its gradient (only read); f0 = f(x0)
d       float64 (n,)   a descent direction, gtd0 = g0 . d < 0
t       float          the first trial step
x, g    float64 (n,)   written: the accepted point x0 + t d and its gradient
G       float64 (3, n) workspace: the gradients of the bracket's ends
status  WOLFE (both strong Wolfe conditions hold at t), MAX_LS (max_ls
        evaluations made), NARROW (the bracket became shorter than
        tolerance_change / max|d|): the best point found is returned

strong_wolfe is torch.optim.LBFGS's ``_strong_wolfe`` (a port of minFunc's
lswolfe: bracketing with cubic extrapolation, then zoom with cubic
interpolation and a safeguard that keeps trials 10% of the bracket away from
its ends; Nocedal & Wright, Numerical Optimization, Alg. 3.5-3.6),
operation for operation, so that its trials and its result are torch's. One
thing is added: a trial point where f or g . d is NaN or inf counts as a
point too far (f = +inf), so the bracket closes on the finite side and the
search returns a finite point (torch's would carry the NaN on).

armijo_backtracking is the simple search: t, t rho, t rho^2, ... until
f(x0 + t d) <= f0 + c1 t gtd0 (at most max_ls evaluations; a NaN or inf f
counts as too far). Its status is ARMIJO when the condition holds, MAX_LS
when no trial met it (x, g and f are then x0's: no step).

The serial searches are safe inside a user's ``prange``; the ``*_parallel``
ones spread each vector pass over numba's threads, with the same bits
(kernels.linalg's blocked dot products).
"""
import numpy as np

from .calls import call_2
from .jit import BORROWING, SERIAL, njit
from .linalg import copy_1d, dot_pass, max_abs_pass, point
from .stream import triad_parallel

WOLFE, MAX_LS, NARROW, ARMIJO = 0, 1, 2, 3
G0 = -1                                   # the bracket index of g0 (the caller's array)


@njit(**BORROWING)
def cubic_minimizer(x1, f1, g1, x2, f2, g2, lo, hi):
    """The minimiser of the cubic through (x1, f1, slope g1) and (x2, f2, slope
    g2), clamped to [lo, hi]; the midpoint of [lo, hi] where the cubic has
    none. torch.optim.lbfgs._cubic_interpolate, operation for operation."""
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0




@njit(**SERIAL, inline="always")
def _point_pass(parallel, x, x0, d, t):
    if parallel:
        triad_parallel(x, x0, d, t)
    else:
        point(x, x0, d, t)


@njit(**SERIAL, inline="always")     # returns an array: not BORROWING
def _grad(G, g0, k):
    return g0 if k == G0 else G[k]


@njit(**BORROWING)
def too_far_if_not_finite(f, gtd):
    """(f, gtd), or (inf, nan) where either is NaN or inf: such a trial point counts as too far."""
    if not (np.isfinite(f) and np.isfinite(gtd)):
        return np.inf, np.nan
    return f, gtd


@njit(**BORROWING)
def _free(a, b):
    """A row of G that neither bracket end uses."""
    for k in range(3):
        if k != a and k != b:
            return k
    return 0


@njit(**SERIAL, inline="always")
def strong_wolfe_body(parallel, value_and_grad, args, x0, f, g0, d, t, gtd, x, g, G, c1, c2,
                      tolerance_change, max_ls, part):
    """strong_wolfe's body, its vector passes serial or parallel (the same
    bits): compiled by the kernels below, or run as Python
    (``strong_wolfe_body.py_func``, the passes still compiled) for a Python
    objective, the same numbers. The serial passes are inlined (a call's
    reference counting costs more than the pass at a per-pixel n)."""
    d_norm = max_abs_pass(parallel, d)
    new = 0
    _point_pass(parallel, x, x0, d, t)
    f_new = call_2(value_and_grad, x, G[new], args)
    f_new, gtd_new = too_far_if_not_finite(f_new, dot_pass(parallel, G[new], d, part))
    nfev = 1
    t_prev, f_prev, prev, gtd_prev = 0.0, f, G0, gtd
    done = False
    ls_iter = 0
    # the bracket [b0, b1]: steps, values, gradient rows, slopes
    b0, b1, bf0, bf1, bg0, bg1, bd0, bd1 = 0.0, 0.0, 0.0, 0.0, G0, G0, 0.0, 0.0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            b0, b1, bf0, bf1, bg0, bg1, bd0, bd1 = (t_prev, t, f_prev, f_new, prev, new,
                                                    gtd_prev, gtd_new)
            break
        if abs(gtd_new) <= -c2 * gtd:
            b0, b1, bf0, bf1, bg0, bg1 = t, t, f_new, f_new, new, new
            done = True
            break
        if gtd_new >= 0:
            b0, b1, bf0, bf1, bg0, bg1, bd0, bd1 = (t_prev, t, f_prev, f_new, prev, new,
                                                    gtd_prev, gtd_new)
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step)
        t_prev, f_prev, gtd_prev = tmp, f_new, gtd_new
        prev, new = new, _free(new, G0)
        _point_pass(parallel, x, x0, d, t)
        f_new = call_2(value_and_grad, x, G[new], args)
        f_new, gtd_new = too_far_if_not_finite(f_new, dot_pass(parallel, G[new], d, part))
        nfev += 1
        ls_iter += 1
    if ls_iter == max_ls:
        b0, b1, bf0, bf1, bg0, bg1 = 0.0, t, f, f_new, G0, new
    status = WOLFE if done else MAX_LS
    insuf_progress = False
    low_is_0 = bf0 <= bf1
    while not done and ls_iter < max_ls:
        if abs(b1 - b0) * d_norm < tolerance_change:
            status = NARROW
            break
        t = cubic_minimizer(b0, bf0, bd0, b1, bf1, bd1, min(b0, b1), max(b0, b1))
        b_max, b_min = max(b0, b1), min(b0, b1)
        eps = 0.1 * (b_max - b_min)
        if min(b_max - t, t - b_min) < eps:
            if insuf_progress or t >= b_max or t <= b_min:
                if abs(t - b_max) < abs(t - b_min):
                    t = b_max - eps
                else:
                    t = b_min + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        new = _free(bg0, bg1)
        _point_pass(parallel, x, x0, d, t)
        f_new = call_2(value_and_grad, x, G[new], args)
        f_new, gtd_new = too_far_if_not_finite(f_new, dot_pass(parallel, G[new], d, part))
        nfev += 1
        ls_iter += 1
        f_low = bf0 if low_is_0 else bf1
        if f_new > (f + c1 * t * gtd) or f_new >= f_low:
            if low_is_0:                   # the new point becomes the high end
                b1, bf1, bg1, bd1 = t, f_new, new, gtd_new
            else:
                b0, bf0, bg0, bd0 = t, f_new, new, gtd_new
            low_is_0 = bf0 <= bf1
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
                status = WOLFE
            elif gtd_new * ((b1 - b0) if low_is_0 else (b0 - b1)) >= 0:
                if low_is_0:               # the old low becomes the high end
                    b1, bf1, bg1, bd1 = b0, bf0, bg0, bd0
                else:
                    b0, bf0, bg0, bd0 = b1, bf1, bg1, bd1
            if low_is_0:                   # the new point becomes the low end
                b0, bf0, bg0, bd0 = t, f_new, new, gtd_new
            else:
                b1, bf1, bg1, bd1 = t, f_new, new, gtd_new
    if low_is_0:
        t, f_new, low = b0, bf0, bg0
    else:
        t, f_new, low = b1, bf1, bg1
    copy_1d(g, _grad(G, g0, low))
    _point_pass(parallel, x, x0, d, t)
    return f_new, t, nfev, status


@njit(**SERIAL, inline="always")
def strong_wolfe(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1, c2,
                 tolerance_change, max_ls):
    """The strong Wolfe line search of torch.optim.LBFGS (module docstring).

    Accepts t when f(x0 + t d) <= f0 + c1 t gtd0 and |g . d| <= -c2 gtd0
    (torch's defaults: c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9,
    max_ls = 25). Returns (f, t, nfev, status); x, g hold x0 + t d and its
    gradient. G: float64 (3, n) workspace.
    """
    return strong_wolfe_body(False, value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1,
                             c2, tolerance_change, max_ls, d[:0])


@njit(**BORROWING)            # the passes it calls are the parallel ones
def strong_wolfe_parallel(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1, c2,
                          tolerance_change, max_ls, part):
    """:func:`strong_wolfe` with its vector passes over numba's threads, the
    same bits; part: kernels.linalg.workspace()."""
    return strong_wolfe_body(True, value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1,
                             c2, tolerance_change, max_ls, part)


@njit(**SERIAL, inline="always")
def _armijo(parallel, value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, c1, rho, max_ls):
    for k in range(max_ls):
        _point_pass(parallel, x, x0, d, t)
        f = call_2(value_and_grad, x, g, args)
        if np.isfinite(f) and f <= f0 + c1 * t * gtd0:
            return f, t, k + 1, ARMIJO
        t *= rho
    copy_1d(x, x0)
    copy_1d(g, g0)
    return f0, 0.0, max_ls, MAX_LS


@njit(**BORROWING)
def armijo_backtracking(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, c1, rho, max_ls):
    """Backtracking: the first of t, t rho, t rho^2, ... (0 < rho < 1, at most
    max_ls) with f(x0 + t d) <= f0 + c1 t gtd0 (module docstring).
    Returns (f, t, nfev, status); x, g hold the accepted point and its gradient."""
    return _armijo(False, value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, c1, rho,
                   max_ls)


@njit(**BORROWING)            # the passes it calls are the parallel ones
def armijo_backtracking_parallel(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, c1, rho,
                                 max_ls):
    """:func:`armijo_backtracking` with its vector passes over numba's threads, the same bits."""
    return _armijo(True, value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, c1, rho,
                   max_ls)
