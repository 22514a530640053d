"""SparseAdam: Adam over the rows a row-sparse gradient holds (torch.optim.SparseAdam).

Not the calling convention's signature: the gradient is k rows of x, given as
their indices and their values, instead of an array like x::

    bad = sparse_adam_step(x, indices, values, state, t, lr, hyper)

x is the flat view of a (rows, row) parameter (a vector is row = 1); only the
entries of the rows listed are read or written, in x and in the moments.
"""
import math

from numba import prange

from ._elementwise import direction_sign
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite


@njit(**SERIAL)
def sparse_adam_step_size(t, lr, beta1, beta2):
    """lr sqrt(1 - beta2^t) / (1 - beta1^t), in torch's order of operations."""
    tf = float(t)
    return lr * math.sqrt(1.0 - beta2 ** tf) / (1.0 - beta1 ** tf)


@njit(**SERIAL)
def _sparse_adam_row(j, x, indices, values, m, v, row, beta1, beta2, eps, step, sign):
    base = indices[j] * row
    bad = 0
    for c in range(row):
        i = base + c
        d = sign * values[j * row + c]
        m_old, v_old = m[i], v[i]
        m_i = m_old + (d - m_old) * (1.0 - beta1)
        v_up = (d * d - v_old) * (1.0 - beta2)
        v_i = v_old + v_up
        m[i] = m_i
        v[i] = v_i
        x_i = x[i] + (m_i / (math.sqrt(v_up + v_old) + eps)) * (-step)
        x[i] = x_i
        bad += any_nonfinite(x_i, m_i, v_i)
    return bad


@njit(**SERIAL)
def sparse_adam_step(x, indices, values, state, t, lr, hyper):
    """Adam on the rows of a row-sparse gradient, torch.optim.SparseAdam's form.

    For each listed row r and each entry i of it (d = ±values)::

        m_i <- m_i + (1 - beta1) (d - m_i)
        v_i <- v_i + (1 - beta2) (d^2 - v_i)
        x_i <- x_i - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m_i / (sqrt(v_i) + eps)

    Rows not listed keep x, m and v as they are (t still counts the step, as
    torch's does, an empty gradient included).

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The flat view of the (rows, row) parameters, updated in place.
    indices : int64[::1], shape (k,)
        The rows the gradient holds, each in [0, n / row), no row twice (torch
        coalesces a gradient first: duplicates summed).
    values : float64[::1], shape (k * row,)
        The k rows of the gradient, flat (row-major), only read.
    state : tuple of float64[::1]
        ``(exp_avg, exp_avg_sq)``, shape (n,) (start at 0).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate (torch: 1e-3).
    hyper : tuple of float
        ``(beta1, beta2, eps, maximize)``: beta1, beta2 in [0, 1) (torch: 0.9,
        0.999), eps > 0 (1e-8), maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or a moment.
    """
    beta1, beta2, eps, maximize = hyper
    k = indices.size
    if k == 0:
        return 0
    row = values.size // k
    sign = direction_sign(maximize)
    step = sparse_adam_step_size(t, lr, beta1, beta2)
    m, v = state
    bad = 0
    for j in range(k):
        bad += _sparse_adam_row(j, x, indices, values, m, v, row, beta1, beta2, eps, step, sign)
    return bad


@njit(**PARALLEL)
def sparse_adam_step_parallel(x, indices, values, state, t, lr, hyper):
    """Parallel variant of `sparse_adam_step` over the listed rows; bitwise the
    same result (the rows are distinct, each updated by one thread).

    Parameters
    ----------
    x, indices, values, state, t, lr, hyper
        As in `sparse_adam_step`.

    Returns
    -------
    bad : int
        As `sparse_adam_step`'s.
    """
    beta1, beta2, eps, maximize = hyper
    k = indices.size
    if k == 0:
        return 0
    row = values.size // k
    sign = direction_sign(maximize)
    step = sparse_adam_step_size(t, lr, beta1, beta2)
    m, v = state
    bad = 0
    for j in prange(k):
        bad += _sparse_adam_row(j, x, indices, values, m, v, row, beta1, beta2, eps, step, sign)
    return bad
