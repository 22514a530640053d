"""Learning-rate schedules for the optimizer objects.

Each constructor checks its arguments and returns a `Schedule`, a record of
a compiled schedule from ``gdfast.kernels.schedules`` with its base rate
and parameters. ``schedule(t)`` gives the learning rate of step t (t = 1 on
the first step, which uses ``lr0``); the formulas are in the kernels'
docstrings. Pass a schedule as any optimizer's ``lr``.
"""
from typing import Callable, NamedTuple

from . import _validation as check
from . import kernels


class Schedule(NamedTuple):
    """A compiled learning-rate schedule with its base rate and parameters.

    Made by the constructors of `gdfast.schedules`; calling it,
    ``schedule(t)``, gives the rate of step t (t = 1 on the first step).

    Parameters
    ----------
    name : str
        The schedule's name: 'constant', 'inverse_time_decay', ...
    kernel : numba @njit function
        ``kernel(t, lr0, params) -> lr_t``, from `gdfast.kernels`.
    lr0 : float
        The base (peak) learning rate.
    params : tuple of float
        The kernel's params tuple.
    """
    name: str
    kernel: Callable   # njit (t, lr0, params) -> lr_t
    lr0: float
    params: tuple      # floats, the kernel's params tuple

    def __call__(self, t: int) -> float:
        return self.kernel(t, self.lr0, self.params)

    def __reduce__(self):
        # the kernel by name: unpickled in another process (a Dask worker) a
        # numba dispatcher is rebuilt as a new object that compiles afresh
        return (_schedule_of_kernel, (self.name, self.lr0, self.params))


def _schedule_of_kernel(name: str, lr0: float, params: tuple) -> Schedule:
    """Schedule(name, gdfast.kernels.<name>, lr0, params): how a pickled one is rebuilt."""
    return Schedule(name, getattr(kernels, name), lr0, params)


def constant(lr: float) -> Schedule:
    """A constant rate: ``lr_t = lr``.

    Parameters
    ----------
    lr : float
        The rate, >= 0 (0 freezes the parameters, as in torch.optim).

    Returns
    -------
    Schedule
    """
    return Schedule("constant", kernels.constant, check.non_negative("lr", lr), ())


def inverse_time_decay(lr0: float, k: float) -> Schedule:
    """``lr_t = lr0 / (1 + (t - 1) / k)``: the classic tutorials' adaptive rate.

    Parameters
    ----------
    lr0 : float
        The rate of the first step, > 0.
    k : float
        > 0, the number of steps over which the rate halves (the tutorials:
        k = 50).

    Returns
    -------
    Schedule

    Examples
    --------
    >>> import gdfast
    >>> lr = gdfast.schedules.inverse_time_decay(0.5, 1000)
    >>> print(lr(1), lr(1001))
    0.5 0.25
    >>> opt = gdfast.Adam(lr=lr)
    """
    return Schedule("inverse_time_decay", kernels.inverse_time_decay,
                    check.positive("lr0", lr0), (check.positive("k", k),))


def exponential_decay(lr0: float, gamma: float) -> Schedule:
    """``lr_t = lr0 * gamma ** (t - 1)``.

    Parameters
    ----------
    lr0 : float
        The rate of the first step, > 0.
    gamma : float
        The factor per step, in (0, 1].

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        gamma outside (0, 1], or lr0 <= 0.
    """
    g = check.positive("gamma", gamma)
    if g > 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    return Schedule("exponential_decay", kernels.exponential_decay,
                    check.positive("lr0", lr0), (g,))


def step_decay(lr0: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr_t = lr0 * gamma ** ((t - 1) // step_size)``.

    Parameters
    ----------
    lr0 : float
        The rate of the first step, > 0.
    step_size : int
        >= 1, the steps between two decays.
    gamma : float, default 0.1
        The factor of each decay, in (0, 1].

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        An argument out of its range.
    """
    g = check.positive("gamma", gamma)
    if g > 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    return Schedule("step_decay", kernels.step_decay, check.positive("lr0", lr0),
                    (float(check.whole_number("step_size", step_size, 1)), g))


def cosine_decay(lr0: float, decay_steps: int, lr_min: float = 0.0) -> Schedule:
    """Cosine from lr0 down to lr_min over decay_steps steps, then lr_min.

    Parameters
    ----------
    lr0 : float
        The rate of the first step, > 0.
    decay_steps : int
        >= 1, the steps of the cosine.
    lr_min : float, default 0.0
        The final rate, 0 <= lr_min <= lr0.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        An argument out of its range.
    """
    lr0 = check.positive("lr0", lr0)
    lr_min = check.non_negative("lr_min", lr_min)
    if lr_min > lr0:
        raise ValueError(f"lr_min must be <= lr0 ({lr0!r}), got {lr_min!r}")
    return Schedule("cosine_decay", kernels.cosine_decay, lr0,
                    (float(check.whole_number("decay_steps", decay_steps, 1)), lr_min))


def warmup_cosine(lr0: float, warmup_steps: int, decay_steps: int, lr_init: float = 0.0,
                  lr_end: float = 0.0) -> Schedule:
    """Linear warm-up lr_init -> lr0 over warmup_steps, then cosine to lr_end.

    The cosine ends at step decay_steps (optax.warmup_cosine_decay_schedule).

    Parameters
    ----------
    lr0 : float
        The peak rate, > 0.
    warmup_steps : int
        >= 1, the steps of the warm-up.
    decay_steps : int
        > warmup_steps, the step where the cosine reaches lr_end.
    lr_init : float, default 0.0
        >= 0, the rate of the first step.
    lr_end : float, default 0.0
        >= 0, the final rate.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        An argument out of its range.
    """
    warm = check.whole_number("warmup_steps", warmup_steps, 1)
    total = check.whole_number("decay_steps", decay_steps, 1)
    if total <= warm:
        raise ValueError(f"decay_steps must be > warmup_steps ({warm}), got {total}")
    return Schedule("warmup_cosine", kernels.warmup_cosine, check.positive("lr0", lr0),
                    (float(warm), float(total), check.non_negative("lr_init", lr_init),
                     check.non_negative("lr_end", lr_end)))


def as_schedule(lr: "float | Schedule") -> Schedule:
    """A float lr becomes a constant schedule; a Schedule passes through.

    Parameters
    ----------
    lr : float or Schedule
        A rate >= 0, or a schedule.

    Returns
    -------
    Schedule
    """
    if isinstance(lr, Schedule):
        return lr
    return constant(lr)
