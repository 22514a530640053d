"""Norms the convergence checks need, computed without temporaries.

A NaN anywhere makes the result NaN and an inf (without NaN) makes it inf,
so one pass gives both the norm and whether the array is finite. The
parallel variants split the array into a fixed number of blocks and combine
the block results serially: the result does not depend on the thread count
(a maximum is exact in any order anyway).
"""
import numpy as np
from numba import njit, prange

from .jit import PARALLEL, SERIAL

N_BLOCKS = 64


@njit(**SERIAL)
def _block_bounds(n, n_blocks, b):
    return b * n // n_blocks, (b + 1) * n // n_blocks


@njit(**SERIAL)
def _max8(a, b, lo, hi, diff):
    """max |a_i - b_i| (diff) or max |a_i| over lo..hi, NaN if any is NaN.

    Eight independent lanes, each a compare-and-select and a NaN count, so
    that the loop vectorises without fastmath; max is exact in any order.
    """
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = 0.0
    nan = 0.0
    stop = hi - (hi - lo) % 8
    for i in range(lo, stop, 8):
        v0 = abs(a[i] - b[i]) if diff else abs(a[i])
        v1 = abs(a[i + 1] - b[i + 1]) if diff else abs(a[i + 1])
        v2 = abs(a[i + 2] - b[i + 2]) if diff else abs(a[i + 2])
        v3 = abs(a[i + 3] - b[i + 3]) if diff else abs(a[i + 3])
        v4 = abs(a[i + 4] - b[i + 4]) if diff else abs(a[i + 4])
        v5 = abs(a[i + 5] - b[i + 5]) if diff else abs(a[i + 5])
        v6 = abs(a[i + 6] - b[i + 6]) if diff else abs(a[i + 6])
        v7 = abs(a[i + 7] - b[i + 7]) if diff else abs(a[i + 7])
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
        m4 = v4 if v4 > m4 else m4
        m5 = v5 if v5 > m5 else m5
        m6 = v6 if v6 > m6 else m6
        m7 = v7 if v7 > m7 else m7
        nan += ((v0 != v0) + (v1 != v1) + (v2 != v2) + (v3 != v3)
                + (v4 != v4) + (v5 != v5) + (v6 != v6) + (v7 != v7))
    for i in range(stop, hi):
        v = abs(a[i] - b[i]) if diff else abs(a[i])
        m0 = v if v > m0 else m0
        nan += v != v
    m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    return np.nan if nan > 0 else m


@njit(**SERIAL)
def _max_abs_range(a, lo, hi):
    return _max8(a, a, lo, hi, False)


@njit(**SERIAL)
def _max_abs_diff_range(a, b, lo, hi):
    return _max8(a, b, lo, hi, True)


@njit(**SERIAL)
def max_abs(a):
    """max_i |a_i| (0 for an empty array; NaN if any a_i is NaN). a: float64[::1]."""
    return _max_abs_range(a, 0, a.size)


@njit(**PARALLEL)
def max_abs_parallel(a):
    """:func:`max_abs` over numba's threads; the same result."""
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = _block_bounds(a.size, N_BLOCKS, k)
        part[k] = _max_abs_range(a, lo, hi)
    return _max_abs_range(part, 0, N_BLOCKS)


@njit(**SERIAL)
def max_abs_diff(a, b):
    """max_i |a_i - b_i| (NaN if any difference is NaN). a, b: float64[::1], same length."""
    return _max_abs_diff_range(a, b, 0, a.size)


@njit(**PARALLEL)
def max_abs_diff_parallel(a, b):
    """:func:`max_abs_diff` over numba's threads; the same result."""
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = _block_bounds(a.size, N_BLOCKS, k)
        part[k] = _max_abs_diff_range(a, b, lo, hi)
    return _max_abs_range(part, 0, N_BLOCKS)


@njit(**SERIAL)
def _sum_squared_difference_range(a, b, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        d = a[i] - b[i]
        s += d * d
    return s


@njit(**SERIAL)
def mean_squared_difference(a, b):
    """mean((a - b)^2) summed in N_BLOCKS fixed blocks, then over blocks in
    order (nan for empty arrays). a, b: float64[::1] of one length."""
    total = 0.0
    for k in range(N_BLOCKS):
        lo, hi = _block_bounds(a.size, N_BLOCKS, k)
        total += _sum_squared_difference_range(a, b, lo, hi)
    return total / a.size


@njit(**PARALLEL)
def mean_squared_difference_parallel(a, b):
    """:func:`mean_squared_difference` over numba's threads; the same bits."""
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = _block_bounds(a.size, N_BLOCKS, k)
        part[k] = _sum_squared_difference_range(a, b, lo, hi)
    total = 0.0
    for k in range(N_BLOCKS):
        total += part[k]
    return total / a.size
