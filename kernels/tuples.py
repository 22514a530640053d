"""Tuple helpers for compiled code: the rows of a tuple of arrays."""
from numba.extending import overload


def rows(arrays, i):
    """(arrays[0][i], arrays[1][i], ...), in compiled and in plain Python code.

    arrays: a tuple of arrays whose first axis has length > i (any dtypes and
    dimensions); i: int. Built at compile time for the tuple's length, so the
    same call serves any number of arrays.
    """
    return tuple(a[i] for a in arrays)     # what runs with NUMBA_DISABLE_JIT=1


@overload(rows)
def _rows(arrays, i):
    if len(arrays) == 0:
        return lambda arrays, i: ()

    def impl(arrays, i):
        return (arrays[0][i],) + rows(arrays[1:], i)
    return impl
