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
def _fold(m, nan, v):
    """One step of a NaN-aware running maximum of v >= 0 (or NaN)."""
    if v > m:
        return v, nan
    return m, nan or v != v


@njit(**SERIAL)
def _result(m, nan):
    return np.nan if nan else m


@njit(**SERIAL)
def _max_abs_range(a, lo, hi):
    m, nan = 0.0, False
    for i in range(lo, hi):
        m, nan = _fold(m, nan, abs(a[i]))
    return _result(m, nan)


@njit(**SERIAL)
def _max_abs_diff_range(a, b, lo, hi):
    m, nan = 0.0, False
    for i in range(lo, hi):
        m, nan = _fold(m, nan, abs(a[i] - b[i]))
    return _result(m, nan)


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
