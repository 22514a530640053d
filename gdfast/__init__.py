"""gdfast: JIT-compiled first-order optimizers.

``gdfast.minimize`` runs an optimizer to convergence; ``gdfast.SGD``,
``Adagrad``, ``RMSprop`` and ``Adam`` are torch.optim-style optimizer
objects; ``gdfast.schedules`` builds learning-rate schedules;
``gdfast.gradient`` and ``gdfast.check_grad`` take central differences.
The kernels live in ``gdfast.kernels`` (numba @njit, in place, one calling
convention); ``gdfast.reference`` holds the same rules in plain Python.
"""
from . import kernels, problems, reference, schedules
from .batch import minimize_batch
from .denoise import denoise
from .gradients import check_grad, gradient
from .minimize import minimize
from .optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, NAdam, Optimizer,
                         OptimizerState, RAdam, RMSprop, Rprop)
from .result import OptimizeResult, Status
from .rules import RULES, SCHEDULES

__version__ = "0.1.0"
__all__ = [
    "minimize", "minimize_batch", "denoise", "OptimizeResult", "Status",
    "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta",
    "Rprop", "Lion", "Optimizer", "OptimizerState",
    "gradient", "check_grad", "schedules", "problems",
    "kernels", "reference", "RULES", "SCHEDULES", "__version__",
]
