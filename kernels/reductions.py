"""Norms the convergence checks need, computed without temporaries.

A NaN anywhere makes the result NaN and an inf (without NaN) makes it inf,
so one pass gives both the norm and whether the array is finite. The
parallel variants split the array into a fixed number of blocks and combine
the block results serially: the result does not depend on the thread count
(a maximum is exact in any order anyway).

Sums of squares (`sum_squares_range`, the norms of the layer-wise rules)
are summed within a block in `LANES` interleaved partial sums, in a fixed
order that depends only on the block's bounds: independent add chains that
the CPU overlaps, where one chain waits for each add in turn (a pass over
one array ran at ~30 GB/s on two cores with one chain, ~45-48 GB/s with
four, the read bandwidth).
"""
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

from .jit import PARALLEL, SERIAL, njit

N_BLOCKS = 64
LANES = 4   # the partial sums of sum_squares_range


@njit(**SERIAL)
def block_bounds(n, n_blocks, b):
    """(lo, hi) of block b of n_blocks nearly equal blocks of range(n)."""
    return b * n // n_blocks, (b + 1) * n // n_blocks


def float_bits(x):
    """The IEEE 754 bits of the float64 x as an int64 (a bit cast, no conversion)."""
    return np.float64(x).view(np.int64)      # what runs with NUMBA_DISABLE_JIT=1


def bits_float(i):
    """The float64 whose IEEE 754 bits are the int64 i (inverse of float_bits)."""
    return np.int64(i).view(np.float64)


@intrinsic
def _bitcast_to_int(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bitcast_to_float(typingctx, i):
    if i != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@overload(float_bits)
def _float_bits(x):
    if isinstance(x, types.Float):
        return lambda x: _bitcast_to_int(x)


@overload(bits_float)
def _bits_float(i):
    if isinstance(i, types.Integer):
        return lambda i: _bitcast_to_float(i)


_ABS = np.int64(0x7FFF_FFFF_FFFF_FFFF)   # every bit but the sign


@njit(**SERIAL)
def _max8(a, b, lo, hi, diff):
    """max |a_i - b_i| (diff) or max |a_i| over lo..hi; NaN if any is NaN,
    else inf if any is inf.

    Computed on the bits: with the sign bit cleared, the int64 order of the
    bits is the order of the magnitudes, with inf above every finite number
    and every NaN above inf. An integer maximum vectorises without fastmath
    (a float one does not: measured 0.1 instead of 0.5-0.7 ns per element).
    """
    m = np.int64(0)
    for i in range(lo, hi):
        v = float_bits(a[i] - b[i] if diff else a[i]) & _ABS
        m = v if v > m else m
    return bits_float(m)


@njit(**SERIAL)
def _max_abs_range(a, lo, hi):
    return _max8(a, a, lo, hi, False)


@njit(**SERIAL)
def _max_abs_diff_range(a, b, lo, hi):
    return _max8(a, b, lo, hi, True)


@njit(**SERIAL)
def max_abs(a):
    """``max_i |a_i|`` (0 for an empty array; NaN if any a_i is NaN).

    Parameters
    ----------
    a : float64[::1]

    Returns
    -------
    float
    """
    return _max_abs_range(a, 0, a.size)


@njit(**PARALLEL)
def max_abs_parallel(a):
    """`max_abs` over numba's threads; the same result.

    Parameters
    ----------
    a : float64[::1]

    Returns
    -------
    float
    """
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = block_bounds(a.size, N_BLOCKS, k)
        part[k] = _max_abs_range(a, lo, hi)
    return _max_abs_range(part, 0, N_BLOCKS)


@njit(**SERIAL)
def max_abs_diff(a, b):
    """``max_i |a_i - b_i|`` (NaN if any difference is NaN).

    Parameters
    ----------
    a, b : float64[::1]
        Of the same length.

    Returns
    -------
    float
    """
    return _max_abs_diff_range(a, b, 0, a.size)


@njit(**PARALLEL)
def max_abs_diff_parallel(a, b):
    """`max_abs_diff` over numba's threads; the same result.

    Parameters
    ----------
    a, b : float64[::1]
        Of the same length.

    Returns
    -------
    float
    """
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = block_bounds(a.size, N_BLOCKS, k)
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
    """``mean((a - b)^2)``, summed in fixed blocks.

    Summed in N_BLOCKS fixed blocks, then over blocks in order: the same bits
    for any thread count.

    Parameters
    ----------
    a, b : float64[::1]
        Of one length.

    Returns
    -------
    float
        nan for empty arrays.
    """
    total = 0.0
    for k in range(N_BLOCKS):
        lo, hi = block_bounds(a.size, N_BLOCKS, k)
        total += _sum_squared_difference_range(a, b, lo, hi)
    return total / a.size


@njit(**PARALLEL)
def mean_squared_difference_parallel(a, b):
    """`mean_squared_difference` over numba's threads; the same bits.

    Parameters
    ----------
    a, b : float64[::1]
        Of one length.

    Returns
    -------
    float
    """
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = block_bounds(a.size, N_BLOCKS, k)
        part[k] = _sum_squared_difference_range(a, b, lo, hi)
    total = 0.0
    for k in range(N_BLOCKS):
        total += part[k]
    return total / a.size


@njit(**SERIAL)
def sum_squares_range(a, lo, hi, scale):
    """``sum_{i=lo}^{hi-1} (scale a_i)^2`` in a fixed order of `LANES` partial sums.

    With m = (hi - lo) // 4 and u_i = scale a_i: lane j (j = 0..3) adds
    u_{lo+j}^2, u_{lo+j+4}^2, ..., u_{lo+j+4(m-1)}^2 in that order from 0; the
    hi - lo - 4m terms left add, in order, into a fifth sum r; the result is
    ((s_0 + s_1) + (s_2 + s_3)) + r. The order depends on lo and hi only, so
    a block's sum is the same in the serial and the parallel kernels and for
    any thread count. A NaN term makes it NaN, an inf one (without NaN) inf.

    Parameters
    ----------
    a : float64[::1]
    lo, hi : int
        0 <= lo <= hi <= a.size.
    scale : float
        Multiplies every entry before it is squared (1.0: the plain sum of squares).

    Returns
    -------
    float
    """
    # indices from 0 into a view: with lo + 4c, numba's wrap-around of a
    # possibly negative index hides the four independent loads from LLVM
    # (measured: 9 GB/s instead of 45)
    b = a[lo:hi]
    m = b.size // LANES
    s0 = s1 = s2 = s3 = 0.0
    for c in range(m):
        i = LANES * c
        u0 = b[i] * scale
        u1 = b[i + 1] * scale
        u2 = b[i + 2] * scale
        u3 = b[i + 3] * scale
        s0 += u0 * u0
        s1 += u1 * u1
        s2 += u2 * u2
        s3 += u3 * u3
    r = 0.0
    for i in range(LANES * m, b.size):
        u = b[i] * scale
        r += u * u
    return ((s0 + s1) + (s2 + s3)) + r


@njit(**SERIAL)
def sum_range(a, lo, hi):
    """``sum_{i=lo}^{hi-1} a_i`` in `sum_squares_range`'s fixed order (four
    interleaved partial sums, the rest in order, then ((s_0 + s_1) + (s_2 +
    s_3)) + r).

    Parameters
    ----------
    a : float64[::1]
    lo, hi : int
        0 <= lo <= hi <= a.size.

    Returns
    -------
    float
    """
    b = a[lo:hi]   # indices from 0: see sum_squares_range
    m = b.size // LANES
    s0 = s1 = s2 = s3 = 0.0
    for c in range(m):
        i = LANES * c
        s0 += b[i]
        s1 += b[i + 1]
        s2 += b[i + 2]
        s3 += b[i + 3]
    r = 0.0
    for i in range(LANES * m, b.size):
        r += b[i]
    return ((s0 + s1) + (s2 + s3)) + r


@njit(**SERIAL)
def _difference_dot_range(a, b, c, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += (a[i] - b[i]) * c[i]
    return s


@njit(**PARALLEL)
def difference_dot_parallel(a, b, c):
    """sum((a - b) * c) summed in N_BLOCKS fixed blocks over numba's threads,
    then over blocks in order: the same bits for any thread count. a, b, c:
    float64[::1] of one length."""
    part = np.empty(N_BLOCKS)
    for k in prange(N_BLOCKS):
        lo, hi = block_bounds(a.size, N_BLOCKS, k)
        part[k] = _difference_dot_range(a, b, c, lo, hi)
    total = 0.0
    for k in range(N_BLOCKS):
        total += part[k]
    return total
