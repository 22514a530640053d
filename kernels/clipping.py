"""Gradient clipping: the global norm of all arrays of a step, and value clipping.

``torch.nn.utils.clip_grad_norm_`` over arrays g_1, ..., g_K (each float64[::1]) is,
for ``p`` = 2, 1 or inf::

    total = (sum_k sum_i |g_k,i|^p)^(1/p)        (p = inf: max_k max_i |g_k,i|)
    c     = min(max_norm / (total + 1e-6), 1)     (NaN stays NaN, as torch.clamp)
    g_k   = c g_k                                 for every k

One array's part of the norm is `norm_part` (a sum of ``g_i^2`` or ``abs(g_i)``, or a
maximum of ``abs(g_i)``), taken in ``blocks(n)`` fixed blocks of the array
(``linalg.blocks``; the block results combined in block order), so
`norm_part` and `norm_part_parallel` give the same bits for any thread
count. The parts of the K arrays are combined in array order by
`add_norm_part` (a sum; a maximum for inf that keeps a NaN) and `finish_norm`
takes the root. `clip_coefficient` is torch's scale, `scale_gradient` applies it,
`clip_values` is ``torch.nn.utils.clip_grad_value_``. `clip_grad_norm` runs it all
over a tuple of arrays, serially, from a user's numba code.

Bytes: a norm is one read of g (8 n bytes) and the scale one read and write
(16 n bytes), skipped when c = 1 (the same bits: torch multiplies by 1.0).
The scale is not fused into the update rule's read of g: the norm must be
complete before any entry is scaled, and the rules' kernels read g
unscaled (a fused variant would save the scale's 16 n bytes per step).

Overflow: the sum of squares is not rescaled, as in torch (a norm above
about 1.3e154 is inf in both).
"""
import math

from numba import prange

from .jit import PARALLEL, SERIAL, njit
from .linalg import blocks
from .nonfinite import any_nonfinite
from .reductions import block_bounds, max_abs


@njit(**SERIAL, inline="always")
def _block_part(g, p, lo, hi):
    """One block's part of the norm: sum g_i^2 (p = 2), sum abs(g_i) (p = 1), max abs(g_i)."""
    if p == 2.0:
        s = 0.0
        for i in range(lo, hi):
            s += g[i] * g[i]
        return s
    if p == 1.0:
        s = 0.0
        for i in range(lo, hi):
            s += abs(g[i])
        return s
    return max_abs(g[lo:hi])


@njit(**SERIAL, inline="always")
def add_norm_part(acc, part, p):
    """Combine two parts of a p-norm: ``acc + part``, or for p = inf their maximum.

    Parameters
    ----------
    acc, part : float
        Parts of the norm (sums of ``g_i^2`` or ``abs(g_i)``, or maxima of ``abs(g_i)``).
    p : float
        2.0, 1.0 or inf.

    Returns
    -------
    float
        NaN if either is NaN.
    """
    if p == 2.0 or p == 1.0:
        return acc + part
    if acc != acc or part != part:
        return math.nan
    return acc if acc > part else part


@njit(**SERIAL)
def norm_part(g, p):
    """One array's part of the p-norm, in ``blocks(n)`` fixed blocks.

    ``sum_i g_i^2`` for p = 2, ``sum_i |g_i|`` for p = 1, ``max_i |g_i|``
    for p = inf (0 for an empty array); NaN if any g_i is NaN, inf if any is
    inf (and none NaN).

    Parameters
    ----------
    g : float64[::1]
        Shape (n,), only read.
    p : float
        2.0, 1.0 or inf (any other value is taken as inf).

    Returns
    -------
    float
    """
    nb = blocks(g.size)
    acc = 0.0
    for k in range(nb):
        lo, hi = block_bounds(g.size, nb, k)
        acc = add_norm_part(acc, _block_part(g, p, lo, hi), p)
    return acc


@njit(**PARALLEL)
def norm_part_parallel(g, p, part):
    """`norm_part` over numba's threads: the same bits.

    Parameters
    ----------
    g : float64[::1]
        Shape (n,), only read.
    p : float
        2.0, 1.0 or inf.
    part : float64[::1]
        Workspace of at least N_BLOCKS entries (``linalg.workspace()``),
        overwritten.

    Returns
    -------
    float
    """
    nb = blocks(g.size)
    for k in prange(nb):
        lo, hi = block_bounds(g.size, nb, k)
        part[k] = _block_part(g, p, lo, hi)
    acc = 0.0
    for k in range(nb):
        acc = add_norm_part(acc, part[k], p)
    return acc


@njit(**SERIAL, inline="always")
def finish_norm(acc, p):
    """The p-norm from its combined parts: ``sqrt(acc)`` for p = 2, else ``acc``.

    Parameters
    ----------
    acc : float
        The parts of every array combined by `add_norm_part` (0.0 for none).
    p : float
        2.0, 1.0 or inf.

    Returns
    -------
    float
    """
    return math.sqrt(acc) if p == 2.0 else acc


@njit(**SERIAL, inline="always")
def clip_coefficient(total_norm, max_norm):
    """torch's scale ``min(max_norm / (total_norm + 1e-6), 1)``.

    Parameters
    ----------
    total_norm : float
        The norm of all arrays (`finish_norm`).
    max_norm : float
        The largest norm let through.

    Returns
    -------
    float
        NaN when total_norm is NaN (torch.clamp keeps NaN); 0 when it is inf.
    """
    c = max_norm / (total_norm + 1e-6)
    return 1.0 if c > 1.0 else c


@njit(**SERIAL)
def scale_gradient(g, c):
    """``g_i = c g_i`` in place; nothing is written when c == 1.

    Parameters
    ----------
    g : float64[::1]
        Shape (n,), updated in place.
    c : float
        The factor (`clip_coefficient`).

    Returns
    -------
    int
        The number of entries of g that are NaN or inf afterwards.
    """
    bad = 0
    if c == 1.0:
        for i in range(g.size):
            bad += any_nonfinite(g[i])
        return bad
    for i in range(g.size):
        v = g[i] * c
        g[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**PARALLEL)
def scale_gradient_parallel(g, c):
    """`scale_gradient` over numba's threads: the same bits and count.

    Parameters
    ----------
    g : float64[::1]
        Shape (n,), updated in place.
    c : float
        The factor.

    Returns
    -------
    int
    """
    bad = 0
    if c == 1.0:
        for i in prange(g.size):
            bad += any_nonfinite(g[i])
        return bad
    for i in prange(g.size):
        v = g[i] * c
        g[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**SERIAL, inline="always")
def _clamp(v, clip):
    # torch.clamp_(min=-clip, max=clip): NaN stays NaN
    if v > clip:
        return clip
    if v < -clip:
        return -clip
    return v


@njit(**SERIAL)
def clip_values(g, clip):
    """``torch.nn.utils.clip_grad_value_``: ``g_i = min(max(g_i, -clip), clip)`` in place.

    Parameters
    ----------
    g : float64[::1]
        Shape (n,), updated in place.
    clip : float
        >= 0 (inf: nothing changes); a NaN g_i stays NaN.

    Returns
    -------
    int
        The number of entries of g that are NaN or inf afterwards.
    """
    bad = 0
    for i in range(g.size):
        v = _clamp(g[i], clip)
        g[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**PARALLEL)
def clip_values_parallel(g, clip):
    """`clip_values` over numba's threads: the same bits and count.

    Parameters
    ----------
    g : float64[::1]
        Shape (n,), updated in place.
    clip : float
        >= 0.

    Returns
    -------
    int
    """
    bad = 0
    for i in prange(g.size):
        v = _clamp(g[i], clip)
        g[i] = v
        bad += any_nonfinite(v)
    return bad


@njit(**SERIAL)
def clip_grad_norm(grads, max_norm, p):
    """``torch.nn.utils.clip_grad_norm_`` over a tuple of arrays, serially.

    The module docstring's equations: the norm of all arrays of ``grads``
    together, then every array scaled by `clip_coefficient` (the same bits as
    the facade's ``gdfast.clip_grad_norm``).

    Parameters
    ----------
    grads : tuple of float64[::1]
        The gradients, of any lengths, updated in place.
    max_norm : float
        >= 0.
    p : float
        2.0, 1.0 or inf.

    Returns
    -------
    float
        The total norm before clipping.
    """
    acc = 0.0
    for g in grads:
        acc = add_norm_part(acc, norm_part(g, p), p)
    total = finish_norm(acc, p)
    c = clip_coefficient(total, max_norm)
    for g in grads:
        scale_gradient(g, c)
    return total
