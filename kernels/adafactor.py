"""Adafactor: torch.optim.Adafactor (Shazeer & Stern, 2018; torch's variant).

The calling convention's signature, but not its state: a parameter of two or
more dimensions keeps the second moment factored over its last two axes, a
row factor and a column factor, so the state arrays are not of x's length::

    bad = adafactor_step(x, g, state, t, lr, hyper)
    state = (row_var, col_var, variance, work)

For x of shape (..., R, C) with B = prod(...) (hyper's batch, rows, cols =
B, R, C): row_var has B R entries (torch's (..., R, 1)), col_var B C
(torch's (..., 1, C)), variance 0; for a vector (batch 0): row_var and
col_var 0 entries, variance n. ``work`` is scratch of `work_length` (B, R,
C) entries: the block sums of the two norms, the B row-factor means and,
when factored, the B C column sums of g^2 and one row of the update per
block (N_BLOCKS C); its content between steps does not matter.

The two norms (of x and of the update) are sums over the whole array, summed
in fixed blocks (``kernels.linalg.blocks``; the update's by blocks of rows,
each row's squares in `kernels.reductions.sum_range`'s order) in block order,
so the serial and the parallel kernel give the same bits for any thread
count; each row sum is one thread's, each column sum adds the rows in order
(stripes of `STRIPE` columns, read row by row: a column read down the
matrix touched one cache line and one page per entry).
"""
import math

from numba import prange

from ._elementwise import direction_sign, lerp
from .jit import PARALLEL, SERIAL, njit
from .linalg import blocks
from .nonfinite import any_nonfinite
from .reductions import N_BLOCKS, block_bounds, sum_range, sum_squares_range

WORK_BASE = 2 * N_BLOCKS
STRIPE = 256   # columns summed together, row by row (2 KiB of each row)


def work_length(batch, rows, cols):
    """Entries of Adafactor's scratch ``work`` for B, R, C = batch, rows, cols
    (batch 0: a vector): WORK_BASE + B, plus B C + N_BLOCKS C when factored."""
    if batch == 0:
        return WORK_BASE
    return WORK_BASE + batch + batch * cols + N_BLOCKS * cols


@njit(**SERIAL)
def _inv_rms(v, eps1):
    """1 / sqrt(max(v, eps1^2)): torch's clamp_(min=eps1 * eps1).rsqrt_()."""
    return 1.0 / math.sqrt(max(v, eps1 * eps1))


@njit(**SERIAL)
def _vector_block(g, variance, lo, hi, w, eps1, sign):
    """variance <- lerp(variance, g^2, w) over [lo, hi); the sum of the update's squares."""
    s = 0.0
    for i in range(lo, hi):
        d = sign * g[i]
        v_i = lerp(variance[i], d * d, w)
        variance[i] = v_i
        u = _inv_rms(v_i, eps1) * d
        s += u * u
    return s


@njit(**SERIAL)
def _row_factor(g, row_var, q, cols, w):
    """row_var[q] <- lerp(row_var[q], |g row q|^2 / C, w) (torch: norm(dim=-1).square_())."""
    s = sum_squares_range(g, q * cols, (q + 1) * cols, 1.0)
    r = math.sqrt(s)
    row_var[q] = lerp(row_var[q], r * r / cols, w)


@njit(**SERIAL)
def _column_sums(g, work, task, nbatch, rows, cols):
    """Task = (b, stripe): the sums of g[b, :, c]^2 over the rows in order, for
    the stripe's columns c, into work's column sums (b C + c)."""
    n_stripes = (cols + STRIPE - 1) // STRIPE
    b, k = task // n_stripes, task % n_stripes
    c0, c1 = k * STRIPE, min(cols, (k + 1) * STRIPE)
    base = WORK_BASE + nbatch + b * cols
    acc = work[base + c0:base + c1]   # views: indices from 0 (see sum_squares_range)
    for c in range(c1 - c0):
        acc[c] = 0.0
    for r in range(rows):
        start = (b * rows + r) * cols
        gr = g[start + c0:start + c1]
        for c in range(c1 - c0):
            acc[c] += gr[c] * gr[c]


@njit(**SERIAL)
def _col_factor(col_var, work, p, nbatch, rows, w):
    """col_var[p] (p = b C + c) <- lerp(col_var[p], |g[b, :, c]|^2 / R, w)."""
    q = math.sqrt(work[WORK_BASE + nbatch + p])
    col_var[p] = lerp(col_var[p], q * q / rows, w)


@njit(**SERIAL)
def _row_mean(row_var, work, b, rows, eps1):
    """work[WORK_BASE + b] <- max(mean of row_var[b, :], eps1)."""
    s = 0.0
    for r in range(b * rows, (b + 1) * rows):
        s += row_var[r]
    work[WORK_BASE + b] = max(s / rows, eps1)


@njit(**SERIAL)
def _inverse_columns(col_var, work, nbatch):
    """work's column sums (consumed by _col_factor) <- 1 / col_var."""
    base = WORK_BASE + nbatch
    for p in range(col_var.size):
        work[base + p] = 1.0 / col_var[p]


@njit(**SERIAL)
def _factored_row_squares(g, row_var, work, q, nbatch, rows, cols, eps1, sign, out):
    """out[c] <- the square of the update's entry (row q = b R + r, column c),
    as g^2 min(mean / row * (1 / col), 1 / eps1^2): 1 / max(row col / mean,
    eps1^2) as products (the columns' reciprocals are in work), a loop LLVM
    vectorises; the last bits of a square differ from (the apply pass's u)^2,
    those of the norm (which only clips the step) from torch's."""
    b = q // rows
    a = work[WORK_BASE + b] / row_var[q]
    cap = 1.0 / (eps1 * eps1)
    base = WORK_BASE + nbatch + b * cols
    inv_col = work[base:base + cols]   # views: indices from 0 (see sum_squares_range)
    gr = g[q * cols:(q + 1) * cols]
    for c in range(cols):
        d = sign * gr[c]
        out[c] = (d * d) * min(a * inv_col[c], cap)


@njit(**SERIAL)
def _factored_block(g, row_var, work, k, lo, hi, nbatch, rows, cols, eps1, sign):
    """The sum of the update's squares over the rows [lo, hi): each row's in
    reductions.sum_range's order (block k's row of work holds the row), the
    rows in order."""
    base = WORK_BASE + nbatch + nbatch * cols + k * cols
    out = work[base:base + cols]
    s = 0.0
    for q in range(lo, hi):
        _factored_row_squares(g, row_var, work, q, nbatch, rows, cols, eps1, sign, out)
        s += sum_range(out, 0, cols)
    return s


@njit(**SERIAL)
def _apply_vector(x, g, variance, lo, hi, decay, scale, eps1, sign):
    bad = 0
    for i in range(lo, hi):
        d = sign * g[i]
        u = _inv_rms(variance[i], eps1) * d
        x_i = x[i]
        if decay != 1.0:
            x_i = x_i * decay
        x_i = x_i + scale * u
        x[i] = x_i
        bad += any_nonfinite(x_i, variance[i])
    return bad


@njit(**SERIAL)
def _apply_rows(x, g, row_var, col_var, work, lo, hi, rows, cols, decay, scale, eps1, sign):
    bad = 0
    for q in range(lo, hi):
        bad += any_nonfinite(row_var[q])
        b = q // rows
        rq = row_var[q]
        mean = work[WORK_BASE + b]
        cv = col_var[b * cols:(b + 1) * cols]   # views: see sum_squares_range
        gr = g[q * cols:(q + 1) * cols]
        xr = x[q * cols:(q + 1) * cols]
        for c in range(cols):
            u = _inv_rms((rq * cv[c]) / mean, eps1) * (sign * gr[c])
            x_i = xr[c]
            if decay != 1.0:
                x_i = x_i * decay
            x_i = x_i + scale * u
            xr[c] = x_i
            bad += any_nonfinite(x_i)
    return bad


@njit(**SERIAL)
def _scales(t, lr, n, x_sq, u_sq, eps2, d, weight_decay):
    """(decay, scale): x <- x decay + scale u, from the two sums of squares."""
    tf = float(t)
    rho = min(lr, 1.0 / (tf ** 0.5))
    root_n = float(n) ** 0.5
    alpha = max(eps2, math.sqrt(x_sq) / root_n) * rho
    denom = max(1.0, math.sqrt(u_sq) / (root_n * d))
    decay = 1.0 - lr * weight_decay if weight_decay != 0.0 else 1.0
    return decay, -alpha / denom


@njit(**SERIAL)
def adafactor_step(x, g, state, t, lr, hyper):
    """Adafactor, torch.optim.Adafactor's single-tensor form.

    With d = ±g, w = t^beta2_decay, rho = min(lr, 1 / sqrt(t)) and
    alpha = max(eps2, ||x|| / sqrt(n)) rho (||x||, the 2-norm, before this step)::

        vector:   v <- lerp(v, d^2, w) ;  V = v
        factored: row <- lerp(row, mean_c d^2, w) ;  col <- lerp(col, mean_r d^2, w)
                  V[b, r, c] = row[b, r] col[b, c] / max(mean_r row[b, r], eps1)
        u = d / sqrt(max(V, eps1^2))
        x <- x (1 - lr weight_decay) - alpha / max(1, ||u|| / (sqrt(n) d_clip)) u

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters (the flat view of a (B, R, C) array when factored),
        updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(row_var, col_var, variance, work)``, shapes in the module docstring
        (the factors start at 0).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate (torch: 1e-2); it caps rho.
    hyper : tuple of float
        ``(beta2_decay, eps1, eps2, d, weight_decay, maximize, batch, rows, cols)``:
        beta2_decay <= 0 (torch: -0.8); eps1 >= 0, the floor of V (torch's eps[0];
        None there is float64's machine epsilon); eps2 >= 0, the floor of x's RMS
        (1e-3); d >= 1, the clipping threshold of the update's RMS (1.0);
        weight_decay >= 0, decoupled (0.0); maximize in {0.0, 1.0}; batch, rows,
        cols: B, R, C of the factored shape, batch 0 for a vector.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        factors (a row factor counts once).
    """
    beta2_decay, eps1, eps2, d, weight_decay, maximize, batch, rows_f, cols_f = hyper
    row_var, col_var, variance, work = state
    n = x.size
    if n == 0:
        return 0
    sign = direction_sign(maximize)
    w = float(t) ** beta2_decay
    nb = blocks(n)
    x_sq = 0.0
    for k in range(nb):
        lo, hi = block_bounds(n, nb, k)
        x_sq += sum_squares_range(x, lo, hi, 1.0)
    u_sq = 0.0
    nbatch = int(batch)
    if nbatch == 0:
        for k in range(nb):
            lo, hi = block_bounds(n, nb, k)
            u_sq += _vector_block(g, variance, lo, hi, w, eps1, sign)
        decay, scale = _scales(t, lr, n, x_sq, u_sq, eps2, d, weight_decay)
        return _apply_vector(x, g, variance, 0, n, decay, scale, eps1, sign)
    rows, cols = int(rows_f), int(cols_f)
    n_rows = nbatch * rows
    for q in range(n_rows):
        _row_factor(g, row_var, q, cols, w)
    for task in range(nbatch * ((cols + STRIPE - 1) // STRIPE)):
        _column_sums(g, work, task, nbatch, rows, cols)
    for p in range(nbatch * cols):
        _col_factor(col_var, work, p, nbatch, rows, w)
    for b in range(nbatch):
        _row_mean(row_var, work, b, rows, eps1)
    _inverse_columns(col_var, work, nbatch)
    nr = min(nb, n_rows)
    for k in range(nr):
        lo, hi = block_bounds(n_rows, nr, k)
        u_sq += _factored_block(g, row_var, work, k, lo, hi, nbatch, rows, cols, eps1, sign)
    decay, scale = _scales(t, lr, n, x_sq, u_sq, eps2, d, weight_decay)
    bad = _apply_rows(x, g, row_var, col_var, work, 0, n_rows, rows, cols, decay, scale, eps1,
                      sign)
    for p in range(nbatch * cols):
        bad += any_nonfinite(col_var[p])
    return bad


@njit(**PARALLEL)
def adafactor_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adafactor_step`; bitwise the same result.

    The block sums go to ``work`` and are added in block order; each row and
    column factor is one thread's loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adafactor_step`.

    Returns
    -------
    bad : int
        As `adafactor_step`'s.
    """
    beta2_decay, eps1, eps2, d, weight_decay, maximize, batch, rows_f, cols_f = hyper
    row_var, col_var, variance, work = state
    n = x.size
    if n == 0:
        return 0
    sign = direction_sign(maximize)
    w = float(t) ** beta2_decay
    nb = blocks(n)
    for k in prange(nb):
        lo, hi = block_bounds(n, nb, k)
        work[k] = sum_squares_range(x, lo, hi, 1.0)
    x_sq = 0.0
    for k in range(nb):
        x_sq += work[k]
    u_sq = 0.0
    nbatch = int(batch)
    bad = 0
    if nbatch == 0:
        for k in prange(nb):
            lo, hi = block_bounds(n, nb, k)
            work[N_BLOCKS + k] = _vector_block(g, variance, lo, hi, w, eps1, sign)
        for k in range(nb):
            u_sq += work[N_BLOCKS + k]
        decay, scale = _scales(t, lr, n, x_sq, u_sq, eps2, d, weight_decay)
        for k in prange(nb):
            lo, hi = block_bounds(n, nb, k)
            bad += _apply_vector(x, g, variance, lo, hi, decay, scale, eps1, sign)
        return bad
    rows, cols = int(rows_f), int(cols_f)
    n_rows = nbatch * rows
    for q in prange(n_rows):
        _row_factor(g, row_var, q, cols, w)
    for task in prange(nbatch * ((cols + STRIPE - 1) // STRIPE)):
        _column_sums(g, work, task, nbatch, rows, cols)
    for p in prange(nbatch * cols):
        _col_factor(col_var, work, p, nbatch, rows, w)
    for b in prange(nbatch):
        _row_mean(row_var, work, b, rows, eps1)
    _inverse_columns(col_var, work, nbatch)
    nr = min(nb, n_rows)
    for k in prange(nr):
        lo, hi = block_bounds(n_rows, nr, k)
        work[N_BLOCKS + k] = _factored_block(g, row_var, work, k, lo, hi, nbatch, rows, cols,
                                             eps1, sign)
    for k in range(nr):
        u_sq += work[N_BLOCKS + k]
    decay, scale = _scales(t, lr, n, x_sq, u_sq, eps2, d, weight_decay)
    for k in prange(nr):
        lo, hi = block_bounds(n_rows, nr, k)
        bad += _apply_rows(x, g, row_var, col_var, work, lo, hi, rows, cols, decay, scale, eps1,
                           sign)
    for p in prange(nbatch * cols):
        bad += any_nonfinite(col_var[p])
    return bad
