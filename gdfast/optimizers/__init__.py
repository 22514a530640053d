"""Optimizer objects: torch.optim's names and defaults over gdfast's kernels.

An optimizer holds validated hyperparameters and a learning rate (a float or
a :mod:`gdfast.schedules` schedule). ``init(x)`` allocates its state once;
``step(x, g, state)`` checks the arrays and runs one kernel call, in place::

    opt = gdfast.Adam(lr=0.01)
    state = opt.init(x)            # OptimizerState: arrays shaped like x, t = 0
    for _ in range(100):
        opt.step(x, grad(x), state)

x and g are C-contiguous float64 arrays of one shape, any shape (as torch
parameters are): the step works on their flat views, without a copy, bit
for bit as on ``x.ravel()``; the state arrays are 1-D, of length x.size.
Arrays of at least the rule's ``parallel_min_size`` elements (gdfast._rules)
go to the parallel kernel; both kernels give bitwise the same result.

Several arrays (torch's param groups): ``init([w, b])`` and ``step([w, b],
[gw, gb], state)`` step each array with its group's settings, one kernel call
per array; ``Adam.grouped([{"params": 2, "lr": 1e-3}, {"params": 1}],
lr=1e-2)`` makes groups of their own settings, each a count of the step's
arrays (the objects do not hold the arrays). See `Optimizer.grouped`.

The modules: `states` (OptimizerState, OptimizerStates, the flat views),
`base` (the Optimizer base class and ParamGroup), `checks` (the
hyperparameter checks the classes share), `torch_rules` (SGD ... Rprop),
`more_torch_rules` (ASGD, Adafactor, Muon, SparseAdam), `optax_rules` (Lion,
AdaBelief, Yogi, Adan, LAMB, LARS, NovoGrad, ScheduleFreeSGD, ScheduleFreeAdamW,
PolyakSGD), `state_dicts` (gdfast's
state_dict form and torch's) and `methods` (METHODS, make_optimizer). This
package's names are re-exported here; the public ones, through ``gdfast``.
"""
from .base import LearningRate, Optimizer, ParamGroup
from .methods import METHODS, make_optimizer
from .more_torch_rules import ASGD, Adafactor, Muon, SparseAdam
from .optax_rules import (
    LAMB,
    LARS,
    AdaBelief,
    Adan,
    Lion,
    NovoGrad,
    PolyakSGD,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
    Yogi,
)
from .state_dicts import FORMAT, FORMAT_MANY, STATE_KEYS, TORCH_SWITCHES, nadam_mu_product
from .states import OptimizerState, OptimizerStates, flat_pair, flat_view
from .torch_rules import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    NAdam,
    RAdam,
    RMSprop,
    Rprop,
)

__all__ = [
    "Optimizer", "ParamGroup", "OptimizerState", "OptimizerStates", "LearningRate",
    "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta",
    "Rprop", "ASGD", "Adafactor", "Muon", "SparseAdam", "Lion", "AdaBelief", "Yogi",
    "Adan", "LAMB", "LARS", "NovoGrad", "ScheduleFreeSGD", "ScheduleFreeAdamW", "PolyakSGD",
    "METHODS", "make_optimizer", "flat_view", "flat_pair",
    "FORMAT", "FORMAT_MANY", "STATE_KEYS", "TORCH_SWITCHES", "nadam_mu_product",
]
