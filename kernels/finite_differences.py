"""Central-difference gradients of compiled objectives.

    g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)

``fun`` is a user's @njit function ``fun(x, *args) -> float``, or a
FunctionRef to one (gdfast.kernels.function_refs): with a ref the kernels
compiled for it are cached on disk, with a dispatcher they are compiled
once per process (see gdfast.kernels.jit).
"""
from numba import prange

from .jit import PARALLEL, SERIAL, njit

N_BLOCKS = 64


@njit(**SERIAL)
def _differences_range(fun, x, h, g, args, work, lo, hi):
    for i in range(lo, hi):
        xi = x[i]
        work[i] = xi + h[i]
        f_plus = fun(work, *args)
        work[i] = xi - h[i]
        f_minus = fun(work, *args)
        work[i] = xi
        g[i] = (f_plus - f_minus) / (2.0 * h[i])


@njit(**SERIAL)
def central_differences(fun, x, h, g, args):
    """g <- central differences of fun at x with steps h, serially.

    fun: @njit (x, *args) -> float; x, h, g: float64[::1] of length n, h > 0;
    args: a tuple. x is left unchanged; fun sees a copy of x.
    """
    _differences_range(fun, x, h, g, args, x.copy(), 0, x.size)


@njit(**PARALLEL)
def central_differences_parallel(fun, x, h, g, args):
    """:func:`central_differences` with the coordinates split over threads.

    Each of a fixed number of blocks of coordinates works on its own copy of
    x, so fun must be safe to call from several threads at once (pure
    functions of their arguments are). Same result as the serial kernel.
    """
    n = x.size
    n_blocks = min(n, N_BLOCKS)
    for k in prange(n_blocks):
        lo, hi = k * n // n_blocks, (k + 1) * n // n_blocks
        _differences_range(fun, x, h, g, args, x.copy(), lo, hi)
