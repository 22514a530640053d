"""``torch.nn.utils.clip_grad_norm_``, get_total_norm and ``clip_grad_value_`` over
numpy arrays (kernels: gdfast.kernels.clipping)."""
import math
from collections.abc import Sequence

import numpy as np

from .. import _validation as check
from ..kernels import clipping as kernels
from ..kernels.linalg import workspace
from ..optimizers import flat_view

# Below this length the serial kernels (a norm, a scale: bandwidth-bound
# passes, like plain SGD) are faster than waking numba's threads
CLIP_PARALLEL_MIN_SIZE = 32_768

Gradients = np.ndarray | Sequence[np.ndarray]


def _flat_grads(grads, writable):
    """The flat float64 views of an array or a sequence of arrays, checked."""
    items = [grads] if isinstance(grads, np.ndarray) else grads
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError("grads must be a numpy.ndarray or a sequence (list, tuple) of them, "
                        f"got {type(grads).__name__}")
    flat = []
    for k, g in enumerate(items):
        name = "grads" if items is not grads else f"grads[{k}]"
        if type(g) is not np.ndarray:
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(g).__name__}")
        if g.dtype != np.float64 or not g.dtype.isnative:
            raise TypeError(f"{name} must have dtype float64 (native byte order), "
                            f"got {g.dtype}")
        if writable:
            check.writable(name, g)
        flat.append(flat_view(name, g))
    return flat


def _norm_type(norm_type):
    p = check.real("norm_type", norm_type)
    if p not in (1.0, 2.0, math.inf):
        raise ValueError(f"norm_type must be 2.0, 1.0 or inf, got {norm_type!r}")
    return p


def _total_norm(flat, p):
    acc = 0.0
    part = None
    for g in flat:
        if g.size < CLIP_PARALLEL_MIN_SIZE:
            v = kernels.norm_part(g, p)
        else:
            part = workspace() if part is None else part
            v = kernels.norm_part_parallel(g, p, part)
        acc = kernels.add_norm_part(acc, v, p)
    return kernels.finish_norm(acc, p)


def _nonfinite_error(total, p, error_if_nonfinite):
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} of grads is {total}, so it cannot be clipped "
            "(nothing was changed). To scale the gradients by the non-finite norm anyway, "
            "as torch does, set error_if_nonfinite=False")


def grad_norm(grads: Gradients, norm_type: float = 2.0,
              error_if_nonfinite: bool = False) -> float:
    """The norm of all gradients together, as torch.nn.utils.get_total_norm.

    ``(sum_k sum_i |g_k,i|^p)^(1/p)``, or ``max_k max_i |g_k,i|`` for
    p = inf, as if the arrays were one vector; each array's part summed in
    fixed blocks (gdfast.kernels.clipping), so the bits do not depend on the
    thread count.

    Parameters
    ----------
    grads : numpy.ndarray or sequence of numpy.ndarray
        float64 arrays of any shapes, C-contiguous; only read.
    norm_type : float, default 2.0
        2.0, 1.0 or ``math.inf``.
    error_if_nonfinite : bool, default False
        Raise RuntimeError if the norm is NaN or inf.

    Returns
    -------
    float
        0.0 for an empty sequence; NaN if a gradient holds NaN, inf if one
        holds inf (and none NaN) or the sum of squares overflows (as torch's).

    Raises
    ------
    TypeError
        If grads is not an array or a sequence of float64 arrays, or
        error_if_nonfinite is not a bool.
    ValueError
        If an array is not C-contiguous, or norm_type is not 2, 1 or inf.
    RuntimeError
        If error_if_nonfinite and the norm is NaN or inf.
    """
    p = _norm_type(norm_type)
    error_if_nonfinite = check.boolean("error_if_nonfinite", error_if_nonfinite)
    total = _total_norm(_flat_grads(grads, writable=False), p)
    _nonfinite_error(total, p, error_if_nonfinite)
    return total


def clip_grad_norm(grads: Gradients, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> float:
    """Scale the gradients in place so that their joint norm is at most max_norm.

    ``torch.nn.utils.clip_grad_norm_`` on the gradient arrays themselves::

        total = grad_norm(grads, norm_type)
        c     = min(max_norm / (total + 1e-6), 1)
        g_k  *= c                                  for every array g_k

    A NaN total makes every gradient NaN and an inf total makes the finite
    entries 0 and the others NaN, as in torch, unless error_if_nonfinite
    (then nothing is changed). Two passes over each array: the norm (read)
    and the scale (read and write, skipped when c = 1).

    Parameters
    ----------
    grads : numpy.ndarray or sequence of numpy.ndarray
        float64 arrays of any shapes, C-contiguous and writable; scaled in
        place.
    max_norm : float
        The largest joint norm let through, >= 0 (inf: nothing is clipped).
    norm_type : float, default 2.0
        2.0, 1.0 or ``math.inf``.
    error_if_nonfinite : bool, default False
        Raise RuntimeError (and change nothing) if the norm is NaN or inf.

    Returns
    -------
    float
        The joint norm before clipping (torch returns it as a 0-d tensor).

    Raises
    ------
    TypeError
        If grads is not an array or a sequence of float64 arrays, or
        max_norm is not a real number.
    ValueError
        If an array is not C-contiguous or read-only, max_norm is NaN or
        negative, or norm_type is not 2, 1 or inf.
    RuntimeError
        If error_if_nonfinite and the norm is NaN or inf.

    Examples
    --------
    >>> import numpy as np, gdfast
    >>> w, b = np.array([3.0, 0.0]), np.array([4.0])
    >>> print(gdfast.clip_grad_norm([w, b], max_norm=1.0))
    5.0
    >>> print(w.round(6), b.round(6))
    [0.6 0. ] [0.8]
    """
    max_norm_v = check.real("max_norm", max_norm)
    if not max_norm_v >= 0.0:
        raise ValueError(f"max_norm must be >= 0 (inf allowed), got {max_norm!r}")
    p = _norm_type(norm_type)
    error_if_nonfinite = check.boolean("error_if_nonfinite", error_if_nonfinite)
    flat = _flat_grads(grads, writable=True)
    total = _total_norm(flat, p)
    _nonfinite_error(total, p, error_if_nonfinite)
    c = kernels.clip_coefficient(total, max_norm_v)
    if c != 1.0:
        for g in flat:
            (kernels.scale_gradient if g.size < CLIP_PARALLEL_MIN_SIZE
             else kernels.scale_gradient_parallel)(g, c)
    return total


def clip_grad_value(grads: Gradients, clip_value: float) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], in place.

    ``torch.nn.utils.clip_grad_value_``: ``g_i = min(max(g_i, -clip_value),
    clip_value)``; a NaN entry stays NaN. One pass over each array.

    Parameters
    ----------
    grads : numpy.ndarray or sequence of numpy.ndarray
        float64 arrays of any shapes, C-contiguous and writable; clamped in
        place.
    clip_value : float
        >= 0 (inf: nothing changes).

    Raises
    ------
    TypeError
        If grads is not an array or a sequence of float64 arrays, or
        clip_value is not a real number.
    ValueError
        If an array is not C-contiguous or read-only, or clip_value is NaN
        or negative.
    """
    clip = check.real("clip_value", clip_value)
    if not clip >= 0.0:
        raise ValueError(f"clip_value must be >= 0 (inf allowed), got {clip_value!r}")
    for g in _flat_grads(grads, writable=True):
        (kernels.clip_values if g.size < CLIP_PARALLEL_MIN_SIZE
         else kernels.clip_values_parallel)(g, clip)
