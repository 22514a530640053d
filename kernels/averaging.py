"""Averaged parameters: torch.optim.swa_utils.AveragedModel's running averages.

AveragedModel's first update copies the parameters x into the average a
(n_averaged = 0); each later update is, element by element, in place:

SWA, equal weights (AveragedModel's default on the CPU, get_swa_avg_fn),
`swa_average`::

    a_i = a_i + (x_i - a_i) / (n_averaged + 1)

EMA (get_ema_multi_avg_fn(decay): ``torch._foreach_lerp_`` with w = 1 - decay;
get_swa_multi_avg_fn is the same with w = `swa_weight` = 1 / (n_averaged + 1)),
`lerp_average`::

    a_i = fma(w, x_i - a_i, a_i)           if |w| < 0.5
    a_i = fma(w - 1, x_i - a_i, x_i)       otherwise

torch's vectorised lerp: ``fma(p, q, r) = p q + r`` rounded once (a fused
multiply-add), the form that is exact at w = 1. n_averaged counts the
updates. One update reads x and reads and writes a (24 n bytes). The serial
and parallel kernels give the same bits (element-wise; the count of NaN or
inf they return is an integer sum).
"""
from fractions import Fraction

from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite


def fma(p, q, r):
    """``p q + r`` rounded once (what runs with NUMBA_DISABLE_JIT=1: exact rationals).

    Parameters
    ----------
    p, q, r : float

    Returns
    -------
    float
    """
    p, q, r = float(p), float(q), float(r)
    if not all(v - v == 0.0 for v in (p, q, r)):     # NaN or inf: IEEE's answer
        return p * q + r
    return float(Fraction(p) * Fraction(q) + Fraction(r))


@intrinsic
def _fma(typingctx, p, q, r):
    if not (p == q == r == types.float64):
        return None

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        f = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(f, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@overload(fma)
def _fma_overload(p, q, r):
    if all(isinstance(v, types.Float) for v in (p, q, r)):
        return lambda p, q, r: _fma(p, q, r)


@njit(**SERIAL, inline="always")
def swa_weight(n_averaged):
    """SWA's weight ``1 / (n_averaged + 1)`` for `lerp_average` (get_swa_multi_avg_fn).

    Parameters
    ----------
    n_averaged : int
        The number of models averaged so far (>= 1).

    Returns
    -------
    float
    """
    return 1.0 / (n_averaged + 1)


@njit(**SERIAL)
def swa_average(average, x, n_averaged):
    """``average_i += (x_i - average_i) / (n_averaged + 1)`` in place (SWA).

    Parameters
    ----------
    average : float64[::1]
        Shape (n,), the mean of n_averaged arrays, updated in place to the
        mean of n_averaged + 1.
    x : float64[::1]
        Shape (n,), the current parameters, only read.
    n_averaged : int
        The number of arrays averaged so far (>= 1).

    Returns
    -------
    int
        The number of entries of average that are NaN or inf afterwards.
    """
    m = float(n_averaged + 1)
    bad = 0
    for i in range(average.size):
        a = average[i]
        v = a + (x[i] - a) / m
        average[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**PARALLEL)
def swa_average_parallel(average, x, n_averaged):
    """`swa_average` over numba's threads: the same bits and count.

    Parameters
    ----------
    average : float64[::1]
        Shape (n,), updated in place.
    x : float64[::1]
        Shape (n,), only read.
    n_averaged : int
        >= 1.

    Returns
    -------
    int
    """
    m = float(n_averaged + 1)
    bad = 0
    for i in prange(average.size):
        a = average[i]
        v = a + (x[i] - a) / m
        average[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**SERIAL, inline="always")
def _lerp(a, x, w, small):
    return fma(w, x - a, a) if small else fma(w - 1.0, x - a, x)


@njit(**SERIAL)
def lerp_average(average, x, w):
    """``average_i = lerp(average_i, x_i, w)`` in place (EMA: w = 1 - decay).

    torch's lerp as the module docstring states it, with a fused
    multiply-add.

    Parameters
    ----------
    average : float64[::1]
        Shape (n,), the average, updated in place.
    x : float64[::1]
        Shape (n,), the current parameters, only read.
    w : float
        The weight of x: ``1 - decay`` (EMA) or `swa_weight` (SWA as
        get_swa_multi_avg_fn).

    Returns
    -------
    int
        The number of entries of average that are NaN or inf afterwards.
    """
    small = abs(w) < 0.5
    bad = 0
    for i in range(average.size):
        v = _lerp(average[i], x[i], w, small)
        average[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**PARALLEL)
def lerp_average_parallel(average, x, w):
    """`lerp_average` over numba's threads: the same bits and count.

    Parameters
    ----------
    average : float64[::1]
        Shape (n,), updated in place.
    x : float64[::1]
        Shape (n,), only read.
    w : float
        The weight of x.

    Returns
    -------
    int
    """
    small = abs(w) < 0.5
    bad = 0
    for i in prange(average.size):
        v = _lerp(average[i], x[i], w, small)
        average[i] = v
        bad += any_nonfinite(v)
    return bad
