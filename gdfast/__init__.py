"""gdfast: JIT-compiled first-order optimizers.

``gdfast.minimize`` runs an optimizer to convergence (scipy style) and
``gdfast.minimize_batch`` many small problems at once; ``gdfast.denoise``
is total-variation denoising; ``gdfast.SGD``, ``Adagrad``, ``RMSprop``,
``Adam`` and the rest are torch.optim-style optimizer objects;
``gdfast.gradient`` and ``gdfast.check_grad`` take central differences;
``gdfast.estimate_sigma`` estimates an image's noise level;
``gdfast.cached_objective`` registers an @njit objective so that the
compiled loops that call it are cached on disk.

Public modules: ``gdfast.kernels`` (the numba @njit kernels: in place, one
calling convention, callable from your numba code), ``gdfast.schedules``
(learning-rate schedules), ``gdfast.reference`` (the same rules in plain
Python, the tests' oracle), ``gdfast.problems`` (the tutorials' problems and
the relaxometry fit), ``gdfast.images`` (test images, PSNR) and
``gdfast.checkpoint`` (reading checkpoints, CheckpointError). The tools are
subpackages: ``gdfast.bench`` (the benchmark suites) and ``gdfast.cli`` (the
``gdfast`` command). Modules whose names start with an underscore are not
public API.
"""
from . import checkpoint, images, kernels, problems, reference, schedules
from ._batch import minimize_batch
from ._denoise import denoise
from ._gradients import check_grad, gradient
from ._minimize import minimize
from ._rules import RULES, SCHEDULES
from ._run import OptimizeResult, Status
from .images import estimate_sigma
from .kernels.function_refs import cached_objective
from .least_squares import least_squares_batch
from .optimizers import (
    ASGD,
    LAMB,
    LARS,
    SGD,
    AdaBelief,
    Adadelta,
    Adafactor,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Adan,
    Lion,
    Muon,
    NAdam,
    NovoGrad,
    Optimizer,
    OptimizerState,
    OptimizerStates,
    PolyakSGD,
    RAdam,
    RMSprop,
    Rprop,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
    SparseAdam,
    Yogi,
)
from .quasi_newton import LBFGS, LBFGSState
from .training import AveragedParameters, clip_grad_norm, clip_grad_value, grad_norm

__version__ = "0.1.0"
__all__ = [
    "minimize", "minimize_batch", "least_squares_batch", "denoise", "estimate_sigma",
    "cached_objective",
    "OptimizeResult", "Status",
    "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta",
    "Rprop", "Lion", "ASGD", "Adafactor", "Muon", "SparseAdam", "AdaBelief", "Yogi",
    "Adan", "LAMB", "LARS", "NovoGrad", "ScheduleFreeSGD", "ScheduleFreeAdamW", "PolyakSGD",
    "Optimizer", "OptimizerState", "OptimizerStates", "LBFGS", "LBFGSState",
    "clip_grad_norm", "clip_grad_value", "grad_norm", "AveragedParameters",
    "gradient", "check_grad", "schedules", "problems", "images", "checkpoint",
    "kernels", "reference", "RULES", "SCHEDULES", "__version__",
]
