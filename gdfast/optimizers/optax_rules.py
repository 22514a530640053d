"""The optimizers of optax's rules: Lion (gdfast._rules.RULES), AdaBelief,
Yogi, Adan, LAMB, LARS, NovoGrad, schedule-free SGD and AdamW, and Polyak SGD
(issue 31 item 8; gdfast._rules.MORE_RULES), with optax's argument names and
defaults (optax's required learning rate given a default).

LAMB, LARS and NovoGrad scale by norms of the whole array (one array is one
layer, optax's leaf): their state holds ``work``, kernels.NORM_WORK entries
of scratch for the norms (not saved by state_dict), and NovoGrad's ``nu`` is
one number. None has a torch.optim counterpart: their state_dict is gdfast's
form only.
"""
import math
import numbers
from typing import Any

import numpy as np

from .. import _validation as check
from .._rules import MORE_RULES, RULES
from ..kernels import NORM_WORK, schedule_free_eval_params
from . import checks
from .base import LearningRate, Optimizer
from .checks import FINITE, FLAG, NON_NEGATIVE, POSITIVE
from .states import OptimizerState, flat_view, record_skip


class Lion(Optimizer):
    """Lion with optax.lion's equations and defaults.

    b1 0.9, b2 0.99, weight_decay 1e-3, decoupled. optax requires a learning
    rate; 1e-4 here. Equations: `gdfast.kernels.lion_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-4
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1], the momentum's weight in the update's sign.
    b2 : float, default 0.99
        In [0, 1], the decay of the momentum.
    weight_decay : float, default 1e-3
        >= 0, decoupled.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, b1=checks.unit_closed, b2=checks.unit_closed,
                 weight_decay=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-4, b1: float = 0.9, b2: float = 0.99,
                 weight_decay: float = 1e-3, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, weight_decay=weight_decay, maximize=maximize))

    def _configure(self, v):
        return RULES["lion"], (v["b1"], v["b2"], v["weight_decay"], float(v["maximize"]))


class AdaBelief(Optimizer):
    """AdaBelief with optax.adabelief's arguments and defaults.

    Equations: `gdfast.kernels.adabelief_step` (optax's: eps outside the square
    root, eps_root added to the second central moment). optax requires a
    learning rate; 1e-3 here, the paper's. No torch.optim counterpart: the
    state arrays are optax's ``mu`` and ``nu``.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.999
        In [0, 1), the decay of the second central moment.
    eps : float, default 1e-16
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 1e-16
        >= 0, added to the second central moment at every step.
    weight_decay : float, default 0.0
        >= 0, optax.add_decayed_weights after the rescaling (multiplied by lr;
        optax's None is 0).
    nesterov : bool, default False
        Nesterov momentum, optax's form (keyword only).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, b1=checks.unit, b2=checks.unit, eps=NON_NEGATIVE,
                 eps_root=NON_NEGATIVE, weight_decay=NON_NEGATIVE, nesterov=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-16, eps_root: float = 1e-16, weight_decay: float = 0.0, *,
                 nesterov: bool = False, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["adabelief"], (v["b1"], v["b2"], v["eps"], v["eps_root"],
                                         v["weight_decay"], float(v["nesterov"]),
                                         float(v["maximize"]))


class Yogi(Optimizer):
    """Yogi with optax.yogi's arguments and defaults.

    Equations: `gdfast.kernels.yogi_step`. optax requires a learning rate;
    1e-2 here, the paper's. eps_root and initial_accumulator_value are
    optax.scale_by_yogi's (optax.yogi fixes them at 0 and 1e-6). No
    torch.optim counterpart: the state arrays are optax's ``mu`` and ``nu``.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.999
        In [0, 1), the rate of the second moment's additive update.
    eps : float, default 1e-3
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 0.0
        >= 0, added inside the square root (keyword only).
    initial_accumulator_value : float, default 1e-6
        >= 0, the start of both moments: read by ``init`` (as optax reads it
        in its init), so a change applies to the states made afterwards
        (keyword only).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, b1=checks.unit, b2=checks.unit, eps=NON_NEGATIVE,
                 eps_root=NON_NEGATIVE, initial_accumulator_value=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-3, *, eps_root: float = 0.0,
                 initial_accumulator_value: float = 1e-6, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                         initial_accumulator_value=initial_accumulator_value,
                         maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["yogi"], (v["b1"], v["b2"], v["eps"], v["eps_root"],
                                    float(v["maximize"]))

    def _initial_state(self, n):
        start = self._values["initial_accumulator_value"]
        return (np.full(n, start), np.full(n, start))



class Adan(Optimizer):
    """Adan with optax.adan's arguments and defaults.

    Equations: `gdfast.kernels.adan_step` (optax's: b1, b2, b3 the decays of
    the moments, the moments starting at 0 with bias corrections, the weight
    decay added to the update). optax requires a learning rate; 1e-3 here.
    No torch.optim counterpart: the state arrays are optax's ``m``, ``v``,
    ``n`` and ``g`` (the previous step's gradient).

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.98
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.92
        In [0, 1), the decay of the gradient difference's moment.
    b3 : float, default 0.99
        In [0, 1), the decay of the second moment.
    eps : float, default 1e-8
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 1e-8
        >= 0, added inside the square root.
    weight_decay : float, default 0.0
        >= 0, added to the update (multiplied by lr, as optax's).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, b1=checks.unit, b2=checks.unit, b3=checks.unit,
                 eps=NON_NEGATIVE, eps_root=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, b1: float = 0.98, b2: float = 0.92,
                 b3: float = 0.99, eps: float = 1e-8, eps_root: float = 1e-8,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root,
                         weight_decay=weight_decay, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["adan"], (v["b1"], v["b2"], v["b3"], v["eps"], v["eps_root"],
                                    v["weight_decay"], float(v["maximize"]))


class _LayerwiseOptimizer(Optimizer):
    """optax's rules scaled by norms of the whole array (one array is one
    layer): state arrays of fixed lengths beside those of x's length, the
    scratch ``work`` (kernels.NORM_WORK entries, not saved) among them."""

    _scratch = ("work",)
    _fixed: dict[str, int] = {"work": NORM_WORK}   # state arrays not of x's length

    def _lengths(self, n):
        return tuple(self._fixed.get(name, n) for name in self.rule.state)

    def _initial_state(self, n):
        return tuple(np.zeros(k) for k in self._lengths(n))


class LAMB(_LayerwiseOptimizer):
    """LAMB with optax.lamb's arguments and defaults.

    Equations: `gdfast.kernels.lamb_step` (Adam's direction plus the weight
    decay, scaled by the trust ratio ||x|| / ||u|| of the whole array: one
    array is one layer). optax requires a learning rate; 1e-3 here. optax's
    mask has no counterpart. No torch.optim counterpart: the state arrays are
    optax's ``mu`` and ``nu``, and ``work``, kernels.NORM_WORK entries of
    scratch for the norms (not saved by state_dict).

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.999
        In [0, 1), the decay of the second moment.
    eps : float, default 1e-6
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 0.0
        >= 0, added inside the square root.
    weight_decay : float, default 0.0
        >= 0, added to the direction before the trust ratio.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, b1=checks.unit, b2=checks.unit, eps=NON_NEGATIVE,
                 eps_root=NON_NEGATIVE, weight_decay=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-6, eps_root: float = 0.0, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                         weight_decay=weight_decay, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["lamb"], (v["b1"], v["b2"], v["eps"], v["eps_root"],
                                    v["weight_decay"], float(v["maximize"]))


class LARS(_LayerwiseOptimizer):
    """LARS with optax.lars's arguments and defaults.

    Equations: `gdfast.kernels.lars_step` (the gradient plus the weight decay,
    scaled by trust_coefficient ||x|| / (||u|| + eps) of the whole array, then
    optax's trace: the learning rate is inside the momentum buffer). optax
    requires a learning rate; 0.1 here. optax's weight_decay_mask and
    trust_ratio_mask have no counterpart (both apply to the array), so the
    arguments after weight_decay are keyword only. No torch.optim
    counterpart: the state arrays are optax's ``trace`` and ``work``,
    kernels.NORM_WORK entries of scratch for the norms (not saved by
    state_dict).

    Parameters
    ----------
    lr : float or Schedule, default 0.1
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    weight_decay : float, default 0.0
        >= 0, added to the gradient before the trust ratio.
    trust_coefficient : float, default 1e-3
        > 0, the trust ratio's factor (keyword only).
    eps : float, default 0.0
        >= 0, added to the update's norm (keyword only).
    momentum : float, default 0.9
        In [0, 1), the decay of the trace (keyword only).
    nesterov : bool, default False
        Nesterov momentum, optax's form (keyword only).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, weight_decay=NON_NEGATIVE, trust_coefficient=POSITIVE,
                 eps=NON_NEGATIVE, momentum=checks.unit, nesterov=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 0.1, weight_decay: float = 0.0, *,
                 trust_coefficient: float = 1e-3, eps: float = 0.0, momentum: float = 0.9,
                 nesterov: bool = False, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, weight_decay=weight_decay, trust_coefficient=trust_coefficient,
                         eps=eps, momentum=momentum, nesterov=nesterov, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["lars"], (v["weight_decay"], v["trust_coefficient"], v["eps"],
                                    v["momentum"], float(v["nesterov"]), float(v["maximize"]))


class NovoGrad(_LayerwiseOptimizer):
    """NovoGrad with optax.novograd's arguments and defaults.

    Equations: `gdfast.kernels.novograd_step` (the second moment one number
    per array, of the gradient's norm: one array is one layer; the first
    moment not damped by 1 - b1, as optax's). optax requires a learning rate;
    1e-2 here. No torch.optim counterpart: the state arrays are optax's
    ``mu`` and ``nu`` (one entry: optax's scalar), and ``work``,
    kernels.NORM_WORK entries of scratch for the norm (not saved by
    state_dict).

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.25
        In [0, 1), the decay of the second moment.
    eps : float, default 1e-6
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 0.0
        >= 0, added inside the square root.
    weight_decay : float, default 0.0
        >= 0, added to the normalised gradient before the momentum.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _fixed = {"nu": 1, "work": NORM_WORK}
    _spec = dict(lr=checks.lr, b1=checks.unit, b2=checks.unit, eps=NON_NEGATIVE,
                 eps_root=NON_NEGATIVE, weight_decay=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, b1: float = 0.9, b2: float = 0.25,
                 eps: float = 1e-6, eps_root: float = 0.0, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                         weight_decay=weight_decay, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["novograd"], (v["b1"], v["b2"], v["eps"], v["eps_root"],
                                        v["weight_decay"], float(v["maximize"]))


# --- schedule-free SGD and AdamW (optax.contrib), Polyak SGD (optax.polyak_sgd) ---


def _open_unit(name, value):
    """A number in (0, 1) whose reciprocal is finite: schedule-free's b1 (x is
    recovered dividing by it; the kernels multiply by 1 / b1 as XLA does, so a
    subnormal b1 below 1 / 1.8e308 would give 0 * inf = NaN)."""
    v = checks.unit(name, value)
    if v == 0.0 or not math.isfinite(1.0 / v):
        raise ValueError(f"{name} must be in (0, 1) with 1 / {name} finite "
                         f"({name} >= {1.0 / np.finfo(np.float64).max:.3g}), got {value!r}")
    return v


def _warmup_steps(name, value):
    """None (no warmup, optax's default) or a whole number of steps >= 0 (0 is
    no warmup too, as in optax)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None or an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if value > 2 ** 1023:          # the kernels take it as a float64 (optax: a float32)
        raise ValueError(f"{name} must be at most 2**1023, got {value!r}")
    return int(value)


class _ScheduleFree(Optimizer):
    """optax.contrib.schedule_free's wrapper: the x given to ``step`` is the
    interpolated point y where the gradient is taken (optax's params); the
    state holds z, starting as a copy of the first y, and the one-entry
    weight_sum and max_lr; ``eval_params`` gives the averaged x, where to
    evaluate the model (optax's schedule_free_eval_params)."""

    _fixed = {"weight_sum": 1, "max_lr": 1}   # state arrays not of x's length

    def _lengths(self, n):
        return tuple(self._fixed.get(name, n) for name in self.rule.state)

    def _initial_state(self, n):
        return tuple(np.zeros(k) for k in self._lengths(n))

    def init(self, x: np.ndarray) -> Any:
        """The state for parameters x: z a copy of x, the rest 0 (optax's init).

        Parameters
        ----------
        x : ndarray of float64
            The first y (any shape, C-contiguous if not 1-D), or a list of them.

        Returns
        -------
        OptimizerState or OptimizerStates
            As `Optimizer.init`'s, with ``state["z"]`` equal to x's flat copy.
        """
        state = super().init(x)
        if isinstance(state, OptimizerState):
            state["z"][:] = np.asarray(x, dtype=np.float64).reshape(-1)
        return state

    def eval_params(self, x: Any, state: Any) -> Any:
        """The averaged parameters x = (y - (1 - b1) z) / b1, where to evaluate
        the model (optax.contrib.schedule_free_eval_params).

        Parameters
        ----------
        x : ndarray of float64, or a list of them
            y, the parameters ``step`` updates.
        state : OptimizerState or OptimizerStates
            Their state.

        Returns
        -------
        ndarray or list of ndarray
            New arrays of x's shapes; x and the state are only read.
        """
        if isinstance(x, (list, tuple)):
            opts = self._array_optimizers(len(x))
            if len(state) != len(x):
                raise ValueError(f"state holds {len(state)} arrays, x {len(x)}")
            return [opt.eval_params(xi, state[i]) for i, (opt, xi) in enumerate(zip(opts, x))]
        if type(x) is not np.ndarray:
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        y = flat_view("x", x) if x.ndim != 1 else x
        check.kernel_array("x", y)
        if type(state) is not OptimizerState or "z" not in state.names \
                or state.n != y.shape[0]:
            raise TypeError(f"state must be the OptimizerState this optimizer's init(x) made "
                            f"for x of {y.shape[0]} entries, got {state!r}")
        out = np.empty(y.shape[0])
        schedule_free_eval_params(y, state["z"], float(self._values["b1"]), out)
        return out.reshape(x.shape)


class ScheduleFreeSGD(_ScheduleFree):
    """Schedule-free SGD with optax.contrib.schedule_free_sgd's arguments and
    defaults.

    Equations: `gdfast.kernels.schedule_free_sgd_step`. The x given to
    ``step`` is the interpolated point y where the gradient is taken (optax's
    params); ``eval_params(x, state)`` gives the averaged x where to evaluate
    the model (optax.contrib.schedule_free_eval_params). No torch.optim
    counterpart: the state arrays are optax's ``z``, ``weight_sum`` and
    ``max_lr`` (the last two one entry each).

    Parameters
    ----------
    lr : float or Schedule, default 1.0
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`
        (then its value at t is the rate of both z's step and the averaging
        weight; with warmup_steps, lr is the warmup's peak).
    warmup_steps : int or None, default None
        optax's linear warmup from 0 over this many steps (0 to 2**1023; 0 or
        None: no warmup), computed as optax
        computes it (in float32; the weight at count t, z's step at t - 1).
    b1 : float, default 0.9
        In (0, 1) (and about 5.56e-309 or more, so that 1 / b1 is finite), the
        interpolation y = b1 x + (1 - b1) z.
    weight_decay : float, default 0.0
        >= 0, added to the gradient (times y) before the step (optax's None
        is 0).
    weight_lr_power : float, default 2.0
        >= 0, the averaging weights are max(lr_1..lr_t)^weight_lr_power.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, warmup_steps=_warmup_steps, b1=_open_unit,
                 weight_decay=NON_NEGATIVE, weight_lr_power=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1.0, warmup_steps: int | None = None,
                 b1: float = 0.9, weight_decay: float = 0.0, weight_lr_power: float = 2.0, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, warmup_steps=warmup_steps, b1=b1, weight_decay=weight_decay,
                         weight_lr_power=weight_lr_power, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["schedule_free_sgd"], (
            v["b1"], v["weight_decay"], v["weight_lr_power"], float(v["warmup_steps"] or 0),
            float(v["maximize"]))


class ScheduleFreeAdamW(_ScheduleFree):
    """Schedule-free AdamW with optax.contrib.schedule_free_adamw's arguments
    and defaults.

    Equations: `gdfast.kernels.schedule_free_adamw_step` (AdamW without its
    momentum: the interpolation takes its place). x and ``eval_params`` as
    `ScheduleFreeSGD`'s. No torch.optim counterpart: the state arrays are
    optax's ``z``, ``nu`` (its scale_by_rms second moment), ``weight_sum``
    and ``max_lr``.

    Parameters
    ----------
    lr : float or Schedule, default 0.0025
        optax's learning_rate, >= 0, or a schedule (as ScheduleFreeSGD's).
    warmup_steps : int or None, default None
        As ScheduleFreeSGD's.
    b1 : float, default 0.9
        In (0, 1) (and about 5.56e-309 or more, so that 1 / b1 is finite), the
        interpolation y = b1 x + (1 - b1) z.
    b2 : float, default 0.999
        In [0, 1), the decay of the second moment.
    eps : float, default 1e-8
        >= 0, added to the denominator outside the square root.
    weight_decay : float, default 0.0
        >= 0, added to the scaled update (times y; multiplied by lr).
    weight_lr_power : float, default 2.0
        >= 0, as ScheduleFreeSGD's.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _fixed = {"weight_sum": 1, "max_lr": 1}
    _spec = dict(lr=checks.lr, warmup_steps=_warmup_steps, b1=_open_unit, b2=checks.unit,
                 eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE, weight_lr_power=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 0.0025, warmup_steps: int | None = None,
                 b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, weight_lr_power: float = 2.0, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, warmup_steps=warmup_steps, b1=b1, b2=b2, eps=eps,
                         weight_decay=weight_decay, weight_lr_power=weight_lr_power,
                         maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["schedule_free_adamw"], (
            v["b1"], v["b2"], v["eps"], v["weight_decay"], v["weight_lr_power"],
            float(v["warmup_steps"] or 0), float(v["maximize"]))


def _variant(name, value):
    """optax.polyak_sgd's variant: "sps" or "sps+"."""
    if value not in ("sps", "sps+") or not isinstance(value, str):
        raise ValueError(f"{name} must be 'sps' or 'sps+', got {value!r}")
    return value


class PolyakSGD(Optimizer):
    """SGD with Polyak's step size, optax.polyak_sgd's arguments and defaults.

    Equations: `gdfast.kernels.polyak_sgd_step`. The step needs the
    objective's value at x: ``step(x, g, state, value)`` (optax's
    ``update(g, state, params, value=f(x))``). ``lr`` is optax's ``scaling``
    (the rate of the SGD before Polyak's step); the arguments are keyword
    only, as optax's first is max_learning_rate. One array: Polyak's step
    uses the norm of the whole gradient (optax's, over every leaf), so
    several arrays are refused. Not a method of `gdfast.minimize` (its loop
    gives no value to the step). No torch.optim counterpart; the state holds
    only ``work``, kernels.NORM_WORK entries of scratch for the norm (not
    saved by state_dict).

    Parameters
    ----------
    lr : float or Schedule, default 1.0
        optax's scaling, >= 0, or a schedule from `gdfast.schedules`.
    max_learning_rate : float, default 1.0
        >= 0, the largest step.
    f_min : float, default 0.0
        A lower bound of the objective (finite).
    eps : float, default 0.0
        >= 0, added to the squared norm of the gradient.
    variant : {"sps", "sps+"}, default "sps"
        "sps+" clips f(x) - f_min at 0 (Garrigos et al., 2023).
    """

    _spec = dict(lr=checks.lr, max_learning_rate=NON_NEGATIVE, f_min=FINITE,
                 eps=NON_NEGATIVE, variant=_variant)
    _scratch = ("work",)
    _several = False           # optax's norm is over every leaf at once

    def __init__(self, *, lr: LearningRate = 1.0, max_learning_rate: float = 1.0,
                 f_min: float = 0.0, eps: float = 0.0, variant: str = "sps") -> None:
        self._apply(dict(lr=lr, max_learning_rate=max_learning_rate, f_min=f_min, eps=eps,
                         variant=variant))

    def _configure(self, v):
        return MORE_RULES["polyak_sgd"], (v["max_learning_rate"], v["f_min"], v["eps"],
                                          float(v["variant"] == "sps+"))

    def _lengths(self, n):
        return (NORM_WORK,)

    def _initial_state(self, n):
        return (np.zeros(NORM_WORK),)

    def init(self, x: np.ndarray) -> OptimizerState:
        """The state for parameters x (one array; see `Optimizer.init`).

        Parameters
        ----------
        x : ndarray of float64
            Any shape, C-contiguous if not 1-D.

        Returns
        -------
        OptimizerState
            ``work`` only; t = 0.
        """
        if isinstance(x, (list, tuple)):
            raise TypeError("PolyakSGD takes one array (its step size uses the norm of the "
                            "whole gradient); concatenate the parameters into one")
        return super().init(x)

    def step(self, x: np.ndarray, g: np.ndarray,  # type: ignore[override]
             state: OptimizerState, value: float) -> None:
        """One update of x in place with Polyak's step size.

        Parameters
        ----------
        x, g, state
            As in `Optimizer.step` (one array).
        value : float
            f(x), the objective's value at x.

        Raises
        ------
        TypeError, ValueError
            A bad argument, named; nothing is modified.
        FloatingPointError
            The step wrote NaN or inf into x (a NaN or inf value or g).
        """
        if isinstance(x, (list, tuple)):
            raise TypeError("PolyakSGD takes one array")
        f = check.real("value", value)
        x, g = self._checked(x, g, state)
        t = state.t + 1
        lr = self._lr_constant
        if lr is None:
            lr = self.lr(t)
        rule = self.rule
        kernel = rule.step if x.shape[0] < rule.parallel_min_size else rule.step_parallel
        bad = kernel(x, g, f, state.arrays, t, lr, self.hyper)
        state.t = t
        if bad:
            raise FloatingPointError(
                f"PolyakSGD.step wrote NaN or inf at {bad} of {x.shape[0]} entries of x "
                f"(step t={t}, lr={lr:g}, value={f:g}): a NaN or inf in g, x or value")

    def step_if_finite(self, x: np.ndarray, g: np.ndarray,  # type: ignore[override]
                       state: OptimizerState, value: float) -> bool:
        """`step` if value and every g_i are finite; else skip, and count it.

        Parameters
        ----------
        x, g, state, value
            As in `step`.

        Returns
        -------
        bool
            True if the step was taken.
        """
        f = check.real("value", value)
        x, g = self._checked(x, g, state)
        if not (np.isfinite(f) and np.isfinite(g).all()):
            return record_skip(state)
        self.step(x, g, state, f)
        state.skipped_in_a_row = 0
        return True
