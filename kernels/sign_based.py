"""Rules that step by the sign of the gradient: Rprop and Lion.

Same calling convention as every gdfast kernel (see kernels/__init__.py).
"""
from numba import prange

from ._elementwise import direction_sign
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite


@njit(**SERIAL)
def _sgn(v):
    """sign(v) in {-1, 0, 1} (NaN stays NaN), as torch.sign."""
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return v


@njit(**SERIAL)
def _rprop_update(i, x, g, prev, step, eta_minus, eta_plus, step_min, step_max, sign):
    d = sign * g[i]
    s = _sgn(d * prev[i])
    if s > 0.0:
        s = eta_plus
    elif s < 0.0:
        s = eta_minus
    elif s == 0.0:
        s = 1.0
    step_i = min(max(step[i] * s, step_min), step_max)
    step[i] = step_i
    if s == eta_minus:
        d = 0.0
    x_i = x[i] + (-1.0) * (_sgn(d) * step_i)
    x[i] = x_i
    prev[i] = d
    return any_nonfinite(x_i, step_i, d)


@njit(**SERIAL)
def rprop_step(x, g, state, t, lr, hyper):
    """Resilient backpropagation, torch.optim.Rprop form.

    ::

        d = ±g ;  s = eta_plus if d * prev > 0, eta_minus if < 0, else 1
        step <- clamp(step * s, step_min, step_max)
        d <- 0 where s == eta_minus ;  x <- x - sign(d) * step ;  prev <- d

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(prev, step)``: prev starts at 0, step at the learning rate
        (torch's lr, default 0.01).
    t : int
        The step number, 1 on the first call (not used).
    lr : float
        Not used: the step sizes live in the state, started at torch's lr.
    hyper : tuple of float
        ``(eta_minus, eta_plus, step_min, step_max, maximize)``:

        - 0 < eta_minus < 1 < eta_plus (torch: 0.5, 1.2);
        - 0 <= step_min <= step_max (torch: 1e-6, 50);
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Riedmiller & Braun (1993).
    """
    eta_minus, eta_plus, step_min, step_max, maximize = hyper
    sign = direction_sign(maximize)
    prev, step = state
    bad = 0
    for i in range(x.size):
        bad += _rprop_update(i, x, g, prev, step, eta_minus, eta_plus, step_min, step_max, sign)
    return bad


@njit(**PARALLEL)
def rprop_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `rprop_step`; bitwise the same result.

    It spreads one large array over numba's threads; `rprop_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `rprop_step`.

    Returns
    -------
    bad : int
        As `rprop_step`'s.
    """
    eta_minus, eta_plus, step_min, step_max, maximize = hyper
    sign = direction_sign(maximize)
    prev, step = state
    bad = 0
    for i in prange(x.size):
        bad += _rprop_update(i, x, g, prev, step, eta_minus, eta_plus, step_min, step_max, sign)
    return bad


@njit(**SERIAL)
def _lion_update(i, x, g, m, lr, b1, b2, weight_decay, sign):
    d = sign * g[i]
    u = _sgn((1.0 - b1) * d + b1 * m[i])
    m_i = (1.0 - b2) * d + b2 * m[i]
    m[i] = m_i
    x_i = x[i] + (-lr) * (u + weight_decay * x[i])
    x[i] = x_i
    return any_nonfinite(x_i, m_i)


@njit(**SERIAL)
def lion_step(x, g, state, t, lr, hyper):
    """Lion (evolved sign momentum), optax.lion's equations.

    ::

        d = ±g ;  u = sign((1 - b1) d + b1 m) ;  m <- (1 - b2) d + b2 m
        x <- x - lr (u + weight_decay x)

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m,)`` (start at 0).
    t : int
        The step number, 1 on the first call (not used).
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(b1, b2, weight_decay, maximize)``:

        - b1, b2 in [0, 1] (optax: 0.9, 0.99);
        - weight_decay >= 0 (optax: 1e-3, decoupled: it is not part of the sign);
        - maximize in {0.0, 1.0}: optax.lion has no maximize; here it negates g.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Chen et al. (2023), "Symbolic discovery of optimization
    algorithms".
    """
    b1, b2, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    m = state[0]
    bad = 0
    for i in range(x.size):
        bad += _lion_update(i, x, g, m, lr, b1, b2, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def lion_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `lion_step`; bitwise the same result.

    It spreads one large array over numba's threads; `lion_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `lion_step`.

    Returns
    -------
    bad : int
        As `lion_step`'s.
    """
    b1, b2, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    m = state[0]
    bad = 0
    for i in prange(x.size):
        bad += _lion_update(i, x, g, m, lr, b1, b2, weight_decay, sign)
    return bad
