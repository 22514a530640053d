"""The optimizers by name: `METHODS` (a method name of `gdfast.minimize` to the
factory of its optimizer) and `make_optimizer`, the optimizer of a run from a
name and options or from an optimizer object.
"""
from collections.abc import Callable

from .base import Optimizer
from .more_torch_rules import Muon, SparseAdam
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

METHODS: dict[str, Callable[..., Optimizer]] = {
    "gd": lambda **kw: SGD(**{"lr": 0.1, **kw}),
    "sgd": SGD,
    "momentum": lambda **kw: SGD(**{"lr": 0.1, "momentum": 0.9, **kw}),
    "nesterov": lambda **kw: SGD(**{"lr": 0.1, "momentum": 0.9, "nesterov": True, **kw}),
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "adamax": Adamax,
    "nadam": NAdam,
    "radam": RAdam,
    "adadelta": Adadelta,
    "rprop": Rprop,
    "lion": Lion,
    "adabelief": AdaBelief,
    "yogi": Yogi,
    "adan": Adan,
    "lamb": LAMB,
    "lars": LARS,
    "novograd": NovoGrad,
    # minimize's x is their y (where the gradient is taken); PolyakSGD's step
    # takes f(x), which minimize's loop does not give it: not a method
    "schedule_free_sgd": ScheduleFreeSGD,
    "schedule_free_adamw": ScheduleFreeAdamW,
}


def make_optimizer(method: str | Optimizer, options: dict | None = None) -> Optimizer:
    """An Optimizer from an instance, or from a name in METHODS and options."""
    if isinstance(method, Optimizer):
        if method._groups is not None:
            raise TypeError(f"an optimizer of several groups ({type(method).__name__}.grouped) "
                            "cannot drive a run over one vector x; give one group's settings")
        if options:
            raise TypeError("options is only for a method given by name; "
                            "pass the hyperparameters to the optimizer object")
        if isinstance(method, (SparseAdam, Muon, PolyakSGD)):
            why = ("it takes row-sparse gradients" if isinstance(method, SparseAdam)
                   else "its step takes f(x)" if isinstance(method, PolyakSGD)
                   else "it takes 2-D parameters")
            raise TypeError(f"{type(method).__name__} cannot drive a run over a vector x "
                            f"({why}); call its step in your own loop")
        return method
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be an Optimizer or one of {sorted(METHODS)}, "
                         f"got {method!r}")
    return METHODS[method.lower()](**(options or {}))
