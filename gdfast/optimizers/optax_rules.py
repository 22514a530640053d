"""The optimizers of optax's rules: Lion (gdfast._rules.RULES), AdaBelief
and Yogi (issue 31 item 8; gdfast._rules.MORE_RULES), with optax's argument
names and defaults (optax's required learning rate given a default).

None has a torch.optim counterpart: their state_dict is gdfast's form only.
"""
import numpy as np

from .._rules import MORE_RULES, RULES
from . import checks
from .base import LearningRate, Optimizer
from .checks import FLAG, NON_NEGATIVE


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

