"""Learning-rate schedules as @njit functions of the step.

One signature for every schedule, so a compiled loop can call any of them::

    schedule(t, lr0, params) -> lr_t

t       int >= 1, the step number (the same t the update rules receive)
lr0     float > 0, the base (peak) learning rate
params  tuple of floats, the schedule's parameters in the order given below

The first step uses the base rate: each formula is written in s = t - 1, the
number of steps already taken, as torch.optim.lr_scheduler counts epochs and
optax counts updates. torch's rate after k calls of ``scheduler.step()``
(its ``last_epoch`` = k) is the rate of gdfast's step t = k + 1.

Every torch.optim.lr_scheduler class has a kernel here (``constant_lr``
... ``swa_lr``; ReduceLROnPlateau, which reads the loss, is a state array
updated by ``plateau_step`` after each step's f and read by the schedule
``plateau_lr``, below). torch computes most of its rates
recursively (each from the last); these kernels use the closed forms, equal
in exact arithmetic, so that schedule(t) depends on t alone: the two differ
by the recursion's rounding (measured below 1e-14 relative over 1,000 steps
on the tested configurations: tests/facade/test_schedules_torch.py).

Two kinds of params besides plain numbers:

- a user's @njit function, ``params = (f,)`` (``lambda_lr``,
  ``multiplicative_lr``): f(epoch: int) -> float, called inside the kernel
  (pass ``function_refs.cacheable(f)`` for a registered f so that the loops
  calling the schedule are cached on disk);
- compositions of the kernels above (``sequential_lr``, ``chained_lr``):
  the pieces flattened into one tuple of floats, each piece as
  ``(code, lr0, n, p_1 ... p_n)`` with code its index in ``PIECE_KERNELS``.
  One flat tuple keeps a composition a schedule like any other: the same
  signature, picklable and saved by state_dict as numbers, cached on disk.
"""
import math

import numpy as np

from .jit import SERIAL, njit


@njit(**SERIAL)
def constant(t, lr0, params):
    """``lr_t = lr0``.

    Parameters
    ----------
    t : int
        The step number, >= 1 (the same t the update rules receive).
    lr0 : float
        The base (peak) learning rate, > 0.
    params : tuple of float
        ``()``.

    Returns
    -------
    float
        lr_t.
    """
    return lr0


@njit(**SERIAL)
def inverse_time_decay(t, lr0, params):
    """``lr_t = lr0 / (1 + s / k)``,  s = t - 1.

    The classic tutorials' "adaptive learning rate" (k = 50 there).
    Equivalent: keras InverseTimeDecay(decay_rate=1, decay_steps=k).

    Parameters
    ----------
    t : int
        The step number, >= 1 (the same t the update rules receive).
    lr0 : float
        The base (peak) learning rate, > 0.
    params : tuple of float
        ``(k,)`` with k > 0, the number of steps over which the rate halves.

    Returns
    -------
    float
        lr_t.
    """
    (k,) = params
    return _inverse_time_decay(t, lr0, k)


@njit(**SERIAL)
def _inverse_time_decay(t, lr0, k):
    return lr0 / (1.0 + (t - 1) / k)


@njit(**SERIAL)
def exponential_decay(t, lr0, params):
    """``lr_t = lr0 * gamma ** s``,  s = t - 1.

    Equivalent: torch.optim.lr_scheduler.ExponentialLR stepped once per step.

    Parameters
    ----------
    t : int
        The step number, >= 1 (the same t the update rules receive).
    lr0 : float
        The base (peak) learning rate, > 0.
    params : tuple of float
        ``(gamma,)`` with gamma in (0, 1].

    Returns
    -------
    float
        lr_t.
    """
    (gamma,) = params
    return _exponential_decay(t, lr0, gamma)


@njit(**SERIAL)
def _exponential_decay(t, lr0, gamma):
    return lr0 * gamma ** float(t - 1)


@njit(**SERIAL)
def step_decay(t, lr0, params):
    """``lr_t = lr0 * gamma ** floor(s / step_size)``,  s = t - 1.

    Equivalent: torch.optim.lr_scheduler.StepLR.

    Parameters
    ----------
    t : int
        The step number, >= 1 (the same t the update rules receive).
    lr0 : float
        The base (peak) learning rate, > 0.
    params : tuple of float
        ``(step_size, gamma)`` with step_size >= 1 a whole number of steps and
        gamma in (0, 1].

    Returns
    -------
    float
        lr_t.
    """
    step_size, gamma = params
    return _step_decay(t, lr0, step_size, gamma)


@njit(**SERIAL)
def _step_decay(t, lr0, step_size, gamma):
    return lr0 * gamma ** float(math.floor((t - 1) / step_size))


@njit(**SERIAL)
def _cosine(lr_max, lr_min, s, span):
    """lr_min + (lr_max - lr_min) * (1 + cos(pi * min(s, span) / span)) / 2."""
    s = min(s, span)
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * s / span))


@njit(**SERIAL)
def cosine_decay(t, lr0, params):
    """Cosine decay from lr0 to lr_min over T steps.

    ::

        lr_t = lr_min + (lr0 - lr_min) * (1 + cos(pi * min(s, T) / T)) / 2

    s = t - 1; after T steps the rate stays at lr_min.
    Equivalent: torch CosineAnnealingLR(T_max=T, eta_min=lr_min) for s <= T,
    optax.cosine_decay_schedule(lr0, T, alpha=lr_min / lr0).

    Parameters
    ----------
    t : int
        The step number, >= 1 (the same t the update rules receive).
    lr0 : float
        The base (peak) learning rate, > 0.
    params : tuple of float
        ``(T, lr_min)`` with T > 0 steps and 0 <= lr_min <= lr0.

    Returns
    -------
    float
        lr_t.
    """
    T, lr_min = params
    return _cosine(lr0, lr_min, float(t - 1), T)


@njit(**SERIAL)
def warmup_cosine(t, lr0, params):
    """Linear warm-up from lr_init to lr0 over W steps, then cosine to lr_end.

    ::

        s = t - 1
        lr_t = lr_init + (lr0 - lr_init) * s / W                         s < W
        lr_t = lr_end + (lr0 - lr_end) * (1 + cos(pi * min(s - W, D) / D)) / 2
                                                       s >= W, D = T - W

    Equivalent: optax.warmup_cosine_decay_schedule(init_value=lr_init,
    peak_value=lr0, warmup_steps=W, decay_steps=T, end_value=lr_end).

    Parameters
    ----------
    t : int
        The step number, >= 1 (the same t the update rules receive).
    lr0 : float
        The base (peak) learning rate, > 0.
    params : tuple of float
        ``(W, T, lr_init, lr_end)`` with 0 <= W < T steps and lr_init,
        lr_end >= 0 (lr_init > 0 so that the first step moves).

    Returns
    -------
    float
        lr_t.
    """
    W, T, lr_init, lr_end = params
    return _warmup_cosine(t, lr0, W, T, lr_init, lr_end)


@njit(**SERIAL)
def _warmup_cosine(t, lr0, W, T, lr_init, lr_end):
    s = float(t - 1)
    if s < W:
        return lr_init + (lr0 - lr_init) * s / W
    return _cosine(lr0, lr_end, s - W, T - W)


# --- torch.optim.lr_scheduler ------------------------------------------------


@njit(**SERIAL)
def constant_lr(t, lr0, params):
    """torch's ConstantLR: ``lr0 * factor`` for s < total_iters, then lr0.

    ::

        lr_t = lr0 * factor                       s < total_iters (or total_iters = 0)
        lr_t = (lr0 * factor) * (1 / factor)      s >= total_iters > 0

    s = t - 1, written as torch's recursion computes it (the rate multiplied
    back by 1 / factor at s = total_iters); with total_iters = 0 torch never
    multiplies back, and neither does this.

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate (torch's initial_lr).
    params : tuple of float
        ``(factor, total_iters)`` with factor in (0, 1] and total_iters >= 0
        a whole number.

    Returns
    -------
    float
        lr_t.
    """
    factor, total_iters = params
    return _constant_lr(t, lr0, factor, total_iters)


@njit(**SERIAL)
def _constant_lr(t, lr0, factor, total_iters):
    if t - 1 < total_iters or total_iters == 0.0:
        return lr0 * factor
    return lr0 * factor * (1.0 / factor)


@njit(**SERIAL)
def linear_lr(t, lr0, params):
    """torch's LinearLR: the factor goes linearly from start to end over T steps.

    ::

        lr_t = lr0 * (a + (b - a) * min(s, T) / T),   s = t - 1

    a = start_factor, b = end_factor, T = total_iters; with T = 0 the rate
    stays lr0 * a (as torch's recursion gives).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple of float
        ``(start_factor, end_factor, total_iters)``: start_factor in (0, 1],
        end_factor in [0, 1], total_iters >= 0 a whole number.

    Returns
    -------
    float
        lr_t.
    """
    a, b, T = params
    return _linear_lr(t, lr0, a, b, T)


@njit(**SERIAL)
def _linear_lr(t, lr0, a, b, T):
    if T == 0.0:
        return lr0 * a
    return lr0 * (a + (b - a) * min(T, float(t - 1)) / T)


@njit(**SERIAL)
def polynomial_lr(t, lr0, params):
    """torch's PolynomialLR: ``lr_t = lr0 * (1 - min(s, T) / T) ** power``, s = t - 1.

    With T = 0 the rate stays lr0 (as torch's recursion gives).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple of float
        ``(total_iters, power)``: T >= 0 a whole number, power >= 0.

    Returns
    -------
    float
        lr_t.
    """
    T, power = params
    return _polynomial_lr(t, lr0, T, power)


@njit(**SERIAL)
def _polynomial_lr(t, lr0, T, power):
    if T == 0.0:
        return lr0
    return lr0 * (1.0 - min(T, float(t - 1)) / T) ** power


@njit(**SERIAL)
def multistep_lr(t, lr0, params):
    """torch's MultiStepLR: ``lr_t = lr0 * gamma ** (number of milestones <= s)``.

    s = t - 1. The milestones are sorted, repeats allowed (a milestone given
    twice decays twice, as torch's Counter does); the factor is applied one
    milestone at a time, ``gamma ** count`` at each, as torch's recursion
    does.

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple of float
        ``(gamma, m_1, ..., m_k)``: gamma > 0 and k >= 0 whole-number
        milestones, sorted.

    Returns
    -------
    float
        lr_t.
    """
    return _multistep_lr(t, lr0, params[0], params, 1, len(params))


@njit(**SERIAL)
def _multistep_lr(t, lr0, gamma, p, start, stop):
    s = float(t - 1)
    lr = lr0
    i = start
    while i < stop and p[i] <= s:
        count = 1
        while i + count < stop and p[i + count] == p[i]:
            count += 1
        lr = lr * gamma ** float(count)
        i += count
    return lr


@njit(**SERIAL)
def cosine_annealing(t, lr0, params):
    """torch's CosineAnnealingLR, periodic past T_max as torch's is.

    ::

        lr_t = eta_min + (lr0 - eta_min) * (1 + cos(pi * s / T_max)) / 2,   s = t - 1

    for every s: past T_max the rate climbs back to lr0 at s = 2 T_max, and so
    on (what torch's recursive form gives; ``cosine_decay`` is the form that
    stays at eta_min instead). lr_1 = lr0 exactly, as in torch.

    Past T_max each rise is computed as torch's recursion computes it: from
    ``top = eta_min + (lr0 - eta_min) * (1 - cos(pi / T_max)) / 2`` at
    s0 = T_max + 1 + 2 k T_max, then ``lr_t = c_s / c_s0 * (top - eta_min) +
    eta_min`` with ``c_s = 1 + cos(pi s / T_max)``. Equal to the formula above
    in exact arithmetic; in floating point c_s0 is tiny (about
    (pi / T_max)^2 / 2) and its rounding shifts torch's whole rise by up to
    ~1e-13 relative, which this form reproduces (tested to 1e-14 against
    torch).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple of float
        ``(T_max, eta_min)``: T_max >= 1 steps.

    Returns
    -------
    float
        lr_t.
    """
    T, eta_min = params
    return _cosine_annealing(t, lr0, T, eta_min)


@njit(**SERIAL)
def _cosine_annealing(t, lr0, T, eta_min):
    s = t - 1
    if s == 0:
        return lr0
    c = 1.0 + math.cos(math.pi * float(s) / T)
    if s <= T:
        return eta_min + (lr0 - eta_min) * c / 2.0
    # each rise starts as torch's recursion starts it, at s0 = T + 1 + 2 k T
    period = 2 * int(T)
    s0 = int(T) + 1 + period * ((s - int(T) - 1) // period)
    top = eta_min + (lr0 - eta_min) * (1.0 - math.cos(math.pi / T)) / 2.0
    if s == s0:
        return top
    c0 = 1.0 + math.cos(math.pi * float(s0) / T)
    return c / c0 * (top - eta_min) + eta_min


@njit(**SERIAL)
def cosine_warm_restarts(t, lr0, params):
    """torch's CosineAnnealingWarmRestarts (SGDR, Loshchilov & Hutter 2017).

    ::

        lr_t = eta_min + (lr0 - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    with T_cur the steps since the last restart and T_i the current cycle's
    length: the first cycle has T_0 steps, each next one T_mult times as
    many; s = t - 1 = T_cur + T_0 + T_0 T_mult + ... (the cycles done).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple of float
        ``(T_0, T_mult, eta_min)``: T_0 >= 1 and T_mult >= 1 whole numbers.

    Returns
    -------
    float
        lr_t.
    """
    T0, T_mult, eta_min = params
    return _cosine_warm_restarts(t, lr0, T0, T_mult, eta_min)


@njit(**SERIAL)
def _cosine_warm_restarts(t, lr0, T0, T_mult, eta_min):
    s = t - 1
    if T_mult == 1.0:
        T_i = T0
        T_cur = float(s % int(T0))
    else:
        T_i = T0
        T_cur = float(s)
        while T_cur >= T_i:
            T_cur -= T_i
            T_i *= T_mult
    return eta_min + (lr0 - eta_min) * (1.0 + math.cos(math.pi * T_cur / T_i)) / 2.0


@njit(**SERIAL)
def cyclic_lr(t, lr0, params):
    """torch's CyclicLR (Smith 2017): triangular cycles between lr0 and max_lr.

    ::

        s = t - 1,  L = up + down,  cycle = floor(1 + s / L),  x = 1 + s / L - cycle
        h = x / (up / L)                      x <= up / L
        h = (x - 1) / (up / L - 1)            otherwise
        lr_t = lr0 + (max_lr - lr0) * h * scale

    scale = 1 (mode 0, 'triangular'), 1 / 2 ** (cycle - 1) (mode 1,
    'triangular2'), gamma ** s (mode 2, 'exp_range'). lr0 is torch's
    base_lr. torch's momentum cycling (cycle_momentum) is not part of the
    rate: set the optimizer's momentum yourself if you need it.

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The lower rate of the cycle (torch's base_lr).
    params : tuple of float
        ``(max_lr, step_size_up, step_size_down, mode, gamma)``: up > 0 and
        down >= 0 steps, mode 0, 1 or 2, gamma (read by mode 2 only).

    Returns
    -------
    float
        lr_t.
    """
    max_lr, up, down, mode, gamma = params
    return _cyclic_lr(t, lr0, max_lr, up, down, mode, gamma)


@njit(**SERIAL)
def _cyclic_lr(t, lr0, max_lr, up, down, mode, gamma):
    s = float(t - 1)
    total = up + down
    ratio = up / total
    cycle = math.floor(1.0 + s / total)
    x = 1.0 + s / total - cycle
    if x <= ratio:
        h = x / ratio
    else:
        h = (x - 1.0) / (ratio - 1.0)
    height = (max_lr - lr0) * h
    if mode == 0.0:
        return lr0 + height * 1.0
    if mode == 1.0:
        return lr0 + height * (1.0 / (2.0 ** (cycle - 1.0)))
    return lr0 + height * gamma ** s


@njit(**SERIAL)
def _anneal(start, end, pct, linear):
    """OneCycleLR's annealing from start to end at fraction pct."""
    if linear:
        return (end - start) * pct + start
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


@njit(**SERIAL)
def one_cycle_lr(t, lr0, params):
    """torch's OneCycleLR (Smith & Topin 2018): up to max_lr, then down to min_lr.

    lr0 is max_lr; lr_init = max_lr / div_factor, lr_min = lr_init /
    final_div_factor, N = total_steps, p = pct_start. The phases end at step
    (s = t - 1) e_1 = p N - 1 (lr_init -> max_lr) and e_2 = N - 1 (max_lr ->
    lr_min); with three_phase, e_1 = p N - 1 (lr_init -> max_lr), e_2 = 2 p N -
    2 (max_lr -> lr_init), e_3 = N - 1 (lr_init -> lr_min). Within the phase
    from e_a (0 for the first) to e_b holding s::

        pct = (s - e_a) / (e_b - e_a)
        lr_t = end + (start - end) / 2 * (cos(pi * pct) + 1)     anneal 0 ('cos')
        lr_t = (end - start) * pct + start                       anneal 1 ('linear')

    torch raises past s = N; here the rate is lr_min for s > N. torch's
    momentum cycling is not part of the rate.

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        max_lr, the peak rate.
    params : tuple of float
        ``(total_steps, pct_start, anneal, div_factor, final_div_factor,
        three_phase)``: total_steps >= 1, pct_start in [0, 1], anneal 0 or 1,
        three_phase 0 or 1.

    Returns
    -------
    float
        lr_t.
    """
    N, pct_start, anneal, div_factor, final_div_factor, three_phase = params
    return _one_cycle_lr(t, lr0, N, pct_start, anneal, div_factor, final_div_factor,
                         three_phase)


@njit(**SERIAL)
def _one_cycle_lr(t, lr0, N, pct_start, anneal, div_factor, final_div_factor, three_phase):
    s = float(t - 1)
    initial = lr0 / div_factor
    low = initial / final_div_factor
    if s > N:
        return low
    linear = anneal == 1.0
    e1 = pct_start * N - 1.0
    if s <= e1:
        return _anneal(initial, lr0, s / e1, linear)
    if three_phase == 1.0:
        e2 = 2.0 * pct_start * N - 2.0
        if s <= e2:
            return _anneal(lr0, initial, (s - e1) / (e2 - e1), linear)
        return _anneal(initial, low, (s - e2) / (N - 1.0 - e2), linear)
    return _anneal(lr0, low, (s - e1) / (N - 1.0 - e1), linear)


@njit(**SERIAL)
def swa_lr(t, lr0, params):
    """torch.optim.swa_utils.SWALR: anneal from lr0 to swa_lr over A steps, then swa_lr.

    ::

        k = s = t - 1 (k = max(1, s) when A = 0),  u = clip(k / max(1, A), 0, 1)
        alpha = (1 - cos(pi u)) / 2    (anneal 0, 'cos')     alpha = u    (anneal 1, 'linear')
        lr_t = swa_lr * alpha + lr0 * (1 - alpha)

    lr0 is the rate the optimizer had when SWALR was made (torch recovers it
    from the current rate at each step; in exact arithmetic the same).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The rate before the annealing.
    params : tuple of float
        ``(swa_lr, anneal_epochs, anneal)``: anneal_epochs A >= 0 a whole
        number, anneal 0 or 1.

    Returns
    -------
    float
        lr_t.
    """
    target, A, anneal = params
    k = float(t - 1)
    if A == 0.0:
        k = max(1.0, k)
    u = max(0.0, min(1.0, k / max(1.0, A)))
    alpha = u if anneal == 1.0 else (1.0 - math.cos(math.pi * u)) / 2.0
    return target * alpha + lr0 * (1.0 - alpha)


@njit(**SERIAL)
def lambda_lr(t, lr0, params):
    """torch's LambdaLR: ``lr_t = lr0 * f(s)``, s = t - 1, f the user's @njit function.

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple
        ``(f,)``: f(epoch: int) -> float, an @njit function (or its
        ``function_refs.cacheable`` FunctionRef).

    Returns
    -------
    float
        lr_t.
    """
    f = params[0]
    return lr0 * f(t - 1)


@njit(**SERIAL)
def multiplicative_lr(t, lr0, params):
    """torch's MultiplicativeLR: ``lr_t = lr0 * f(1) * f(2) * ... * f(s)``, s = t - 1.

    The product is taken in torch's order, so the rate has torch's bits; it
    costs s calls of f (a run of T steps, T^2 / 2: write the product in
    closed form with ``lambda_lr`` for long runs).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple
        ``(f,)``: f(epoch: int) -> float, an @njit function (or its
        FunctionRef).

    Returns
    -------
    float
        lr_t.
    """
    f = params[0]
    lr = lr0
    for k in range(1, t):
        lr = lr * f(k)
    return lr


# The kernels a composition may hold, by code: a piece (code, lr0, n, p_1..p_n).
PIECE_KERNELS = ("constant", "inverse_time_decay", "exponential_decay", "step_decay",
                 "cosine_decay", "warmup_cosine", "constant_lr", "linear_lr",
                 "polynomial_lr", "multistep_lr", "cosine_annealing",
                 "cosine_warm_restarts", "cyclic_lr", "one_cycle_lr")


@njit(**SERIAL)
def _piece(t, lr0, p, o):
    """The rate at step t of the piece at p[o:], (code, lr0, n, p_1..p_n), with
    the lr0 given."""
    code = p[o]
    a = o + 3
    if code == 0.0:
        return lr0
    if code == 1.0:
        return _inverse_time_decay(t, lr0, p[a])
    if code == 2.0:
        return _exponential_decay(t, lr0, p[a])
    if code == 3.0:
        return _step_decay(t, lr0, p[a], p[a + 1])
    if code == 4.0:
        return _cosine(lr0, p[a + 1], float(t - 1), p[a])
    if code == 5.0:
        return _warmup_cosine(t, lr0, p[a], p[a + 1], p[a + 2], p[a + 3])
    if code == 6.0:
        return _constant_lr(t, lr0, p[a], p[a + 1])
    if code == 7.0:
        return _linear_lr(t, lr0, p[a], p[a + 1], p[a + 2])
    if code == 8.0:
        return _polynomial_lr(t, lr0, p[a], p[a + 1])
    if code == 9.0:
        return _multistep_lr(t, lr0, p[a], p, a + 1, a + int(p[o + 2]))
    if code == 10.0:
        return _cosine_annealing(t, lr0, p[a], p[a + 1])
    if code == 11.0:
        return _cosine_warm_restarts(t, lr0, p[a], p[a + 1], p[a + 2])
    if code == 12.0:
        return _cyclic_lr(t, lr0, p[a], p[a + 1], p[a + 2], p[a + 3], p[a + 4])
    return _one_cycle_lr(t, lr0, p[a], p[a + 1], p[a + 2], p[a + 3], p[a + 4], p[a + 5])


@njit(**SERIAL)
def sequential_lr(t, lr0, params):
    """torch's SequentialLR: piece j runs from milestone m_j on, restarted there.

    ::

        j = number of milestones <= s,  s = t - 1,  m_0 = 0
        lr_t = piece_j(t - m_j)

    each piece with its own lr0 (torch's pieces share the optimizer's
    initial_lr; CyclicLR and OneCycleLR bring their own).

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        Not read (each piece has its own); the first piece's lr0 by convention.
    params : tuple of float
        ``(k, m_1, ..., m_{k-1}, piece_1, ..., piece_k)``: k >= 1 pieces,
        sorted whole-number milestones, each piece ``(code, lr0, n, p_1..p_n)``
        with code an index of ``PIECE_KERNELS``.

    Returns
    -------
    float
        lr_t.
    """
    k = int(params[0])
    s = float(t - 1)
    j = 0
    while j < k - 1 and params[1 + j] <= s:
        j += 1
    start = 0 if j == 0 else int(params[j])
    o = k
    for _ in range(j):
        o += 3 + int(params[o + 2])
    return _piece(t - start, params[o + 1], params, o)


@njit(**SERIAL)
def chained_lr(t, lr0, params):
    """torch's ChainedScheduler: the pieces' factors multiplied.

    ::

        lr_t = lr0 * f_1(t) * ... * f_k(t),   f_j(t) = piece_j(t) with lr0 = 1

    Equal to torch's chain when every piece scales the rate it is given
    (torch's recursive forms of ConstantLR, LinearLR, PolynomialLR, StepLR,
    MultiStepLR, ExponentialLR; CosineAnnealingLR with eta_min = 0 up to
    T_max): the facade allows those only.

    Parameters
    ----------
    t : int
        The step number, >= 1.
    lr0 : float
        The base learning rate.
    params : tuple of float
        ``(k, piece_1, ..., piece_k)``, each piece ``(code, lr0, n, p_1..p_n)``
        (its lr0 is not read).

    Returns
    -------
    float
        lr_t.
    """
    k = int(params[0])
    lr = lr0
    o = 1
    for _ in range(k):
        lr = lr * _piece(t, 1.0, params, o)
        o += 3 + int(params[o + 2])
    return lr


# --- ReduceLROnPlateau: a state array, updated from the loss -----------------
# The entries of a plateau state (float64 (PLATEAU_SIZE,)): the current rate,
# torch's counters (best, num_bad_epochs, cooldown_counter, last_epoch) and
# the settings (mode 0 'min' / 1 'max', threshold_mode 0 'rel' / 1 'abs',
# factor, patience, threshold, cooldown, min_lr, eps). Counts are whole
# numbers held exactly below 2**53.
(PLATEAU_LR, PLATEAU_BEST, PLATEAU_BAD, PLATEAU_COOLDOWN_COUNTER, PLATEAU_EPOCH, PLATEAU_MODE,
 PLATEAU_THRESHOLD_MODE, PLATEAU_FACTOR, PLATEAU_PATIENCE, PLATEAU_THRESHOLD, PLATEAU_COOLDOWN,
 PLATEAU_MIN_LR, PLATEAU_EPS) = range(13)
PLATEAU_SIZE = 13


@njit(**SERIAL)
def plateau_state(lr, mode_max, threshold_abs, factor, patience, threshold, cooldown, min_lr,
                  eps):
    """A fresh plateau state (torch's ReduceLROnPlateau just made).

    Parameters
    ----------
    lr : float
        The optimizer's rate, >= 0.
    mode_max, threshold_abs : bool
        mode 'max' (else 'min'), threshold_mode 'abs' (else 'rel').
    factor : float
        In [0, 1).
    patience, cooldown : int
        >= 0.
    threshold, min_lr, eps : float
        threshold finite, min_lr and eps >= 0.

    Returns
    -------
    numpy.ndarray
        float64 (PLATEAU_SIZE,); best is inf in mode 'min', -inf in 'max'.
    """
    s = np.zeros(PLATEAU_SIZE)
    s[PLATEAU_LR] = lr
    s[PLATEAU_BEST] = -math.inf if mode_max else math.inf
    s[PLATEAU_MODE] = 1.0 if mode_max else 0.0
    s[PLATEAU_THRESHOLD_MODE] = 1.0 if threshold_abs else 0.0
    s[PLATEAU_FACTOR] = factor
    s[PLATEAU_PATIENCE] = patience
    s[PLATEAU_THRESHOLD] = threshold
    s[PLATEAU_COOLDOWN] = cooldown
    s[PLATEAU_MIN_LR] = min_lr
    s[PLATEAU_EPS] = eps
    return s


@njit(**SERIAL, inline="always")
def plateau_step(state, metric):
    """torch's ``ReduceLROnPlateau.step(metric)`` on a plateau state, in place.

    ::

        better: metric < best * (1 - threshold)   ('min', 'rel')
                metric < best - threshold         ('min', 'abs')
                metric > best * (threshold + 1)   ('max', 'rel')
                metric > best + threshold         ('max', 'abs')
        better: best = metric, bad = 0; else bad += 1
        cooldown_counter > 0: cooldown_counter -= 1, bad = 0
        bad > patience: new = max(lr * factor, min_lr), lr = new if lr - new > eps,
                        cooldown_counter = cooldown, bad = 0

    torch's arithmetic, so the same rates for the same metrics. Allocates
    nothing.

    Parameters
    ----------
    state : numpy.ndarray
        A plateau state (``plateau_state``), updated.
    metric : float
        The loss (or the quantity watched) after this step.

    Returns
    -------
    bool
        Whether the rate was lowered.
    """
    best = state[PLATEAU_BEST]
    threshold = state[PLATEAU_THRESHOLD]
    if state[PLATEAU_MODE] == 0.0:
        if state[PLATEAU_THRESHOLD_MODE] == 0.0:
            better = metric < best * (1.0 - threshold)
        else:
            better = metric < best - threshold
    elif state[PLATEAU_THRESHOLD_MODE] == 0.0:
        better = metric > best * (threshold + 1.0)
    else:
        better = metric > best + threshold
    state[PLATEAU_EPOCH] += 1.0
    if better:
        state[PLATEAU_BEST] = metric
        state[PLATEAU_BAD] = 0.0
    else:
        state[PLATEAU_BAD] += 1.0
    if state[PLATEAU_COOLDOWN_COUNTER] > 0.0:
        state[PLATEAU_COOLDOWN_COUNTER] -= 1.0
        state[PLATEAU_BAD] = 0.0
    reduced = False
    if state[PLATEAU_BAD] > state[PLATEAU_PATIENCE]:
        old = state[PLATEAU_LR]
        new = max(old * state[PLATEAU_FACTOR], state[PLATEAU_MIN_LR])
        if old - new > state[PLATEAU_EPS]:
            state[PLATEAU_LR] = new
            reduced = True
        state[PLATEAU_COOLDOWN_COUNTER] = state[PLATEAU_COOLDOWN]
        state[PLATEAU_BAD] = 0.0
    return reduced


@njit(**SERIAL)
def plateau_lr(t, lr0, params):
    """The rate of a ReduceLROnPlateau: ``lr_t = params[PLATEAU_LR]``.

    A schedule like the others (the driver's first-order loop with a plateau,
    kernels.driver.FIRST_ORDER_PLATEAU, passes the plateau state as params
    and calls ``plateau_step`` with each step's f); t and lr0 are not read.

    Parameters
    ----------
    t : int
        The step number, >= 1 (not read).
    lr0 : float
        Not read: the rate is the state's.
    params : numpy.ndarray
        A plateau state (``plateau_state``).

    Returns
    -------
    float
        lr_t.
    """
    return params[PLATEAU_LR]
