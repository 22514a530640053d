"""Users' functions called from BORROWING kernels (kernels.jit).

numba compiles a function with its caller's reference-counting setting
unless the function sets its own, so a user's objective called straight
from a borrowing kernel would compile without counts, and one that
allocates (``np.exp(x)`` makes an array) would not compile at all. The
borrowing kernels call users' functions through these instead: compiled
with counts (``_nrt=True``), so the user's function compiles as it does
anywhere else, at the cost of a count and a release per array passed; plain
Python calls from Python (the kernels' bodies run as Python for a Python
objective).
"""
from numba.extending import register_jitable

from .jit import SERIAL

# SERIAL's options (counted) but the disk cache: these compile into their caller
_COUNTED = {key: value for key, value in SERIAL.items() if key != "cache"}


@register_jitable(**_COUNTED)
def call_2(fun, a, b, args):
    """fun(a, b, *args)."""
    return fun(a, b, *args)


@register_jitable(**_COUNTED)
def call_3(fun, a, b, c, args):
    """fun(a, b, c, *args)."""
    return fun(a, b, c, *args)
