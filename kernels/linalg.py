"""Dot products and fused vector updates of the quasi-Newton kernels.

A dot product is summed in fixed blocks of the vector and the block sums are
added in block order: the serial kernels run the blocks one after the other,
the parallel ones over numba's threads (each block's partial sum goes to a
workspace ``part = workspace()``, 2 N_BLOCKS float64), so both give the same bits for any
thread count. The number of blocks depends only on the length n::

    blocks(n) = min(N_BLOCKS, max(1, n // BLOCK))

so a short vector (a per-pixel fit with n = 3) is one block, summed as a
plain loop, and a long one is 64 blocks of at least BLOCK elements.

``fused(mode, d, src, c, x, y)`` is one pass over memory that updates d and
returns a dot product of the updated d (L-BFGS's two-loop recursion is a
chain of them, each reading d once)::

    mode SET_NEG:   d = -src        ; returns y . d
    mode AXPY:      d = d + c * x   ; returns y . d
    mode SCALE:     d = c * d       ; returns y . d

The serial functions are inlined where they are called (``inline="always"``):
at a per-pixel n a call's cost is its arrays' reference counting (an atomic
increment and decrement per array argument and per row view), which made a
two-loop recursion at n = 2 take 2 us instead of 0.27 us.
"""
import numpy as np
from numba import prange
from numba.extending import register_jitable

from .jit import PARALLEL, SERIAL, njit
from .reductions import N_BLOCKS, block_bounds, max_abs, max_abs_parallel

BLOCK = 4096                 # fewest elements of a block once n has two blocks
SET_NEG, AXPY, SCALE = 0, 1, 2


@njit(**SERIAL, inline="always")
def blocks(n):
    """The number of blocks a length-n dot product is summed in."""
    return max(1, min(N_BLOCKS, n // BLOCK))


@njit(**SERIAL, inline="always")
def _dot_range(a, b, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += a[i] * b[i]
    return s


@njit(**SERIAL, inline="always")
def _abs_sum_range(a, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += abs(a[i])
    return s


@njit(**SERIAL, inline="always")
def _fused_range(mode, d, src, c, x, y, lo, hi):
    s = 0.0
    if mode == SET_NEG:
        for i in range(lo, hi):
            d_i = -src[i]
            d[i] = d_i
            s += y[i] * d_i
    elif mode == AXPY:
        for i in range(lo, hi):
            d_i = d[i] + c * x[i]
            d[i] = d_i
            s += y[i] * d_i
    else:
        for i in range(lo, hi):
            d_i = c * d[i]
            d[i] = d_i
            s += y[i] * d_i
    return s


@njit(**SERIAL, inline="always")
def _pair_range(s, y, scale, d, g, g_prev, lo, hi):
    ys, yy = 0.0, 0.0
    for i in range(lo, hi):
        s_i = d[i] * scale
        y_i = g[i] - g_prev[i]
        s[i] = s_i
        y[i] = y_i
        ys += y_i * s_i
        yy += y_i * y_i
    return ys, yy


@njit(**SERIAL, inline="always")
def dot(a, b):
    """sum(a * b) in blocks(n) fixed blocks (module docstring). a, b: float64 (n,)."""
    nb = blocks(a.size)
    total = 0.0
    for k in range(nb):
        lo, hi = block_bounds(a.size, nb, k)
        total += _dot_range(a, b, lo, hi)
    return total


@njit(**SERIAL, inline="always")
def copy_1d(dst, src):
    """dst[i] = src[i] for two 1-D arrays of one size, by an explicit loop:
    numba compiles a slice assignment (``dst[:] = src``) with a formatted
    error message for a shape mismatch, about 2 s in each process that
    compiles a kernel holding one (kernels.tv_descent.copy_2d, the same)."""
    if dst.size != src.size:
        raise ValueError("copy_1d: the arrays' sizes differ")
    for i in range(dst.size):
        dst[i] = src[i]


@njit(**SERIAL, inline="always")
def point(x, x0, d, t):
    """x = x0 + t d (a trial point; kernels.stream.triad's arithmetic, inlined)."""
    for i in range(x.size):
        x[i] = x0[i] + t * d[i]


@njit(**SERIAL, inline="always")
def dot_pass(parallel, a, b, part):
    """dot(a, b), or dot_parallel where ``parallel``: the same bits (inlined)."""
    if parallel:
        return dot_parallel(a, b, part)
    return dot(a, b)


@njit(**SERIAL, inline="always")
def max_abs_pass(parallel, a):
    """max_abs(a), or max_abs_parallel where ``parallel``: the same bits (inlined)."""
    if parallel:
        return max_abs_parallel(a)
    return max_abs(a)


@njit(**PARALLEL)
def dot_parallel(a, b, part):
    """:func:`dot` over numba's threads, the same bits; part: ``workspace()``."""
    nb = blocks(a.size)
    for k in prange(nb):
        lo, hi = block_bounds(a.size, nb, k)
        part[k] = _dot_range(a, b, lo, hi)
    total = 0.0
    for k in range(nb):
        total += part[k]
    return total


@njit(**SERIAL, inline="always")
def abs_sum(a):
    """sum(|a_i|) in blocks(n) fixed blocks (module docstring)."""
    nb = blocks(a.size)
    total = 0.0
    for k in range(nb):
        lo, hi = block_bounds(a.size, nb, k)
        total += _abs_sum_range(a, lo, hi)
    return total


@njit(**PARALLEL)
def abs_sum_parallel(a, part):
    """:func:`abs_sum` over numba's threads, the same bits; part: ``workspace()``."""
    nb = blocks(a.size)
    for k in prange(nb):
        lo, hi = block_bounds(a.size, nb, k)
        part[k] = _abs_sum_range(a, lo, hi)
    total = 0.0
    for k in range(nb):
        total += part[k]
    return total


@njit(**SERIAL, inline="always")
def fused(mode, d, src, c, x, y):
    """One pass: update d by ``mode`` (module docstring) and return y . d of the new d."""
    nb = blocks(d.size)
    total = 0.0
    for k in range(nb):
        lo, hi = block_bounds(d.size, nb, k)
        total += _fused_range(mode, d, src, c, x, y, lo, hi)
    return total


@njit(**PARALLEL)
def fused_parallel(mode, d, src, c, x, y, part):
    """:func:`fused` over numba's threads, the same bits; part: ``workspace()``."""
    nb = blocks(d.size)
    for k in prange(nb):
        lo, hi = block_bounds(d.size, nb, k)
        part[k] = _fused_range(mode, d, src, c, x, y, lo, hi)
    total = 0.0
    for k in range(nb):
        total += part[k]
    return total


@njit(**SERIAL, inline="always")
def write_pair(s, y, scale, d, g, g_prev):
    """s = scale * d, y = g - g_prev in one pass; returns (y . s, y . y)."""
    nb = blocks(d.size)
    ys, yy = 0.0, 0.0
    for k in range(nb):
        lo, hi = block_bounds(d.size, nb, k)
        a, b = _pair_range(s, y, scale, d, g, g_prev, lo, hi)
        ys += a
        yy += b
    return ys, yy


@njit(**PARALLEL)
def write_pair_parallel(s, y, scale, d, g, g_prev, part):
    """:func:`write_pair` over numba's threads, the same bits; part: ``workspace()``."""
    nb = blocks(d.size)
    for k in prange(nb):
        lo, hi = block_bounds(d.size, nb, k)
        part[k], part[N_BLOCKS + k] = _pair_range(s, y, scale, d, g, g_prev, lo, hi)
    ys, yy = 0.0, 0.0
    for k in range(nb):
        ys += part[k]
        yy += part[N_BLOCKS + k]
    return ys, yy


@register_jitable
def workspace():
    """The ``part`` workspace of the parallel kernels: float64 (2 N_BLOCKS,).
    Plain Python from Python (numpy's allocation), compiled into the kernels
    that call it (numba.extending.register_jitable), as the other allocators."""
    return np.empty(2 * N_BLOCKS)
