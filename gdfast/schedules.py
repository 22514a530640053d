"""Learning-rate schedules for the optimizer objects.

Each constructor checks its arguments and returns a `Schedule`, a record of
a compiled schedule from ``gdfast.kernels.schedules`` with its base rate
and parameters. ``schedule(t)`` gives the learning rate of step t (t = 1 on
the first step, which uses ``lr0``); the formulas are in the kernels'
docstrings. Pass a schedule as any optimizer's ``lr``.

Every torch.optim.lr_scheduler class has an equivalent, with torch's
argument names (the optimizer replaced by the base rate): `constant_lr`,
`linear_lr`, `polynomial_lr`, `step_decay` (StepLR), `multistep_lr`,
`exponential_decay` (ExponentialLR), `cosine_annealing` (CosineAnnealingLR,
periodic past T_max as torch's; `cosine_decay` stays at the floor),
`cosine_warm_restarts`, `cyclic_lr`, `one_cycle_lr`, `swa_lr` (swa_utils.SWALR),
`lambda_lr` and `multiplicative_lr` (a user's @njit function), `sequential_lr`
and `chained_lr` (compositions), and `ReduceLROnPlateau`, an object that
reads the loss and sets an optimizer's live ``lr``. torch's rate after k
calls of ``scheduler.step()`` is the schedule's value at t = k + 1.
"""
import math
from typing import Any, Callable, NamedTuple, Sequence

import numba
import numpy as np
from numba.extending import is_jitted

from . import _validation as check
from . import kernels
from .kernels.function_refs import FunctionRef, cacheable
from .kernels.schedules import PIECE_KERNELS


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
    params : tuple
        The kernel's params tuple: floats, or ``(f,)`` with a user's @njit
        function for `lambda_lr` and `multiplicative_lr`.
    """
    name: str
    kernel: Callable   # njit (t, lr0, params) -> lr_t
    lr0: float
    params: tuple      # floats (or (f,): lambda_lr, multiplicative_lr)

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


# --- torch.optim.lr_scheduler ------------------------------------------------

def _unit(name: str, value: Any, *, open_left: bool = False) -> float:
    """A float in [0, 1] ((0, 1] with open_left)."""
    v = check.finite(name, value)
    if not (0.0 < v <= 1.0 if open_left else 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be in {'(' if open_left else '['}0, 1], got {value!r}")
    return v


def _anneal_code(name: str, value: Any) -> float:
    if value not in ("cos", "linear"):
        raise ValueError(f"{name} must be 'cos' or 'linear', got {value!r}")
    return 0.0 if value == "cos" else 1.0


def constant_lr(lr0: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """torch's ConstantLR: ``lr0 * factor`` for the first total_iters steps, then lr0.

    ``lr_t = lr0 * factor`` for s = t - 1 < total_iters, lr0 after (see
    ``gdfast.kernels.constant_lr``).

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    factor : float, default 1/3
        In (0, 1].
    total_iters : int, default 5
        >= 0 steps at the reduced rate (0: torch then keeps lr0 * factor).

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    return Schedule("constant_lr", kernels.constant_lr, check.non_negative("lr0", lr0),
                    (_unit("factor", factor, open_left=True),
                     float(check.whole_number("total_iters", total_iters, 0))))


def linear_lr(lr0: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
              total_iters: int = 5) -> Schedule:
    """torch's LinearLR: the factor goes linearly from start_factor to end_factor.

    ``lr_t = lr0 * (a + (b - a) * min(s, T) / T)``, s = t - 1, a = start_factor,
    b = end_factor, T = total_iters.

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    start_factor : float, default 1/3
        In (0, 1].
    end_factor : float, default 1.0
        In [0, 1].
    total_iters : int, default 5
        >= 0, the steps of the ramp.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    return Schedule("linear_lr", kernels.linear_lr, check.non_negative("lr0", lr0),
                    (_unit("start_factor", start_factor, open_left=True),
                     _unit("end_factor", end_factor),
                     float(check.whole_number("total_iters", total_iters, 0))))


def polynomial_lr(lr0: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    """torch's PolynomialLR: ``lr_t = lr0 * (1 - min(s, T) / T) ** power``, s = t - 1.

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    total_iters : int, default 5
        T >= 0, the steps of the decay (the rate is 0 from s = T on).
    power : float, default 1.0
        >= 0.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    return Schedule("polynomial_lr", kernels.polynomial_lr, check.non_negative("lr0", lr0),
                    (float(check.whole_number("total_iters", total_iters, 0)),
                     check.non_negative("power", power)))


def multistep_lr(lr0: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """torch's MultiStepLR: the rate times gamma at each milestone.

    ``lr_t = lr0 * gamma ** (number of milestones <= s)``, s = t - 1; a
    milestone given twice decays twice, as in torch.

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    milestones : sequence of int
        Steps s >= 0 (torch's epochs), in any order.
    gamma : float, default 0.1
        The factor of each decay, > 0.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.

    Examples
    --------
    >>> import gdfast
    >>> lr = gdfast.schedules.multistep_lr(0.1, [2, 4], gamma=0.5)
    >>> [lr(t) for t in range(1, 7)]
    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """
    if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
        raise TypeError(f"milestones must be a sequence of integers, got {milestones!r}")
    ms = sorted(float(check.whole_number(f"milestones[{i}]", m, 0))
                for i, m in enumerate(milestones))
    return Schedule("multistep_lr", kernels.multistep_lr, check.non_negative("lr0", lr0),
                    (check.positive("gamma", gamma), *ms))


def cosine_annealing(lr0: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    """torch's CosineAnnealingLR, periodic past T_max as torch's is.

    ``lr_t = eta_min + (lr0 - eta_min) * (1 + cos(pi * s / T_max)) / 2`` for
    every s = t - 1: after T_max steps the rate rises again, back to lr0 at
    2 T_max. `cosine_decay` is the other form: it stays at its floor after
    T_max steps.

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    T_max : int
        >= 1, the steps of half a period.
    eta_min : float, default 0.0
        The floor, finite.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    return Schedule("cosine_annealing", kernels.cosine_annealing, check.non_negative("lr0", lr0),
                    (float(check.whole_number("T_max", T_max, 1)),
                     check.finite("eta_min", eta_min)))


def cosine_warm_restarts(lr0: float, T_0: int, T_mult: int = 1,
                         eta_min: float = 0.0) -> Schedule:
    """torch's CosineAnnealingWarmRestarts: cosine cycles of T_0, T_0 T_mult, ... steps.

    ``lr_t = eta_min + (lr0 - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``,
    T_cur the steps since the last restart, T_i the current cycle's length.

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    T_0 : int
        >= 1, the first cycle's length.
    T_mult : int, default 1
        >= 1, the growth of each next cycle.
    eta_min : float, default 0.0
        The floor, finite.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    return Schedule("cosine_warm_restarts", kernels.cosine_warm_restarts,
                    check.non_negative("lr0", lr0),
                    (float(check.whole_number("T_0", T_0, 1)),
                     float(check.whole_number("T_mult", T_mult, 1)),
                     check.finite("eta_min", eta_min)))


_CYCLIC_MODES = {"triangular": 0.0, "triangular2": 1.0, "exp_range": 2.0}


def cyclic_lr(base_lr: float, max_lr: float, step_size_up: int = 2000,
              step_size_down: "int | None" = None, mode: str = "triangular",
              gamma: float = 1.0) -> Schedule:
    """torch's CyclicLR: triangular cycles between base_lr and max_lr.

    Formula in ``gdfast.kernels.cyclic_lr``; the schedule's lr0 is base_lr.
    torch's momentum cycling (cycle_momentum) changes the momentum, not the
    rate, and is not part of a schedule: the rates equal torch's for either
    setting.

    Parameters
    ----------
    base_lr : float
        The low end of the cycle, >= 0.
    max_lr : float
        The high end, finite.
    step_size_up : int, default 2000
        >= 1, the steps of the rise.
    step_size_down : int, optional
        >= 0, the steps of the fall (default: step_size_up).
    mode : {'triangular', 'triangular2', 'exp_range'}
        The amplitude: constant, halved each cycle, or gamma ** s.
    gamma : float, default 1.0
        exp_range's factor per step, > 0.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    if mode not in _CYCLIC_MODES:
        raise ValueError(f"mode must be one of {sorted(_CYCLIC_MODES)}, got {mode!r}")
    up = float(check.whole_number("step_size_up", step_size_up, 1))
    down = up if step_size_down is None else float(
        check.whole_number("step_size_down", step_size_down, 0))
    return Schedule("cyclic_lr", kernels.cyclic_lr, check.non_negative("base_lr", base_lr),
                    (check.finite("max_lr", max_lr), up, down, _CYCLIC_MODES[mode],
                     check.positive("gamma", gamma)))


def one_cycle_lr(max_lr: float, total_steps: "int | None" = None, *,
                 epochs: "int | None" = None, steps_per_epoch: "int | None" = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> Schedule:
    """torch's OneCycleLR: from max_lr / div_factor up to max_lr, then down.

    Formula in ``gdfast.kernels.one_cycle_lr``; the schedule's lr0 is max_lr.
    torch raises past total_steps; this schedule then gives the final rate
    max_lr / div_factor / final_div_factor. torch's momentum cycling is not
    part of the rate (the rates equal torch's for either setting).

    Parameters
    ----------
    max_lr : float
        The peak rate, >= 0.
    total_steps : int, optional
        >= 1, the steps of the cycle; or give epochs and steps_per_epoch.
    epochs : int, optional
        >= 1, with steps_per_epoch: total_steps = epochs * steps_per_epoch.
    steps_per_epoch : int, optional
        >= 1.
    pct_start : float, default 0.3
        In [0, 1], the fraction of the steps spent rising.
    anneal_strategy : {'cos', 'linear'}
        The shape of each phase.
    div_factor : float, default 25.0
        > 0, max_lr / the starting rate.
    final_div_factor : float, default 1e4
        > 0, the starting rate / the final rate.
    three_phase : bool, default False
        Back down to the starting rate symmetrically, then to the final rate.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or a phase of no length that torch
        would divide by (pct_start * total_steps = 1, or a last phase of no
        steps).
    """
    if total_steps is not None:
        N = check.whole_number("total_steps", total_steps, 1)
    elif epochs is not None and steps_per_epoch is not None:
        N = (check.whole_number("epochs", epochs, 1)
             * check.whole_number("steps_per_epoch", steps_per_epoch, 1))
    else:
        raise ValueError("give total_steps, or epochs and steps_per_epoch")
    pct = _unit("pct_start", pct_start)
    phased = check.boolean("three_phase", three_phase)
    e1 = pct * N - 1.0
    last_start = 2.0 * pct * N - 2.0 if phased else e1
    if e1 == 0.0 or (N - 1.0) - last_start == 0.0:
        raise ValueError(f"pct_start={pct_start!r} with total_steps={N} makes a phase of no "
                         "length (torch divides by it)")
    return Schedule("one_cycle_lr", kernels.one_cycle_lr, check.non_negative("max_lr", max_lr),
                    (float(N), pct, _anneal_code("anneal_strategy", anneal_strategy),
                     check.positive("div_factor", div_factor),
                     check.positive("final_div_factor", final_div_factor), float(phased)))


def swa_lr(lr0: float, swa_lr: float, anneal_epochs: int = 10,
           anneal_strategy: str = "cos") -> Schedule:
    """torch.optim.swa_utils.SWALR: from lr0 to swa_lr over anneal_epochs steps.

    ``lr_t = swa_lr * alpha + lr0 * (1 - alpha)``, alpha the annealing of
    min(s / anneal_epochs, 1) (see ``gdfast.kernels.swa_lr``).

    Parameters
    ----------
    lr0 : float
        The rate the optimizer had when SWALR was made, >= 0.
    swa_lr : float
        The final rate, >= 0.
    anneal_epochs : int, default 10
        >= 0 (0: swa_lr from the first step, as in torch).
    anneal_strategy : {'cos', 'linear'}
        The shape of the annealing.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or not a number.
    """
    return Schedule("swa_lr", kernels.swa_lr, check.non_negative("lr0", lr0),
                    (check.non_negative("swa_lr", swa_lr),
                     float(check.whole_number("anneal_epochs", anneal_epochs, 0)),
                     _anneal_code("anneal_strategy", anneal_strategy)))


def _user_function(name: str, f: Any) -> Any:
    # under NUMBA_DISABLE_JIT=1 an @njit function is the plain Python function
    jitted = is_jitted(f) or (numba.config.DISABLE_JIT and callable(f))
    if not (isinstance(f, FunctionRef) or jitted):
        raise TypeError(f"{name} must be an @njit function of the epoch (int -> float), "
                        f"got {f!r}")
    return cacheable(f)


def lambda_lr(lr0: float, lr_lambda: Callable[[int], float]) -> Schedule:
    """torch's LambdaLR: ``lr_t = lr0 * lr_lambda(s)``, s = t - 1.

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    lr_lambda : @njit function
        ``lr_lambda(epoch: int) -> float``, compiled with numba (so that the
        schedule runs inside compiled loops). Register it with
        `gdfast.cached_objective` to have the loops that call it cached on disk.

    Returns
    -------
    Schedule

    Raises
    ------
    TypeError
        lr_lambda not an @njit function.

    Examples
    --------
    >>> import numba, gdfast
    >>> @numba.njit
    ... def warmup(epoch):
    ...     return min(1.0, (epoch + 1) / 10)
    >>> lr = gdfast.schedules.lambda_lr(0.5, warmup)
    >>> print(lr(1), lr(10))
    0.05 0.5
    """
    return Schedule("lambda_lr", kernels.lambda_lr, check.non_negative("lr0", lr0),
                    (_user_function("lr_lambda", lr_lambda),))


def multiplicative_lr(lr0: float, lr_lambda: Callable[[int], float]) -> Schedule:
    """torch's MultiplicativeLR: ``lr_t = lr0 * lr_lambda(1) * ... * lr_lambda(s)``.

    s = t - 1; each rate costs s calls of lr_lambda (use `lambda_lr` with
    the product in closed form for long runs).

    Parameters
    ----------
    lr0 : float
        The base rate, >= 0.
    lr_lambda : @njit function
        ``lr_lambda(epoch: int) -> float``, compiled with numba.

    Returns
    -------
    Schedule

    Raises
    ------
    TypeError
        lr_lambda not an @njit function.
    """
    return Schedule("multiplicative_lr", kernels.multiplicative_lr,
                    check.non_negative("lr0", lr0), (_user_function("lr_lambda", lr_lambda),))


def _piece(name: str, schedule: Any) -> tuple:
    """A schedule flattened for a composition: (code, lr0, n, *params)."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"{name} must be a gdfast Schedule, got {schedule!r}")
    if schedule.name not in PIECE_KERNELS:
        raise ValueError(f"{name} is a {schedule.name!r} schedule; a composition takes "
                         f"{', '.join(PIECE_KERNELS)}")
    return (float(PIECE_KERNELS.index(schedule.name)), float(schedule.lr0),
            float(len(schedule.params)), *(float(p) for p in schedule.params))


def sequential_lr(schedules: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    """torch's SequentialLR: schedules[j] from milestones[j - 1] on, restarted there.

    ``lr_t = schedules[j](t - m_j)`` with j the number of milestones <= s =
    t - 1 and m_0 = 0, as torch restarts each scheduler at its milestone.
    Each piece keeps its own lr0 (give them torch's shared initial lr).

    Parameters
    ----------
    schedules : sequence of Schedule
        One or more schedules of this module, not compositions nor ones
        with a user's function (`swa_lr`, `lambda_lr`, `multiplicative_lr`).
    milestones : sequence of int
        len(schedules) - 1 steps >= 0, non-decreasing.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        A schedule that cannot be a piece, or milestones of the wrong count
        or order.

    Examples
    --------
    Five steps of linear warm-up, then a cosine (the usual pair):

    >>> import gdfast
    >>> s = gdfast.schedules
    >>> lr = s.sequential_lr([s.linear_lr(0.1, 0.2, 1.0, 5), s.cosine_annealing(0.1, 95)], [5])
    >>> print(f"{lr(1):.3f} {lr(6):.3f} {lr(101):.3f}")
    0.020 0.100 0.000
    """
    if not isinstance(schedules, Sequence) or len(schedules) < 1:
        raise ValueError(f"schedules must be a non-empty sequence of Schedules, got {schedules!r}")
    if not isinstance(milestones, Sequence) or len(milestones) != len(schedules) - 1:
        raise ValueError(f"milestones must be {len(schedules) - 1} steps (one fewer than the "
                         f"schedules), got {milestones!r}")
    ms = [check.whole_number(f"milestones[{i}]", m, 0) for i, m in enumerate(milestones)]
    if any(b < a for a, b in zip(ms, ms[1:])):
        raise ValueError(f"milestones must be non-decreasing, got {milestones!r}")
    pieces = [_piece(f"schedules[{i}]", sch) for i, sch in enumerate(schedules)]
    params = (float(len(pieces)), *(float(m) for m in ms), *(v for p in pieces for v in p))
    return Schedule("sequential_lr", kernels.sequential_lr, schedules[0].lr0, params)


# torch schedulers whose recursive form scales the rate it is given: a chain
# of them is the product of their factors
_CHAINABLE = ("exponential_decay", "step_decay", "constant_lr", "linear_lr", "polynomial_lr",
              "multistep_lr", "cosine_annealing", "cosine_decay")


def chained_lr(schedules: Sequence[Schedule]) -> Schedule:
    """torch's ChainedScheduler: the factors of the schedules multiplied.

    ``lr_t = lr0 * f_1(t) * ... * f_k(t)``, f_j = schedules[j] / lr0: torch's
    chain of schedulers stepped together, each scaling the rate the one
    before it set.

    Parameters
    ----------
    schedules : sequence of Schedule
        Schedules of one lr0 that scale the rate (torch's ConstantLR,
        LinearLR, PolynomialLR, StepLR, MultiStepLR, ExponentialLR:
        `constant_lr`, `linear_lr`, `polynomial_lr`, `step_decay`,
        `multistep_lr`, `exponential_decay`), or a cosine with eta_min = 0
        (`cosine_annealing`, `cosine_decay`; torch's chain equals the product
        up to T_max). A chain with CyclicLR, OneCycleLR, warm restarts or a
        cosine with a floor is not a product in torch, and is refused.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError, TypeError
        A schedule that cannot be chained, or schedules of different lr0.

    Examples
    --------
    torch's own example: a factor of 0.1 for two steps, then 0.9 per step:

    >>> import gdfast
    >>> s = gdfast.schedules
    >>> lr = s.chained_lr([s.constant_lr(1.0, 0.1, 2), s.exponential_decay(1.0, 0.9)])
    >>> print(f"{lr(1):.4f} {lr(2):.4f} {lr(3):.4f}")
    0.1000 0.0900 0.8100
    """
    if not isinstance(schedules, Sequence) or len(schedules) < 1:
        raise ValueError(f"schedules must be a non-empty sequence of Schedules, got {schedules!r}")
    pieces = [_piece(f"schedules[{i}]", sch) for i, sch in enumerate(schedules)]
    for i, sch in enumerate(schedules):
        if sch.name not in _CHAINABLE or (sch.name.startswith("cosine") and sch.params[1] != 0.0):
            raise ValueError(f"schedules[{i}] ({sch.name!r}) does not scale the rate it is "
                             f"given; a chain takes {', '.join(_CHAINABLE)} (cosines with a "
                             "floor of 0)")
        if sch.lr0 != schedules[0].lr0:
            raise ValueError(f"schedules[{i}].lr0 = {sch.lr0!r} differs from schedules[0]'s "
                             f"({schedules[0].lr0!r}): a chain has one base rate")
    params = (float(len(pieces)), *(v for p in pieces for v in p))
    return Schedule("chained_lr", kernels.chained_lr, schedules[0].lr0, params)


class ReduceLROnPlateau:
    """torch's ReduceLROnPlateau for gdfast's optimizer objects: it reads the loss.

    ``step(loss)`` after each step (or epoch) counts the calls since the
    best loss; after more than ``patience`` calls without an improvement
    (outside ``cooldown`` calls after a reduction) it sets
    ``optimizer.lr = max(lr * factor, min_lr)``, which the optimizer's next
    step uses (its lr is live), when that lowers lr by more than eps. An
    improvement, in mode 'min': loss < best * (1 - threshold) ('rel') or loss
    < best - threshold ('abs'); in mode 'max' the mirror image. The same
    arithmetic as torch's, so the same rates for the same losses.

    With `gdfast.minimize`, pass it as the callback (it reads the result's
    ``fun``): ``minimize(fun, x0, opt, callback=ReduceLROnPlateau(opt))``;
    it does not turn off minimize's nopython mode, whose compiled loop runs
    the same arithmetic (kernels.schedules.plateau_step) after every step and
    leaves this object and ``opt.lr`` as the callback would have. With
    `gdfast.minimize_batch`, ``plateau=ReduceLROnPlateau(opt)`` gives every
    problem its own plateau with these settings. The optimizer's lr must be
    a number, not a schedule.

    Parameters
    ----------
    optimizer : Optimizer
        A gdfast optimizer object (``gdfast.Adam(...)``, ...) with lr a number.
    mode : {'min', 'max'}
        Whether the loss should fall or rise.
    factor : float, default 0.1
        In [0, 1), the factor of each reduction.
    patience : int, default 10
        >= 0, calls without an improvement before a reduction.
    threshold : float, default 1e-4
        Finite, the least improvement that counts.
    threshold_mode : {'rel', 'abs'}
        Whether threshold is relative to the best loss or absolute.
    cooldown : int, default 0
        >= 0, calls after a reduction during which bad calls are not counted.
    min_lr : float, default 0.0
        >= 0, the lowest rate.
    eps : float, default 1e-8
        >= 0, a reduction smaller than this is not made.

    Raises
    ------
    ValueError, TypeError
        An argument out of its range, or an optimizer without a numeric lr.
    """

    def __init__(self, optimizer: Any, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        f = check.non_negative("factor", factor)
        if f >= 1.0:
            raise ValueError(f"factor must be < 1, got {factor!r}")
        self.factor = f
        self.patience = check.whole_number("patience", patience, 0)
        self.threshold = check.finite("threshold", threshold)
        self.cooldown = check.whole_number("cooldown", cooldown, 0)
        self.min_lr = check.non_negative("min_lr", min_lr)
        self.eps = check.non_negative("eps", eps)
        self.mode, self.threshold_mode = mode, threshold_mode
        self._check_optimizer(optimizer)
        self.optimizer = optimizer
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    @staticmethod
    def _check_optimizer(optimizer: Any) -> float:
        """The optimizer's lr, a number (an optimizer object keeps a number
        given as lr as a constant schedule)."""
        lr = getattr(optimizer, "lr", None)
        if isinstance(lr, Schedule) and lr.name == "constant":
            return float(lr.lr0)
        if isinstance(lr, Schedule) or isinstance(lr, bool) or not isinstance(
                lr, (int, float, np.floating, np.integer)):
            raise TypeError("optimizer must be a gdfast optimizer object whose lr is a number "
                            f"(ReduceLROnPlateau sets it), got lr={lr!r}")
        return float(lr)

    def step(self, metrics: float) -> None:
        """Count one loss; lower the optimizer's lr after a plateau.

        Parameters
        ----------
        metrics : float
            The loss (or the quantity watched) after this step or epoch.

        Raises
        ------
        TypeError
            metrics not a number, or the optimizer's lr no longer a number;
            nothing is changed then.
        """
        current = check.real("metrics", metrics)
        state = self.kernel_state()          # TypeError here if lr is no longer a number
        # the compiled loops' arithmetic (kernels.schedules.plateau_step), one copy of it
        kernels.schedules.plateau_step(state, current)
        self.load_kernel_state(state)

    def __call__(self, intermediate_result: Any) -> None:
        """`step` with ``intermediate_result.fun``: minimize's callback.

        Parameters
        ----------
        intermediate_result : OptimizeResult
            What `gdfast.minimize` passes its callback.
        """
        self.step(intermediate_result.fun)

    def get_last_lr(self) -> list[float]:
        """The optimizer's current lr, in a list as torch's.

        Returns
        -------
        list of float
        """
        return [self._check_optimizer(self.optimizer)]

    def state_dict(self) -> dict[str, Any]:
        """The counters and settings, as plain values (not the optimizer).

        Returns
        -------
        dict
        """
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the counters and settings of `state_dict`.

        Parameters
        ----------
        state_dict : dict
            What `state_dict` gave.

        Raises
        ------
        ValueError
            A key this object does not have.
        """
        unknown = set(state_dict) - set(self.__dict__) | {"optimizer"} & set(state_dict)
        if unknown:
            raise ValueError(f"state_dict has keys ReduceLROnPlateau does not: {sorted(unknown)}")
        self.__dict__.update(state_dict)

    def kernel_state(self) -> np.ndarray:
        """This plateau as a kernel state (kernels.schedules.plateau_state):
        the optimizer's lr, the counters and the settings.

        Returns
        -------
        numpy.ndarray
            float64 (kernels.schedules.PLATEAU_SIZE,), a new array.

        Raises
        ------
        TypeError
            The optimizer's lr is no longer a number.
        """
        K = kernels.schedules
        s = K.plateau_state(self._check_optimizer(self.optimizer), self.mode == "max",
                            self.threshold_mode == "abs", self.factor, float(self.patience),
                            self.threshold, float(self.cooldown), self.min_lr, self.eps)
        s[K.PLATEAU_BEST] = self.best
        s[K.PLATEAU_BAD] = self.num_bad_epochs
        s[K.PLATEAU_COOLDOWN_COUNTER] = self.cooldown_counter
        s[K.PLATEAU_EPOCH] = self.last_epoch
        return s

    def load_kernel_state(self, state: np.ndarray) -> None:
        """Take the counters of a kernel state made by `kernel_state` (and
        advanced by kernels.schedules.plateau_step), and set the optimizer's
        lr to the state's where it differs: as if `step` had been called with
        the same losses.

        Parameters
        ----------
        state : numpy.ndarray
            float64 (kernels.schedules.PLATEAU_SIZE,).
        """
        K = kernels.schedules
        self.best = float(state[K.PLATEAU_BEST])
        self.num_bad_epochs = int(state[K.PLATEAU_BAD])
        self.cooldown_counter = int(state[K.PLATEAU_COOLDOWN_COUNTER])
        self.last_epoch = int(state[K.PLATEAU_EPOCH])
        lr = float(state[K.PLATEAU_LR])
        if lr != self._check_optimizer(self.optimizer):
            self.optimizer.lr = lr
