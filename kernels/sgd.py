"""Plain gradient descent, heavy-ball momentum and Nesterov momentum.

Every rule here follows the one calling convention of gdfast.kernels::

    bad = rule_step(x, g, state, t, lr, hyper)

x      float64[::1], shape (n,)  parameters, updated in place
g      float64[::1], shape (n,)  gradient at x (read only)
state  tuple of float64[::1] arrays of shape (n,), updated in place
t      int >= 1                  step number; 1 on the first call
lr     float > 0                 learning rate of this step (from a schedule)
hyper  tuple of floats           the rule's other hyperparameters, in the
                                 order its docstring gives
bad    int                       entries where NaN or inf was written into x
                                 or the state (kernels/nonfinite.py)

The equations are those of ``torch.optim.SGD`` (the gradient d below is
negated first when ``maximize`` is 1.0, then weight decay is added).
Each rule has a serial kernel (``*_step``) and a parallel one
(``*_step_parallel``) that gives bitwise the same result.
"""
from numba import prange

from ._elementwise import descent_direction, direction_sign
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite


@njit(**SERIAL)
def _scaled_direction(g_i, x_i, scale, weight_decay, sign):
    """scale * d, d as in descent_direction, bitwise.

    Without decay it is (sign * scale) * g: a product by sign = ±1 is exact
    and rounding is symmetric in sign, so this equals scale * (sign * g) bit
    for bit, and the loop-invariant sign * scale leaves one multiplication
    per element (3-4% at 16M elements, where these loops are memory-bound).
    """
    if weight_decay != 0.0:
        return scale * descent_direction(g_i, x_i, weight_decay, sign)
    return (sign * scale) * g_i


# --- plain gradient descent ------------------------------------------------

@njit(**SERIAL)
def _gd_update(i, x, g, lr, weight_decay, sign):
    x_i = x[i] - _scaled_direction(g[i], x[i], lr, weight_decay, sign)
    x[i] = x_i
    return any_nonfinite(x_i)


@njit(**SERIAL)
def gd_step(x, g, state, t, lr, hyper):
    """Plain gradient descent, in place.

    ::

        d = ±g + weight_decay * x ;  x <- x - lr * d

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``()``: no state.
    t : int
        The step number, 1 on the first call (not used).
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(weight_decay, maximize)``:

        - weight_decay >= 0, the L2 penalty added to the gradient
          (torch.optim.SGD);
        - maximize in {0.0, 1.0}: 1.0 ascends f (uses -g).

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Equivalent: torch.optim.SGD(momentum=0), optax.sgd.
    """
    weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    bad = 0
    for i in range(x.size):
        bad += _gd_update(i, x, g, lr, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def gd_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `gd_step`; bitwise the same result.

    It spreads one large array over numba's threads; `gd_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `gd_step`.

    Returns
    -------
    bad : int
        As `gd_step`'s.
    """
    weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    bad = 0
    for i in prange(x.size):
        bad += _gd_update(i, x, g, lr, weight_decay, sign)
    return bad


# --- heavy-ball momentum -----------------------------------------------------

@njit(**SERIAL)
def _momentum_update(i, x, g, buf, first, lr, momentum, d_scale, weight_decay, sign):
    # d_scale: 1 on the first step (b <- d), else 1 - dampening
    scaled_d = _scaled_direction(g[i], x[i], d_scale, weight_decay, sign)
    b = scaled_d if first else momentum * buf[i] + scaled_d
    buf[i] = b
    x_i = x[i] - lr * b
    x[i] = x_i
    # a NaN or inf in b makes lr * b, and so x_i, NaN or inf too
    return any_nonfinite(x_i)


@njit(**SERIAL)
def momentum_step(x, g, state, t, lr, hyper):
    """Heavy-ball momentum (Polyak), torch.optim.SGD form, in place.

    ::

        d = ±g + weight_decay * x
        b <- d                                   on the first step (t == 1)
        b <- momentum * b + (1 - dampening) * d  afterwards
        x <- x - lr * b

    With a constant lr and dampening 0 this is the classic form
    ``v <- momentum * v - lr * g ; x <- x + v``, with v = -lr * b.

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(b,)``, the momentum buffer (any values; overwritten at t == 1).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(momentum, dampening, weight_decay, maximize)``:

        - momentum >= 0 (usually in [0, 1));
        - dampening in [0, 1];
        - weight_decay >= 0;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Equivalent: torch.optim.SGD(momentum>0, nesterov=False),
    optax.sgd(momentum=...) for dampening 0.
    """
    momentum, dampening, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    buf = state[0]
    first = t == 1
    d_scale = 1.0 if first else 1.0 - dampening
    bad = 0
    for i in range(x.size):
        bad += _momentum_update(i, x, g, buf, first, lr, momentum, d_scale, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def momentum_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `momentum_step`; bitwise the same result.

    It spreads one large array over numba's threads; `momentum_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `momentum_step`.

    Returns
    -------
    bad : int
        As `momentum_step`'s.
    """
    momentum, dampening, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    buf = state[0]
    first = t == 1
    d_scale = 1.0 if first else 1.0 - dampening
    bad = 0
    for i in prange(x.size):
        bad += _momentum_update(i, x, g, buf, first, lr, momentum, d_scale, weight_decay, sign)
    return bad


# --- Nesterov momentum -------------------------------------------------------

@njit(**SERIAL)
def _nesterov_update(i, x, g, buf, first, lr, momentum, weight_decay, sign):
    d = descent_direction(g[i], x[i], weight_decay, sign)
    b = d if first else momentum * buf[i] + d
    buf[i] = b
    x_i = x[i] - lr * (d + momentum * b)
    x[i] = x_i
    # a NaN or inf in b makes momentum * b (0 * inf is NaN), and so x_i, NaN or inf
    return any_nonfinite(x_i)


@njit(**SERIAL)
def nesterov_step(x, g, state, t, lr, hyper):
    """Nesterov accelerated gradient, Sutskever / torch.optim.SGD form, in place.

    ::

        d = ±g(x) + weight_decay * x      (gradient at the current iterate)
        b <- d on the first step, else b <- momentum * b + d
        x <- x - lr * (d + momentum * b)

    This is the look-ahead form ``v <- mu*v - lr*g(y + mu*v) ; y <- y + v``
    rewritten in the variable x = y + mu*v (with constant lr and v = -lr*b):
    the iterates x of this kernel are the look-ahead points of the classic
    form, so both trajectories agree (tests/kernels/test_nesterov.py checks it).

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(b,)``, the momentum buffer (overwritten at t == 1).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(momentum, weight_decay, maximize)``:

        - momentum > 0 (usually in (0, 1));
        - weight_decay >= 0;
        - maximize in {0.0, 1.0}.

        torch forbids dampening with Nesterov, so there is none.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Equivalent: torch.optim.SGD(momentum>0, nesterov=True),
    optax.sgd(momentum=..., nesterov=True).

    Reference: Sutskever, Martens, Dahl & Hinton (2013), "On the importance
    of initialization and momentum in deep learning".
    """
    momentum, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    buf = state[0]
    first = t == 1
    bad = 0
    for i in range(x.size):
        bad += _nesterov_update(i, x, g, buf, first, lr, momentum, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def nesterov_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `nesterov_step`; bitwise the same result.

    It spreads one large array over numba's threads; `nesterov_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `nesterov_step`.

    Returns
    -------
    bad : int
        As `nesterov_step`'s.
    """
    momentum, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    buf = state[0]
    first = t == 1
    bad = 0
    for i in prange(x.size):
        bad += _nesterov_update(i, x, g, buf, first, lr, momentum, weight_decay, sign)
    return bad
