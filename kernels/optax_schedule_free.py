"""optax's schedule-free SGD and AdamW, and Polyak's step size SGD.

Schedule-free (Defazio et al., 2024; ``optax.contrib.schedule_free_sgd`` and
``schedule_free_adamw``) keeps three sequences: z, the base optimizer's
iterate (SGD's, or AdamW's without momentum); x, the average of the z's,
for evaluation; and y = b1 x + (1 - b1) z, where the gradient is taken. As
in optax, the parameters a kernel steps are y, the state holds z, and x is
recomputed from the two at every step, x = (y - (1 - b1) z) / b1
(`schedule_free_eval_params` gives it, optax's
``schedule_free_eval_params``). With c_t = w_t / (w_1 + ... + w_t), the
weight w_t = max(lr_1, ..., lr_t)^weight_lr_power::

    z <- z - lr_z u              (u: SGD's d + weight_decay y, or AdamW's)
    x <- (1 - c_t) x + c_t z
    y <- b1 x + (1 - b1) z

Same calling convention as every gdfast kernel (kernels/__init__.py)::

    bad = rule_step(x, g, state, t, lr, hyper)

with x the point y; the sums w_1 + ... + w_t and max lr ride in the state as
one-entry arrays (optax's ``weight_sum`` and ``max_lr``). ``warmup_steps``
W > 0 is optax's ``warmup_constant_schedule(0, lr, W)``, evaluated as optax
evaluates it: in float32 (jax's int32 step count makes it so), and at count
t for the weight but t - 1 for z's step (optax's base optimizer counts from
0, the wrapper from 1), so the first step leaves z where it is. Without
warmup, lr is the rate of both.

Polyak's step size (``optax.polyak_sgd``, Loizou et al., 2021) needs the
objective's value at x, a new argument::

    bad = polyak_sgd_step(x, g, value, state, t, lr, hyper)

lr is optax's ``scaling`` (the rate of the SGD in front of Polyak's step),
state is ``(work,)``, kernels.NORM_WORK entries of scratch for the norm.

The equations are evaluated in the order, and with the fused multiply-adds
(`gdfast.kernels.fma`), that XLA compiles optax's jitted update to on the
CPU (jax 0.10, x64): schedule-free gives optax's bits; Polyak's norm is
summed in fixed blocks (serial and parallel kernels agree bit for bit; its
last bits are not XLA's summation order). Each rule has a serial kernel and
a bitwise-equal parallel one.
"""
import math

import numpy as np
from numba import prange

from ._elementwise import direction_sign
from .averaging import fma
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite
from .reductions import N_BLOCKS, block_bounds, sum_squares_range

# --- schedule-free: the scalars ----------------------------------------------------


@njit(**SERIAL)
def _warmup_rate(count, lr, warmup_steps):
    """optax.warmup_constant_schedule(0, lr, W)(count) as XLA evaluates it:
    float32, frac = 1 - c * (1/W) and lr - lr frac each one fused multiply-add
    (rounded once in float64, then to float32), c = clip(count, 0, W); lr
    itself (float64) when W is 0 (no warmup)."""
    if warmup_steps <= 0.0:
        return lr
    f8 = np.float64
    c = min(max(f8(count), 0.0), warmup_steps)
    inv = f8(np.float32(1.0) / np.float32(warmup_steps))
    frac = f8(np.float32(fma(-f8(np.float32(c)), inv, 1.0)))
    peak = f8(np.float32(lr))
    return f8(np.float32(fma(frac, -peak, peak)))


@njit(**SERIAL)
def _average_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr):
    """Step t's c_t = w / (weight_sum + w), w = max_lr^weight_lr_power, with
    weight_sum and max_lr (one entry each) updated in place; 0 where optax's
    nan_to_num makes 0 / 0 so, NaN where w or the sum is NaN."""
    rate = _warmup_rate(t, lr, warmup_steps)
    top = max_lr[0]
    if rate > top or rate != rate:
        top = rate
    w = top * top if weight_lr_power == 2.0 else top ** weight_lr_power
    total = fma(top, top, weight_sum[0]) if weight_lr_power == 2.0 else weight_sum[0] + w
    max_lr[0] = top
    weight_sum[0] = total
    if w != w or total != total:
        return math.nan
    ck = w / total
    return 0.0 if ck != ck else ck


@njit(**SERIAL)
def _interpolate(i, y, z, z_i, ck, b1):
    """x from y and the old z, averaged with the new z_i; the new y (optax's
    y + (y_new - y)). Returns the new y."""
    c1 = 1.0 - b1
    y_i = y[i]
    x_prev = fma(-z[i], c1, y_i)
    x_i = fma(x_prev, (1.0 - ck) * (1.0 / b1), ck * z_i)
    y_new = fma(z_i, c1, x_i * b1)
    y_i = y_i + (y_new - y_i)
    y[i] = y_i
    z[i] = z_i
    return y_i


# --- schedule-free SGD ---------------------------------------------------------------


@njit(**SERIAL)
def _sf_sgd_update(i, y, g, z, lr_z, ck, b1, weight_decay, sign):
    d = sign * g[i]
    if weight_decay != 0.0:
        d = fma(y[i], weight_decay, d)
    z_i = fma(-lr_z, d, z[i])
    y_i = _interpolate(i, y, z, z_i, ck, b1)
    return any_nonfinite(y_i, z_i)


@njit(**SERIAL)
def schedule_free_sgd_step(x, g, state, t, lr, hyper):
    """Schedule-free SGD (Defazio et al., 2024) as optax.contrib.schedule_free_sgd,
    in place.

    ::

        d = ±g + weight_decay y          (y: the parameters x given)
        z <- z - lr_z d
        x_avg = (y - (1 - b1) z_old) / b1
        x_avg <- (1 - c_t) x_avg + c_t z ;  c_t = w_t / sum(w_1..w_t)
        y <- b1 x_avg + (1 - b1) z

    with w_t = max(lr_1..lr_t)^weight_lr_power; lr_z and lr_t are lr, or
    optax's warmup of it (the module's docstring).

    Parameters
    ----------
    x : float64[::1], shape (n,)
        y, the point where g is taken, updated in place (optax's params).
    g : float64[::1], shape (n,)
        The gradient at y, only read.
    state : tuple of float64[::1]
        ``(z, weight_sum, max_lr)``: z of shape (n,), starting as a copy of
        the first y (optax's ScheduleFreeState.z), and two one-entry arrays
        starting at 0 (its scalars weight_sum and max_lr).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, >= 0 (the warmup's peak with warmup).
    hyper : tuple of float
        ``(b1, weight_decay, weight_lr_power, warmup_steps, maximize)``:

        - b1 in (0, 1) (optax: 0.9);
        - weight_decay >= 0 (optax: None, i.e. 0), added to the gradient;
        - weight_lr_power (optax: 2.0);
        - warmup_steps >= 0, a whole number (optax: None, i.e. 0);
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into y or z,
        plus 1 when weight_sum or max_lr is NaN or inf (w_t = max_lr^power
        overflowed; optax then takes c_t = 0) (``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Defazio et al. (2024), "The road less scheduled";
    optax.contrib.schedule_free / schedule_free_sgd.
    """
    b1, weight_decay, weight_lr_power, warmup_steps, maximize = hyper
    sign = direction_sign(maximize)
    z, weight_sum, max_lr = state
    ck = _average_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr)
    lr_z = _warmup_rate(t - 1, lr, warmup_steps)
    bad = any_nonfinite(weight_sum[0], max_lr[0])   # an overflowed w: 1
    for i in range(x.size):
        bad += _sf_sgd_update(i, x, g, z, lr_z, ck, b1, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def schedule_free_sgd_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `schedule_free_sgd_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `schedule_free_sgd_step`.

    Returns
    -------
    bad : int
        As `schedule_free_sgd_step`'s.
    """
    b1, weight_decay, weight_lr_power, warmup_steps, maximize = hyper
    sign = direction_sign(maximize)
    z, weight_sum, max_lr = state
    ck = _average_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr)
    lr_z = _warmup_rate(t - 1, lr, warmup_steps)
    bad = any_nonfinite(weight_sum[0], max_lr[0])   # an overflowed w: 1
    for i in prange(x.size):
        bad += _sf_sgd_update(i, x, g, z, lr_z, ck, b1, weight_decay, sign)
    return bad


# --- schedule-free AdamW ---------------------------------------------------------------


@njit(**SERIAL)
def _sf_adamw_update(i, y, g, z, nu, lr_z, ck, r2, b1, b2, eps, weight_decay, sign):
    d = sign * g[i]
    nu_i = fma(d * d, 1.0 - b2, nu[i] * b2)
    nu[i] = nu_i
    # XLA's reciprocal times d; d = 0 gives d itself (the same bits, sign included),
    # not 0 * inf = NaN where nu = 0 and a subnormal eps make the reciprocal inf
    u = d if d == 0.0 else (1.0 / (math.sqrt(nu_i * r2) + eps)) * d
    if weight_decay != 0.0:
        u = fma(y[i], weight_decay, u)
    z_i = fma(-lr_z, u, z[i])
    y_i = _interpolate(i, y, z, z_i, ck, b1)
    return any_nonfinite(y_i, z_i, nu_i)


@njit(**SERIAL)
def schedule_free_adamw_step(x, g, state, t, lr, hyper):
    """Schedule-free AdamW (Defazio et al., 2024) as
    optax.contrib.schedule_free_adamw, in place.

    ::

        d = ±g
        nu <- (1 - b2) d^2 + b2 nu
        u = d / (sqrt(nu / (1 - b2^t)) + eps) + weight_decay y
        z <- z - lr_z u

    then x_avg and y as `schedule_free_sgd_step` (AdamW without its momentum:
    the interpolation takes its place).

    Parameters
    ----------
    x : float64[::1], shape (n,)
        y, the point where g is taken, updated in place (optax's params).
    g : float64[::1], shape (n,)
        The gradient at y, only read.
    state : tuple of float64[::1]
        ``(z, nu, weight_sum, max_lr)``: z of shape (n,), starting as a copy
        of the first y; nu of shape (n,) starting at 0 (optax's
        scale_by_rms state); weight_sum and max_lr, one entry each, 0.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, >= 0 (the warmup's peak with warmup).
    hyper : tuple of float
        ``(b1, b2, eps, weight_decay, weight_lr_power, warmup_steps,
        maximize)``: b1 in (0, 1) (optax: 0.9), b2 in [0, 1) (0.999), eps >=
        0 outside the square root (1e-8), weight_decay >= 0 (0), decoupled
        (multiplied by lr), weight_lr_power (2.0), warmup_steps >= 0 (0:
        none), maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into y, z or
        nu, plus 1 when weight_sum or max_lr is NaN or inf
        (``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Defazio et al. (2024), "The road less scheduled";
    optax.contrib.schedule_free_adamw.
    """
    b1, b2, eps, weight_decay, weight_lr_power, warmup_steps, maximize = hyper
    sign = direction_sign(maximize)
    z, nu, weight_sum, max_lr = state
    ck = _average_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr)
    lr_z = _warmup_rate(t - 1, lr, warmup_steps)
    r2 = 1.0 / (1.0 - b2 ** float(t))
    bad = any_nonfinite(weight_sum[0], max_lr[0])   # an overflowed w: 1
    for i in range(x.size):
        bad += _sf_adamw_update(i, x, g, z, nu, lr_z, ck, r2, b1, b2, eps, weight_decay,
                                sign)
    return bad


@njit(**PARALLEL)
def schedule_free_adamw_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `schedule_free_adamw_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `schedule_free_adamw_step`.

    Returns
    -------
    bad : int
        As `schedule_free_adamw_step`'s.
    """
    b1, b2, eps, weight_decay, weight_lr_power, warmup_steps, maximize = hyper
    sign = direction_sign(maximize)
    z, nu, weight_sum, max_lr = state
    ck = _average_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr)
    lr_z = _warmup_rate(t - 1, lr, warmup_steps)
    r2 = 1.0 / (1.0 - b2 ** float(t))
    bad = any_nonfinite(weight_sum[0], max_lr[0])   # an overflowed w: 1
    for i in prange(x.size):
        bad += _sf_adamw_update(i, x, g, z, nu, lr_z, ck, r2, b1, b2, eps, weight_decay,
                                sign)
    return bad


@njit(**SERIAL)
def schedule_free_eval_params(y, z, b1, out):
    """The averaged point x = (y - (1 - b1) z) / b1 into out, as optax's
    schedule_free_eval_params computes it (eagerly: each operation rounded).

    Parameters
    ----------
    y : float64[::1], shape (n,)
        The parameters a schedule-free kernel steps.
    z : float64[::1], shape (n,)
        The state's z.
    b1 : float
        The kernel's b1, in (0, 1).
    out : float64[::1], shape (n,)
        Written; may be y itself.

    Returns
    -------
    None
    """
    c1 = 1.0 - b1
    for i in range(y.size):
        out[i] = (y[i] - c1 * z[i]) / b1


# --- Polyak's step size ----------------------------------------------------------------


@njit(**SERIAL)
def _polyak_norm(k, g, work, scale):
    """Block k of the sum of (scale g)^2 into work[k] (reductions.sum_squares_range's order)."""
    lo, hi = block_bounds(g.size, N_BLOCKS, k)
    work[k] = sum_squares_range(g, lo, hi, scale)


@njit(**SERIAL)
def _polyak_factor(value, work, lr, max_learning_rate, f_min, eps, plus):
    """-step * lr: the factor of g (optax's scale_by_polyak after sgd(lr))."""
    sq = 0.0
    for k in range(N_BLOCKS):
        sq += work[k]
    gap = value - f_min
    if plus != 0.0 and gap < 0.0:
        gap = 0.0
    den = sq + eps
    if den <= 2.220446049250313e-16:
        step = 0.0
    else:
        step = gap / den
        if not step <= max_learning_rate and step == step:
            step = max_learning_rate
    return step * (-lr)


@njit(**SERIAL)
def _polyak_apply(i, x, g, factor):
    x_i = x[i] + g[i] * factor
    x[i] = x_i
    return any_nonfinite(x_i)


@njit(**SERIAL)
def polyak_sgd_step(x, g, value, state, t, lr, hyper):
    """SGD with Polyak's step size (Loizou et al., 2021) as optax.polyak_sgd,
    in place.

    ::

        u = lr g                                  (lr: optax's scaling)
        gap = f(x) - f_min        (sps+: max(gap, 0))
        step = 0 if ||u||^2 + eps <= float64 eps, else min(gap / (||u||^2 + eps),
               max_learning_rate)
        x <- x - step u

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    value : float
        f(x), the objective's value at x (optax's ``value``).
    state : tuple of float64[::1]
        ``(work,)``: kernels.NORM_WORK entries of scratch for the norm of u,
        summed in fixed blocks (optax keeps no state).
    t : int
        The step number (unused: the rule has no memory).
    lr : float
        optax's scaling, >= 0 (a schedule's value at t).
    hyper : tuple of float
        ``(max_learning_rate, f_min, eps, plus)``: max_learning_rate >= 0
        (optax: 1), f_min (0), eps >= 0 (0), plus 1.0 for optax's variant
        "sps+" (gap clipped at 0), 0.0 for "sps".

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x (a NaN
        value or g: ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Loizou et al. (2021), "Stochastic Polyak step-size for SGD";
    Garrigos et al. (2023) for sps+; optax.polyak_sgd / optax.scale_by_polyak.
    """
    max_learning_rate, f_min, eps, plus = hyper
    work = state[0]
    for k in range(N_BLOCKS):
        _polyak_norm(k, g, work, -lr)
    factor = _polyak_factor(value, work, lr, max_learning_rate, f_min, eps, plus)
    bad = 0
    for i in range(x.size):
        bad += _polyak_apply(i, x, g, factor)
    return bad


@njit(**PARALLEL)
def polyak_sgd_step_parallel(x, g, value, state, t, lr, hyper):
    """Parallel variant of `polyak_sgd_step`; bitwise the same result.

    Parameters
    ----------
    x, g, value, state, t, lr, hyper
        As in `polyak_sgd_step`.

    Returns
    -------
    bad : int
        As `polyak_sgd_step`'s.
    """
    max_learning_rate, f_min, eps, plus = hyper
    work = state[0]
    for k in prange(N_BLOCKS):
        _polyak_norm(k, g, work, -lr)
    factor = _polyak_factor(value, work, lr, max_learning_rate, f_min, eps, plus)
    bad = 0
    for i in prange(x.size):
        bad += _polyak_apply(i, x, g, factor)
    return bad
