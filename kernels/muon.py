"""Muon: momentum orthogonalised by Newton-Schulz, torch.optim.Muon.

The calling convention's signature for a 2-D parameter of shape (A, B) given
as its flat view: the matrix's row count rides in hyper (``rows`` = A) and
the state holds, beside the momentum buffer, the iteration's scratch::

    bad = muon_step(x, g, state, t, lr, hyper)
    state = (momentum_buffer, work)          # (n,), (work_size(A, B),)

The Newton-Schulz iteration works on the update U (A x B), transposed when
A > B so that it is m x k with m = min(A, B) <= k::

    X = U / max(||U||_F, eps)
    repeat ns_steps:  G = X X^T ;  H = b G + c G G ;  X = a X + H X

Each matrix product's entry is one dot product summed in index order by one
thread (the parallel kernel splits the rows), and the Frobenius norm is
summed in fixed blocks, so serial and parallel give the same bits.

torch rounds U to bfloat16 before the iteration and runs it in bfloat16;
this kernel runs it in float64 (see docs/optimizers.md).
"""
import math

from numba import prange

from ._elementwise import lerp
from .jit import PARALLEL, SERIAL, njit
from .linalg import blocks
from .nonfinite import any_nonfinite
from .reductions import N_BLOCKS, block_bounds


@njit(**SERIAL)
def work_size(rows, cols):
    """The length of Muon's ``work`` array for an (rows, cols) parameter."""
    m = min(rows, cols)
    return 2 * rows * cols + 2 * m * m + N_BLOCKS


@njit(**SERIAL)
def _momentum(i, g, buf, work, rows, cols, transpose, momentum, nesterov):
    """buf <- lerp(buf, g, 1 - momentum); the update entry into X (transposed if asked)."""
    b_i = lerp(buf[i], g[i], 1.0 - momentum)
    buf[i] = b_i
    u = lerp(g[i], b_i, momentum) if nesterov != 0.0 else b_i
    if transpose:
        r, c = i // cols, i % cols
        work[c * rows + r] = u
    else:
        work[i] = u


@njit(**SERIAL)
def _sum_squares(a, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += a[i] * a[i]
    return s


@njit(**SERIAL)
def _gram_row(w, xo, go, i, m, k):
    """Row i of G = X X^T (X: m x k at w[xo:], G: m x m at w[go:])."""
    for j in range(m):
        s = 0.0
        for p in range(k):
            s += w[xo + i * k + p] * w[xo + j * k + p]
        w[go + i * m + j] = s


@njit(**SERIAL)
def _poly_row(w, go, ho, i, m, b, c):
    """Row i of H = b G + c G G (G symmetric: (G G)[i, j] = G[i, :] . G[j, :])."""
    for j in range(m):
        s = 0.0
        for p in range(m):
            s += w[go + i * m + p] * w[go + j * m + p]
        w[ho + i * m + j] = c * s + b * w[go + i * m + j]


@njit(**SERIAL)
def _next_row(w, xo, ho, yo, i, m, k, a):
    """Row i of Y = a X + H X."""
    for j in range(k):
        w[yo + i * k + j] = 0.0
    for p in range(m):
        h = w[ho + i * m + p]
        for j in range(k):
            w[yo + i * k + j] += h * w[xo + p * k + j]
    for j in range(k):
        w[yo + i * k + j] = w[yo + i * k + j] + a * w[xo + i * k + j]


@njit(**SERIAL)
def _apply(i, x, buf, w, xo, rows, cols, transpose, decay, step):
    if transpose:
        r, c = i // cols, i % cols
        u = w[xo + c * rows + r]
    else:
        u = w[xo + i]
    x_i = x[i] * decay
    x_i = x_i + step * u
    x[i] = x_i
    return any_nonfinite(x_i, buf[i])


@njit(**SERIAL)
def muon_step(x, g, state, t, lr, hyper):
    """Muon, torch.optim.Muon's single-tensor form (Newton-Schulz in float64).

    For the (A, B) parameter x and its gradient g::

        buf <- lerp(buf, g, 1 - momentum)
        U = lerp(g, buf, momentum) if nesterov else buf
        O = newton_schulz(U)                     (module docstring)
        x <- x (1 - lr weight_decay) ;  x <- x - lr lr_ratio O

    Parameters
    ----------
    x : float64[::1], shape (A B,)
        The flat view of the (A, B) parameters, updated in place.
    g : float64[::1], shape (A B,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(momentum_buffer, work)``: the buffer, shape (A B,), starts at 0;
        work is scratch of ``work_size(A, B)`` entries.
    t : int
        The step number (not used).
    lr : float
        This step's learning rate (torch: 1e-3).
    hyper : tuple of float
        ``(momentum, nesterov, weight_decay, a, b, c, eps, ns_steps, rows, lr_ratio)``:
        momentum >= 0 (torch: 0.95); nesterov in {0.0, 1.0} (1); weight_decay
        >= 0, decoupled (0.1); (a, b, c) the quintic's coefficients (3.4445,
        -4.7750, 2.0315); eps > 0, the floor of ||U||_F (1e-7); ns_steps, a whole
        number (5); rows = A; lr_ratio the factor of the step's lr (torch's
        adjust_lr_fn: sqrt(max(1, A / B)) by default).

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or buf.
    """
    momentum, nesterov, weight_decay, a, b, c, eps, ns_steps, rows_f, lr_ratio = hyper
    buf, work = state
    n = x.size
    if n == 0:
        return 0
    rows = int(rows_f)
    cols = n // rows
    transpose = rows > cols
    m, k = min(rows, cols), max(rows, cols)
    xo, yo, go, ho = 0, n, 2 * n, 2 * n + m * m
    for i in range(n):
        _momentum(i, g, buf, work, rows, cols, transpose, momentum, nesterov)
    nb = blocks(n)
    s = 0.0
    for q in range(nb):
        lo, hi = block_bounds(n, nb, q)
        s += _sum_squares(work, lo, hi)
    norm = max(math.sqrt(s), eps)
    for i in range(n):
        work[i] = work[i] / norm
    for _ in range(int(ns_steps)):
        for i in range(m):
            _gram_row(work, xo, go, i, m, k)
        for i in range(m):
            _poly_row(work, go, ho, i, m, b, c)
        for i in range(m):
            _next_row(work, xo, ho, yo, i, m, k, a)
        xo, yo = yo, xo
    decay = 1.0 - lr * weight_decay
    step = -(lr * lr_ratio)
    bad = 0
    for i in range(n):
        bad += _apply(i, x, buf, work, xo, rows, cols, transpose, decay, step)
    return bad


@njit(**PARALLEL)
def muon_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `muon_step` (the rows of each product over numba's
    threads); bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `muon_step`.

    Returns
    -------
    bad : int
        As `muon_step`'s.
    """
    momentum, nesterov, weight_decay, a, b, c, eps, ns_steps, rows_f, lr_ratio = hyper
    buf, work = state
    n = x.size
    if n == 0:
        return 0
    rows = int(rows_f)
    cols = n // rows
    transpose = rows > cols
    m, k = min(rows, cols), max(rows, cols)
    xo, yo, go, ho, po = 0, n, 2 * n, 2 * n + m * m, 2 * n + 2 * m * m
    for i in prange(n):
        _momentum(i, g, buf, work, rows, cols, transpose, momentum, nesterov)
    nb = blocks(n)
    for q in prange(nb):
        lo, hi = block_bounds(n, nb, q)
        work[po + q] = _sum_squares(work, lo, hi)
    s = 0.0
    for q in range(nb):
        s += work[po + q]
    norm = max(math.sqrt(s), eps)
    for i in prange(n):
        work[i] = work[i] / norm
    for _ in range(int(ns_steps)):
        for i in prange(m):
            _gram_row(work, xo, go, i, m, k)
        for i in prange(m):
            _poly_row(work, go, ho, i, m, b, c)
        for i in prange(m):
            _next_row(work, xo, ho, yo, i, m, k, a)
        xo, yo = yo, xo
    decay = 1.0 - lr * weight_decay
    step = -(lr * lr_ratio)
    bad = 0
    for i in prange(n):
        bad += _apply(i, x, buf, work, xo, rows, cols, transpose, decay, step)
    return bad
