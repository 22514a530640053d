"""The STREAM triad, the bandwidth yardstick the benchmarks report against.

a[i] = b[i] + scalar * c[i]; STREAM counts 24 bytes per element (two reads,
one write). Reference: McCalpin, "Memory Bandwidth and Machine Balance in
Current High Performance Computers" (1995).
"""
from numba import prange

from .jit import PARALLEL, SERIAL, njit


@njit(**SERIAL)
def triad(a, b, c, scalar):
    """``a <- b + scalar * c``, serially.

    Parameters
    ----------
    a : float64[::1]
        Overwritten.
    b, c : float64[::1]
        Of a's shape, only read.
    scalar : float

    Returns
    -------
    None
    """
    for i in range(a.size):
        a[i] = b[i] + scalar * c[i]


@njit(**PARALLEL)
def triad_parallel(a, b, c, scalar):
    """``a <- b + scalar * c``, over numba's threads.

    Parameters
    ----------
    a : float64[::1]
        Overwritten.
    b, c : float64[::1]
        Of a's shape, only read.
    scalar : float

    Returns
    -------
    None
    """
    for i in prange(a.size):
        a[i] = b[i] + scalar * c[i]
