"""Learning-rate schedules as @njit functions of the step.

One signature for every schedule, so a compiled loop can call any of them::

    schedule(t, lr0, params) -> lr_t

t       int >= 1, the step number (the same t the update rules receive)
lr0     float > 0, the base (peak) learning rate
params  tuple of floats, the schedule's parameters in the order given below

The first step uses the base rate: each formula is written in s = t - 1, the
number of steps already taken, as torch.optim.lr_scheduler counts epochs and
optax counts updates.
"""
import math

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
    s = float(t - 1)
    if s < W:
        return lr_init + (lr0 - lr_init) * s / W
    return _cosine(lr0, lr_end, s - W, T - W)
