"""Checks the facade runs on user input. Each error names the argument and
says what was expected; nothing is modified before every check has passed."""
import math
import numbers

import numpy as np


def real(name, value):
    """value as a Python float; TypeError if it is not a real number (bools refused).

    A 0-d numpy array of integers or floats counts as its number (torch takes a
    0-d tensor as lr)."""
    if type(value) is float:                    # the common case, at once
        return value
    if (type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in "fiu"):
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} "
                        f"of type {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:                       # an int beyond the float range
        raise ValueError(f"{name} must be finite, got {value!r}") from None


def finite(name, value):
    v = real(name, value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def positive(name, value):
    """A finite float > 0."""
    v = finite(name, value)
    if v <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def non_negative(name, value):
    """A finite float >= 0."""
    v = finite(name, value)
    if v < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def non_negative_or_inf(name, value):
    """A float >= 0, +inf allowed (Rprop's lr, which torch clamps to step_max)."""
    v = real(name, value)
    if not v >= 0.0:
        raise ValueError(f"{name} must be >= 0 (inf allowed), got {value!r}")
    return v


def in_unit_interval(name, value, closed_right=False):
    """A float in [0, 1) (or [0, 1] with closed_right)."""
    v = finite(name, value)
    ok = 0.0 <= v <= 1.0 if closed_right else 0.0 <= v < 1.0
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if closed_right else ')'}, got {value!r}")
    return v


def boolean(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def flag(name, value):
    """An optimizer's on/off option: True or False, or the integers 1 and 0 (which
    torch.optim takes as well, e.g. amsgrad=1). Returns a bool."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise TypeError(f"{name} must be True or False (or 1 or 0), got {value!r}")


def whole_number(name, value, minimum):
    if type(value) is int and value >= minimum:     # the common case, at once
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


F8 = np.dtype(np.float64)


def kernel_array(name, a, n=None):
    """A 1-D C-contiguous native float64 array (of length n if given).

    Used on every call of Optimizer.step, so it is kept to a few attribute
    reads. Returns nothing; raises TypeError or ValueError.
    """
    if type(a) is not np.ndarray:
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype is not F8 and not (a.dtype == F8 and a.dtype.isnative):
        raise TypeError(f"{name} must have dtype float64 (native byte order), got {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (pass x.ravel() for a multi-dimensional "
                         f"problem), got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (np.ascontiguousarray makes a copy)")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (the length of x), got {a.shape[0]}")


def writable(name, a):
    if not a.flags.writeable:
        raise ValueError(f"{name} is read-only; the update writes into it in place")


def real_array(name, a):
    """a as a float64 ndarray (no copy when it already is one; a subclass
    becomes a plain ndarray view of it, as the kernels take no other type):
    real numbers, not empty, all finite. TypeError / ValueError naming
    ``name`` otherwise. Strings, bools and other objects are refused, never
    converted."""
    try:
        x = a if type(a) is np.ndarray else np.asarray(a)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, "
                        f"got {type(a).__name__}") from None
    if x.dtype.kind not in "fiu" and not (x.dtype.kind == "O" and all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in x.flat)):
        if x is a:
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
        raise TypeError(f"{name} must be an array of real numbers (integers or floats), "
                        f"got a {type(a).__name__} of {x.dtype.name} values")
    try:
        x = x.astype(np.float64, copy=False)
    except OverflowError:                       # an int beyond the float range
        raise ValueError(f"{name} must hold only finite numbers; an integer is beyond the "
                         "float64 range") from None
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    all_finite(name, x)
    return x


def all_finite(name, a):
    if not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(np.ravel(a)))
        raise ValueError(f"{name} must hold only finite numbers; {bad.size} entries are "
                         f"NaN or inf (first at flat index {bad[0]})")
