"""The optimizers of torch.optim's classic rules (gdfast._rules.RULES): SGD,
Adagrad, RMSprop, Adam, AdamW, Adamax, NAdam, RAdam, Adadelta and Rprop, with
torch's argument names and defaults.

Each class names its hyperparameters' checks in ``_spec`` and picks its rule
and ``hyper`` tuple in ``_configure`` (see `gdfast.optimizers.base.Optimizer`);
its state_dict converts to and from torch's (`gdfast.optimizers.state_dicts`).
"""
import numpy as np

from .. import _validation as check
from .._rules import RULES
from ..schedules import Schedule
from . import checks
from .base import LearningRate, Optimizer
from .checks import FINITE, FLAG, NON_NEGATIVE


class SGD(Optimizer):
    """Stochastic gradient descent: plain, heavy-ball momentum or Nesterov.

    torch.optim.SGD's arguments and defaults. With momentum = 0 the update is
    ``x <- x - lr * (±g + weight_decay * x)``; with momentum > 0 see
    `gdfast.kernels.momentum_step`, with nesterov=True
    `gdfast.kernels.nesterov_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0 (0 freezes x), or a schedule from
        `gdfast.schedules`.
    momentum : float, default 0.0
        >= 0; 0 is plain gradient descent.
    dampening : float, default 0.0
        Any finite number (torch's range; 0 to 1 is the usual one).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    nesterov : bool, default False
        Nesterov's momentum; needs momentum > 0 and dampening = 0.
    maximize : bool, default False
        Ascend f instead (keyword only).

    Raises
    ------
    ValueError, TypeError
        A hyperparameter out of its range, named in the message.
    """

    _spec = dict(lr=checks.lr, momentum=NON_NEGATIVE, dampening=FINITE,
                 weight_decay=NON_NEGATIVE, nesterov=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _cross_check(self, v):
        if v["nesterov"] and (v["momentum"] <= 0.0 or v["dampening"] != 0.0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={v['momentum']!r}, dampening={v['dampening']!r}")

    def _configure(self, v):
        maximize = float(v["maximize"])
        if v["nesterov"]:
            return RULES["nesterov"], (v["momentum"], v["weight_decay"], maximize)
        if v["momentum"] > 0.0:
            return RULES["momentum"], (v["momentum"], v["dampening"], v["weight_decay"],
                                       maximize)
        return RULES["gd"], (v["weight_decay"], maximize)


class Adagrad(Optimizer):
    """AdaGrad with torch.optim.Adagrad's arguments and defaults.

    Equations: `gdfast.kernels.adagrad_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    lr_decay : float, default 0.0
        >= 0.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    initial_accumulator_value : float, default 0.0
        >= 0, the starting sum of squared gradients: read by ``init`` (as
        torch reads it when it makes the state), so a change applies to the
        states made afterwards.
    eps : float, default 1e-10
        >= 0, added outside the square root (0: a gradient entry 0 with a sum
        0 gives 0 / 0, which step reports, as torch gives NaN).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, lr_decay=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 initial_accumulator_value=NON_NEGATIVE, eps=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         maximize=maximize))

    def _configure(self, v):
        return RULES["adagrad"], (v["lr_decay"], v["eps"], v["weight_decay"],
                                  float(v["maximize"]))

    def _initial_state(self, n):
        return (np.full(n, self._values["initial_accumulator_value"]),)


class RMSprop(Optimizer):
    """RMSProp with torch.optim.RMSprop's arguments and defaults.

    Equations: `gdfast.kernels.rmsprop_step` (plain) and
    `gdfast.kernels.rmsprop_full_step` (centred or with momentum); the state
    holds only the arrays the options use.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    alpha : float, default 0.99
        In [0, 1], the decay of the squared-gradient average (1 keeps it at
        its start, 0, so the step is lr d / eps; torch allows alpha > 1, whose
        average goes negative at the first step: NaN).
    eps : float, default 1e-8
        >= 0, added outside the square root; > 0 with alpha = 1 (else d / 0).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    momentum : float, default 0.0
        >= 0.
    centered : bool, default False
        Subtract the square of the mean gradient.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, alpha=checks.unit_closed, eps=NON_NEGATIVE,
                 weight_decay=NON_NEGATIVE, momentum=NON_NEGATIVE, centered=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered, maximize=maximize))

    def _cross_check(self, v):
        if v["alpha"] == 1.0 and v["eps"] == 0.0:
            raise ValueError("alpha = 1 with eps = 0 divides by 0 at every step (the average "
                             "of g^2 stays 0): give eps > 0 or alpha < 1")

    def _configure(self, v):
        maximize = float(v["maximize"])
        if v["momentum"] == 0.0 and not v["centered"]:
            return RULES["rmsprop"], (v["alpha"], v["eps"], v["weight_decay"], maximize)
        return RULES["rmsprop_full"], (v["alpha"], v["eps"], v["weight_decay"], v["momentum"],
                                       float(v["centered"]), maximize)

    def _initial_state(self, n):
        if self.rule.name == "rmsprop":
            return (np.zeros(n),)
        return (np.zeros(n), np.zeros(n if self._values["centered"] else 0),
                np.zeros(n if self._values["momentum"] > 0 else 0))


class Adam(Optimizer):
    """Adam with torch.optim.Adam's arguments and defaults.

    Equations: `gdfast.kernels.adam_step` (the default options) and
    `gdfast.kernels.adamw_step` (amsgrad or decoupled decay).

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root (0: 0 / 0 where a gradient entry
        and its history are 0, which step reports; torch gives NaN).
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or AdamW's decoupled decay with
        decoupled_weight_decay=True.
    amsgrad : bool, default False
        Keep the running maximum of the second moment.
    maximize : bool, default False
        Ascend f instead (keyword only).
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay (keyword only).
    """

    _spec = dict(lr=checks.lr, betas=checks.betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 amsgrad=FLAG, maximize=FLAG, decoupled_weight_decay=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize,
                         decoupled_weight_decay=decoupled_weight_decay))

    def _configure(self, v):
        (beta1, beta2), maximize = v["betas"], float(v["maximize"])
        if not v["amsgrad"] and not v["decoupled_weight_decay"]:
            return RULES["adam"], (beta1, beta2, v["eps"], v["weight_decay"], maximize)
        return RULES["adamw"], (beta1, beta2, v["eps"], v["weight_decay"],
                                float(v["decoupled_weight_decay"]), float(v["amsgrad"]),
                                maximize)

    def _initial_state(self, n):
        if self.rule.name == "adam":
            return (np.zeros(n), np.zeros(n))
        return (np.zeros(n), np.zeros(n), np.zeros(n if self._values["amsgrad"] else 0))


class AdamW(Adam):
    """AdamW: torch.optim.AdamW's arguments and defaults.

    weight_decay 0.01, decoupled: ``x <- x (1 - lr weight_decay)`` before the
    Adam step. Equations: `gdfast.kernels.adamw_step`. Its
    ``decoupled_weight_decay`` hyperparameter (True) is settable, as in
    torch's param group.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root.
    weight_decay : float, default 1e-2
        >= 0, the decoupled decay's weight.
    amsgrad : bool, default False
        Keep the running maximum of the second moment.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


class Adamax(Optimizer):
    """Adamax with torch.optim.Adamax's arguments and defaults (lr 2e-3).

    Equations: `gdfast.kernels.adamax_step`.

    Parameters
    ----------
    lr : float or Schedule, default 2e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0 (0: 0 / 0 where a gradient entry and its history are 0).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, betas=checks.betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         maximize=maximize))

    def _configure(self, v):
        return RULES["adamax"], (*v["betas"], v["eps"], v["weight_decay"], float(v["maximize"]))


class NAdam(Optimizer):
    """NAdam with torch.optim.NAdam's arguments and defaults.

    lr 2e-3, momentum_decay 4e-3. Equations: `gdfast.kernels.nadam_step`.
    The product of the momentum schedule, mu_1 ... mu_t, is recomputed from
    betas[0] and momentum_decay at every step (torch keeps it in its state as
    ``mu_product``): after a live change of either, gdfast's step is that of a
    fresh optimizer with the new values, torch's keeps the old factors.

    Parameters
    ----------
    lr : float or Schedule, default 2e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or decoupled with
        decoupled_weight_decay=True.
    momentum_decay : float, default 4e-3
        >= 0.
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, betas=checks.betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 momentum_decay=NON_NEGATIVE, decoupled_weight_decay=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _configure(self, v):
        return RULES["nadam"], (*v["betas"], v["eps"], v["weight_decay"], v["momentum_decay"],
                                float(v["decoupled_weight_decay"]), float(v["maximize"]))


class RAdam(Optimizer):
    """RAdam with torch.optim.RAdam's arguments and defaults.

    Equations: `gdfast.kernels.radam_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or decoupled with
        decoupled_weight_decay=True.
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, betas=checks.betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 decoupled_weight_decay=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _configure(self, v):
        return RULES["radam"], (*v["betas"], v["eps"], v["weight_decay"],
                                float(v["decoupled_weight_decay"]), float(v["maximize"]))


class Adadelta(Optimizer):
    """Adadelta with torch.optim.Adadelta's arguments and defaults.

    lr 1.0, rho 0.9, eps 1e-6 inside the square roots. Equations:
    `gdfast.kernels.adadelta_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1.0
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    rho : float, default 0.9
        In [0, 1], the decay of the running averages.
    eps : float, default 1e-6
        >= 0, inside the square roots; > 0 with rho = 1 (else 0 / 0). With
        eps = 0 the accumulated update stays 0, so x never moves (as in torch).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, rho=checks.unit_closed, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _cross_check(self, v):
        if v["rho"] == 1.0 and v["eps"] == 0.0:
            raise ValueError("rho = 1 with eps = 0 gives 0 / 0 at every step (both averages "
                             "stay 0): give eps > 0 or rho < 1")

    def _configure(self, v):
        return RULES["adadelta"], (v["rho"], v["eps"], v["weight_decay"], float(v["maximize"]))


def _rprop_lr(name, value):
    """Rprop's lr: a Schedule or a number in [0, inf] (torch clamps it to step_max)."""
    return value if isinstance(value, Schedule) else check.non_negative_or_inf(name, value)


def _etas(name, etas):
    a, b = checks.pair("(eta_minus, eta_plus)")(name, etas)
    eta_minus, eta_plus = check.positive(f"{name}[0]", a), check.positive(f"{name}[1]", b)
    if not eta_minus < 1.0 < eta_plus:
        raise ValueError(f"{name} must satisfy 0 < eta_minus < 1 < eta_plus, got {etas!r}")
    return eta_minus, eta_plus


def _step_sizes(name, step_sizes):
    a, b = checks.pair("(min, max)")(name, step_sizes)
    lo, hi = check.non_negative(f"{name}[0]", a), check.non_negative(f"{name}[1]", b)
    if lo > hi:
        raise ValueError(f"{name} must satisfy min <= max, got {step_sizes!r}")
    return lo, hi


class Rprop(Optimizer):
    """Rprop with torch.optim.Rprop's arguments and defaults.

    Equations: `gdfast.kernels.rprop_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The initial step size of every coordinate, in [0, inf] (inf: the
        first step clamps it to step_sizes[1], as torch does). Read by
        ``init`` (a schedule's lr(1)), as torch reads it when it makes the
        state: a change applies to the states made afterwards, not to a run's
        step sizes (as in torch).
    etas : (float, float), default (0.5, 1.2)
        (eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus.
    step_sizes : (float, float), default (1e-6, 50.0)
        (min, max) with 0 <= min <= max.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_rprop_lr, etas=_etas, step_sizes=_step_sizes, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize))

    def _configure(self, v):
        return RULES["rprop"], (*v["etas"], *v["step_sizes"], float(v["maximize"]))

    def _initial_state(self, n):
        # the first step multiplies the step sizes by 1 (prev = 0) and clamps them
        # to [min, max]: starting from min(lr, max) gives the same step sizes,
        # and keeps an lr of inf out of the state
        return (np.zeros(n), np.full(n, min(self.lr(1), self._values["step_sizes"][1])))

