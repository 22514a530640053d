"""Adaptive-step rules: AdaGrad, RMSProp (plain and with torch's options) and
Adadelta. Adam and its relatives are in kernels/adam_family.py.

Same calling convention as every gdfast kernel (see kernels/sgd.py)::

    bad = rule_step(x, g, state, t, lr, hyper)

x, g and every state array are float64[::1] of shape (n,); x and the state
are updated in place, g is only read. t >= 1 is the step number, lr > 0 the
learning rate of this step; bad counts the entries where NaN or inf was
written (kernels/nonfinite.py). The equations are those of torch.optim (the
gradient d is negated first when ``maximize`` is 1.0, then weight decay is
added). Each rule has a serial kernel (``*_step``) and a parallel one
(``*_step_parallel``) that gives bitwise the same result.
"""
import math

from numba import prange

from ._elementwise import descent_direction, direction_sign, lerp
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite

# --- AdaGrad -----------------------------------------------------------------

@njit(**SERIAL)
def _adagrad_update(i, x, g, s, clr, eps, weight_decay, sign):
    d = descent_direction(g[i], x[i], weight_decay, sign)
    s_i = s[i] + d * d
    s[i] = s_i
    x_i = x[i] - clr * d / (math.sqrt(s_i) + eps)
    x[i] = x_i
    return any_nonfinite(x_i, s_i)


@njit(**SERIAL)
def _adagrad_lr(t, lr, lr_decay):
    return lr / (1.0 + (t - 1) * lr_decay)


@njit(**SERIAL)
def adagrad_step(x, g, state, t, lr, hyper):
    """AdaGrad, torch.optim.Adagrad form, in place.

    ::

        d = ±g + weight_decay * x
        s <- s + d * d
        x <- x - lr_t * d / (sqrt(s) + eps),   lr_t = lr / (1 + (t - 1) * lr_decay)

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(s,)``, the sum of squared gradients; start it at
        initial_accumulator_value >= 0 (torch's default 0).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(lr_decay, eps, weight_decay, maximize)``:

        - lr_decay >= 0;
        - eps > 0, added outside the square root (default 1e-10);
        - weight_decay >= 0;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Duchi, Hazan & Singer (2011), JMLR 12.
    """
    lr_decay, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    clr = _adagrad_lr(t, lr, lr_decay)
    s = state[0]
    bad = 0
    for i in range(x.size):
        bad += _adagrad_update(i, x, g, s, clr, eps, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def adagrad_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adagrad_step`; bitwise the same result.

    It spreads one large array over numba's threads; `adagrad_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adagrad_step`.

    Returns
    -------
    bad : int
        As `adagrad_step`'s.
    """
    lr_decay, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    clr = _adagrad_lr(t, lr, lr_decay)
    s = state[0]
    bad = 0
    for i in prange(x.size):
        bad += _adagrad_update(i, x, g, s, clr, eps, weight_decay, sign)
    return bad


# --- RMSProp -----------------------------------------------------------------

@njit(**SERIAL)
def _rmsprop_update(i, x, g, a, lr, alpha, eps, weight_decay, sign):
    d = descent_direction(g[i], x[i], weight_decay, sign)
    a_i = alpha * a[i] + (1.0 - alpha) * d * d
    a[i] = a_i
    x_i = x[i] - lr * d / (math.sqrt(a_i) + eps)
    x[i] = x_i
    return any_nonfinite(x_i, a_i)


@njit(**SERIAL)
def rmsprop_step(x, g, state, t, lr, hyper):
    """RMSProp, torch.optim.RMSprop form (not centred, no momentum), in place.

    ::

        d = ±g + weight_decay * x
        a <- alpha * a + (1 - alpha) * d * d
        x <- x - lr * d / (sqrt(a) + eps)

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(a,)``, the moving average of squared gradients (start at 0).
    t : int
        The step number, 1 on the first call (not used).
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(alpha, eps, weight_decay, maximize)``:

        - alpha in [0, 1), the decay (torch default 0.99, Hinton's lecture 0.9);
        - eps > 0, added outside the square root (default 1e-8);
        - weight_decay >= 0;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Tieleman & Hinton (2012), Coursera lecture 6.5.
    """
    alpha, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    a = state[0]
    bad = 0
    for i in range(x.size):
        bad += _rmsprop_update(i, x, g, a, lr, alpha, eps, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def rmsprop_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `rmsprop_step`; bitwise the same result.

    It spreads one large array over numba's threads; `rmsprop_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `rmsprop_step`.

    Returns
    -------
    bad : int
        As `rmsprop_step`'s.
    """
    alpha, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    a = state[0]
    bad = 0
    for i in prange(x.size):
        bad += _rmsprop_update(i, x, g, a, lr, alpha, eps, weight_decay, sign)
    return bad


# --- RMSProp with torch's centred and momentum options -----------------------

@njit(**SERIAL)
def _rmsprop_full_values(d, a_i, gb_i, b_i, lr, alpha, eps, momentum, centered):
    """(a, gbar, b, dx) for one element, from scalars only (see rmsprop_full_step)."""
    a_i = a_i * alpha + (1.0 - alpha) * d * d
    if centered != 0.0:
        gb_i = lerp(gb_i, d, 1.0 - alpha)
        var = a_i + (-1.0) * gb_i * gb_i
        avg = math.sqrt(var if var > 0.0 else 0.0) + eps    # rounding can leave var < 0
    else:
        avg = math.sqrt(a_i) + eps
    if momentum > 0.0:
        b_i = b_i * momentum + d / avg
        return a_i, gb_i, b_i, (-lr) * b_i
    return a_i, gb_i, b_i, (-lr * d) / avg


@njit(**SERIAL)
def _rmsprop_full_loop(x, g, a, gbar, buf, lr, alpha, eps, weight_decay, momentum, centered,
                       sign):
    bad = 0
    for i in range(x.size):
        d = descent_direction(g[i], x[i], weight_decay, sign)
        gb_i = gbar[i] if centered != 0.0 else 0.0
        b_i = buf[i] if momentum > 0.0 else 0.0
        a_i, gb_i, b_i, dx = _rmsprop_full_values(d, a[i], gb_i, b_i, lr, alpha, eps,
                                                  momentum, centered)
        a[i] = a_i
        if centered != 0.0:
            gbar[i] = gb_i
        if momentum > 0.0:
            buf[i] = b_i
        x_i = x[i] + dx
        x[i] = x_i
        bad += any_nonfinite(x_i, a_i, gb_i, b_i)    # gb_i, b_i are 0.0 when unused
    return bad


@njit(**PARALLEL)
def _rmsprop_full_loop_parallel(x, g, a, gbar, buf, lr, alpha, eps, weight_decay, momentum,
                                centered, sign):
    bad = 0
    for i in prange(x.size):
        d = descent_direction(g[i], x[i], weight_decay, sign)
        gb_i = gbar[i] if centered != 0.0 else 0.0
        b_i = buf[i] if momentum > 0.0 else 0.0
        a_i, gb_i, b_i, dx = _rmsprop_full_values(d, a[i], gb_i, b_i, lr, alpha, eps,
                                                  momentum, centered)
        a[i] = a_i
        if centered != 0.0:
            gbar[i] = gb_i
        if momentum > 0.0:
            buf[i] = b_i
        x_i = x[i] + dx
        x[i] = x_i
        bad += any_nonfinite(x_i, a_i, gb_i, b_i)    # gb_i, b_i are 0.0 when unused
    return bad


@njit(**SERIAL)
def rmsprop_full_step(x, g, state, t, lr, hyper):
    """RMSProp with torch.optim.RMSprop's centred and momentum options.

    ::

        d = ±g + wd x ;  a <- alpha a + (1 - alpha) d^2
        centred: gbar <- lerp(gbar, d, 1 - alpha) ;  D = sqrt(a - gbar^2) + eps
        else:    D = sqrt(a) + eps
        momentum > 0: b <- momentum b + d / D ;  x <- x - lr b
        else:         x <- x - lr d / D

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(a, gbar, b)``; gbar may have length 0 when not centred, b when
        momentum is 0.
    t : int
        The step number, 1 on the first call (not used).
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(alpha, eps, weight_decay, momentum, centered, maximize)``:

        - alpha in [0, 1);
        - eps > 0;
        - weight_decay >= 0;
        - momentum >= 0;
        - centered, maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    The loops take the state arrays as arguments and write them in the loop
    body. Two numba 0.68 pitfalls shaped this: a per-element helper taking the
    arrays through these branches got the arrays reference-counted on every
    element (50 ns per element), and in a prange body, stores into arrays
    unpacked from a tuple in the same function are lost.
    """
    alpha, eps, weight_decay, momentum, centered, maximize = hyper
    a, gbar, buf = state
    return _rmsprop_full_loop(x, g, a, gbar, buf, lr, alpha, eps, weight_decay, momentum, centered,
                       direction_sign(maximize))


@njit(**SERIAL)
def rmsprop_full_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `rmsprop_full_step`; bitwise the same result.

    It spreads one large array over numba's threads; `rmsprop_full_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `rmsprop_full_step`.

    Returns
    -------
    bad : int
        As `rmsprop_full_step`'s.
    """
    alpha, eps, weight_decay, momentum, centered, maximize = hyper
    a, gbar, buf = state
    return _rmsprop_full_loop_parallel(x, g, a, gbar, buf, lr, alpha, eps, weight_decay, momentum,
                                centered, direction_sign(maximize))


# --- Adadelta ----------------------------------------------------------------

@njit(**SERIAL)
def _adadelta_update(i, x, g, a, acc, lr, rho, eps, weight_decay, sign):
    d = descent_direction(g[i], x[i], weight_decay, sign)
    a_i = a[i] * rho + (1.0 - rho) * d * d
    a[i] = a_i
    delta = math.sqrt(acc[i] + eps) / math.sqrt(a_i + eps) * d
    acc_i = acc[i] * rho + (1.0 - rho) * delta * delta
    acc[i] = acc_i
    x_i = x[i] + (-lr) * delta
    x[i] = x_i
    return any_nonfinite(x_i, a_i, acc_i)


@njit(**SERIAL)
def adadelta_step(x, g, state, t, lr, hyper):
    """Adadelta, torch.optim.Adadelta form.

    ::

        d = ±g + wd x ;  a <- rho a + (1 - rho) d^2
        delta = sqrt(u + eps) / sqrt(a + eps) * d ;  u <- rho u + (1 - rho) delta^2
        x <- x - lr delta

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(a, u)`` (start at 0).
    t : int
        The step number, 1 on the first call (not used).
    lr : float
        This step's learning rate, > 0 (torch's default 1.0).
    hyper : tuple of float
        ``(rho, eps, weight_decay, maximize)``:

        - rho in [0, 1];
        - eps > 0, inside the square roots (torch's default 1e-6);
        - weight_decay >= 0;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Zeiler (2012), "ADADELTA: an adaptive learning rate
    method".
    """
    rho, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    a, acc = state
    bad = 0
    for i in range(x.size):
        bad += _adadelta_update(i, x, g, a, acc, lr, rho, eps, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def adadelta_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adadelta_step`; bitwise the same result.

    It spreads one large array over numba's threads; `adadelta_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adadelta_step`.

    Returns
    -------
    bad : int
        As `adadelta_step`'s.
    """
    rho, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    a, acc = state
    bad = 0
    for i in prange(x.size):
        bad += _adadelta_update(i, x, g, a, acc, lr, rho, eps, weight_decay, sign)
    return bad
