"""gdfast: JIT-compiled first-order optimizers.

The kernels live in ``gdfast.kernels`` (numba @njit, in place, one calling
convention); ``gdfast.reference`` holds the same rules in plain Python;
``gdfast.rules.RULES`` lists them by name.
"""
from . import kernels, reference
from .rules import RULES, SCHEDULES

__version__ = "0.1.0"
__all__ = ["kernels", "reference", "RULES", "SCHEDULES", "__version__"]
