"""The optimizers of optax's rules: Lion (gdfast._rules.RULES), AdaBelief,
Yogi, Adan, LAMB, LARS and NovoGrad (issue 31 item 8; gdfast._rules.MORE_RULES),
with optax's argument names and defaults (optax's required learning rate
given a default).

LAMB, LARS and NovoGrad scale by norms of the whole array (one array is one
layer, optax's leaf): their state holds ``work``, kernels.NORM_WORK entries
of scratch for the norms (not saved by state_dict), and NovoGrad's ``nu`` is
one number. None has a torch.optim counterpart: their state_dict is gdfast's
form only.
"""
import numpy as np

from .._rules import MORE_RULES, RULES
from ..kernels import NORM_WORK
from . import checks
from .base import LearningRate, Optimizer
from .checks import FLAG, NON_NEGATIVE, POSITIVE


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
