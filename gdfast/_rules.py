"""The table of update rules: kernel, reference and hyperparameters of each.

The facade, the benchmarks and the tests find a rule here by name instead of
repeating the kernels' argument orders. ``hyper`` lists the names of the
entries of a kernel's ``hyper`` tuple in order; ``defaults`` gives torch.optim's
default for each (and a default lr); ``state`` names the state arrays.
"""
from typing import Callable, NamedTuple

import numpy as np

from . import kernels, reference


class Rule(NamedTuple):
    name: str
    step: Callable            # serial kernel, safe inside a user's prange
    step_parallel: Callable   # bitwise-equal kernel over numba's threads
    reference: Callable       # pure-Python oracle, same convention
    state: tuple              # names of the state arrays, each shaped like x
    hyper: tuple              # names of the hyper tuple's entries, in order
    defaults: dict            # lr and every entry of hyper
    parallel_min_size: int    # below this length the serial kernel is faster

    def hyper_tuple(self, **overrides):
        """The kernel's hyper tuple (floats) from defaults and overrides."""
        unknown = set(overrides) - set(self.hyper)
        if unknown:
            raise TypeError(f"{self.name} has no hyperparameter(s) {sorted(unknown)}; "
                            f"expected some of {list(self.hyper)}")
        values = {**self.defaults, **overrides}
        return tuple(float(values[name]) for name in self.hyper)

    def __reduce__(self):
        # by name: unpickled in another process (a Dask worker) a numba
        # dispatcher is rebuilt as a new object that compiles afresh; RULES'
        # own are the ones whose kernels come from the disk cache
        return (rule_named, (self.name,))

    def kernel_for(self, n):
        """The kernel for parameters of length n: serial below parallel_min_size."""
        return self.step if n < self.parallel_min_size else self.step_parallel


# Where waking numba's threads starts to pay, measured on the project's
# 2-core machine (best of 5 x 200 calls): plain/momentum rules cross over near
# 20,000 elements, the rules with a square root and a division near 4,000.
# The thresholds sit above both crossings, as a loaded machine wakes threads
# more slowly.
SGD_PARALLEL_MIN_SIZE = 32_768
ADAPTIVE_PARALLEL_MIN_SIZE = 8_192
# Muon's step is O(n min(A, B)) (the Newton-Schulz products): threads pay from
# small matrices on
MUON_PARALLEL_MIN_SIZE = 1_024


def _rule(name, state, hyper, defaults, parallel_min_size):
    return Rule(name, getattr(kernels, f"{name}_step"),
                getattr(kernels, f"{name}_step_parallel"),
                getattr(reference, f"{name}_step"), state, hyper, defaults,
                parallel_min_size)


RULES = {
    rule.name: rule for rule in (
        _rule("gd", (), ("weight_decay", "maximize"),
              dict(lr=0.1, weight_decay=0.0, maximize=0.0), SGD_PARALLEL_MIN_SIZE),
        _rule("momentum", ("momentum_buffer",),
              ("momentum", "dampening", "weight_decay", "maximize"),
              dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0,
                   maximize=0.0), SGD_PARALLEL_MIN_SIZE),
        _rule("nesterov", ("momentum_buffer",),
              ("momentum", "weight_decay", "maximize"),
              dict(lr=0.1, momentum=0.9, weight_decay=0.0, maximize=0.0),
              SGD_PARALLEL_MIN_SIZE),
        _rule("adagrad", ("sum",), ("lr_decay", "eps", "weight_decay", "maximize"),
              dict(lr=0.01, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                   maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("rmsprop", ("square_avg",), ("alpha", "eps", "weight_decay", "maximize"),
              dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("adam", ("exp_avg", "exp_avg_sq"),
              ("beta1", "beta2", "eps", "weight_decay", "maximize"),
              dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                   weight_decay=0.0, maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("rmsprop_full", ("square_avg", "grad_avg", "momentum_buffer"),
              ("alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
              dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                   centered=0.0, maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("adadelta", ("square_avg", "acc_delta"), ("rho", "eps", "weight_decay", "maximize"),
              dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=0.0),
              ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("adamw", ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
              ("beta1", "beta2", "eps", "weight_decay", "decoupled", "amsgrad", "maximize"),
              dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                   decoupled=1.0, amsgrad=0.0, maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("adamax", ("exp_avg", "exp_inf"),
              ("beta1", "beta2", "eps", "weight_decay", "maximize"),
              dict(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=0.0),
              ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("nadam", ("exp_avg", "exp_avg_sq"),
              ("beta1", "beta2", "eps", "weight_decay", "momentum_decay", "decoupled", "maximize"),
              dict(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                   momentum_decay=0.004, decoupled=0.0, maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("radam", ("exp_avg", "exp_avg_sq"),
              ("beta1", "beta2", "eps", "weight_decay", "decoupled", "maximize"),
              dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=0.0,
                   maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("rprop", ("prev", "step_size"),
              ("eta_minus", "eta_plus", "step_min", "step_max", "maximize"),
              dict(lr=0.01, eta_minus=0.5, eta_plus=1.2, step_min=1e-6, step_max=50.0,
                   maximize=0.0), SGD_PARALLEL_MIN_SIZE),
        _rule("lion", ("exp_avg",), ("b1", "b2", "weight_decay", "maximize"),
              dict(lr=1e-4, b1=0.9, b2=0.99, weight_decay=1e-3, maximize=0.0),
              SGD_PARALLEL_MIN_SIZE),
    )
}

# torch.optim's rules added for issue 31 (ASGD, Adafactor, Muon, SparseAdam), and
# optax's AdaBelief, Yogi, Adan, LAMB, LARS and NovoGrad (the last three with
# state arrays not of x's length: scratch for their norms), schedule-free SGD
# and AdamW, and Polyak SGD.
# Kept out of RULES, which the per-rule tests, the nopython driver's tests and
# the fused TV kernels iterate over as element-wise rules whose state arrays
# are all of x's length: Adafactor's factors and Muon's scratch are not, and
# SparseAdam takes indices and rows instead of g (kernels/sparse_adam.py).
# ASGD fits that form and can join RULES once the property tests have a
# strategy for its hyperparameters.
MORE_RULES = {
    rule.name: rule for rule in (
        _rule("asgd", ("ax",), ("lambd", "alpha", "t0", "weight_decay", "maximize"),
              dict(lr=0.01, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=0.0),
              SGD_PARALLEL_MIN_SIZE),
        _rule("adafactor", ("row_var", "col_var", "variance", "work"),
              ("beta2_decay", "eps1", "eps2", "d", "weight_decay", "maximize", "batch", "rows",
               "cols"),
              dict(lr=0.01, beta2_decay=-0.8, eps1=float(np.finfo(np.float64).eps), eps2=1e-3,
                   d=1.0, weight_decay=0.0, maximize=0.0, batch=0.0, rows=0.0, cols=0.0),
              ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("muon", ("momentum_buffer", "work"),
              ("momentum", "nesterov", "weight_decay", "a", "b", "c", "eps", "ns_steps", "rows",
               "lr_ratio"),
              dict(lr=1e-3, momentum=0.95, nesterov=1.0, weight_decay=0.1, a=3.4445, b=-4.7750,
                   c=2.0315, eps=1e-7, ns_steps=5.0, rows=1.0, lr_ratio=1.0),
              MUON_PARALLEL_MIN_SIZE),
        _rule("sparse_adam", ("exp_avg", "exp_avg_sq"), ("beta1", "beta2", "eps", "maximize"),
              dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, maximize=0.0),
              ADAPTIVE_PARALLEL_MIN_SIZE),
        # optax's rules (kernels/optax_rules.py): optax requires a learning rate;
        # the papers' 1e-3 (AdaBelief) and 1e-2 (Yogi) here
        _rule("adabelief", ("mu", "nu"),
              ("b1", "b2", "eps", "eps_root", "weight_decay", "nesterov", "maximize"),
              dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, weight_decay=0.0,
                   nesterov=0.0, maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("yogi", ("mu", "nu"), ("b1", "b2", "eps", "eps_root", "maximize"),
              dict(lr=1e-2, b1=0.9, b2=0.999, eps=1e-3, eps_root=0.0, maximize=0.0),
              ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("adan", ("m", "v", "n", "g"),
              ("b1", "b2", "b3", "eps", "eps_root", "weight_decay", "maximize"),
              dict(lr=1e-3, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=1e-8,
                   weight_decay=0.0, maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        # optax's layer-wise rules (kernels/optax_layerwise.py): "work" is
        # kernels.NORM_WORK entries of scratch for the norms, NovoGrad's nu one
        # number; the papers' learning rates (LAMB 1e-3, LARS 0.1, NovoGrad 1e-2)
        _rule("lamb", ("mu", "nu", "work"),
              ("b1", "b2", "eps", "eps_root", "weight_decay", "maximize"),
              dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0,
                   maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("lars", ("trace", "work"),
              ("weight_decay", "trust_coefficient", "eps", "momentum", "nesterov", "maximize"),
              dict(lr=0.1, weight_decay=0.0, trust_coefficient=1e-3, eps=0.0, momentum=0.9,
                   nesterov=0.0, maximize=0.0), SGD_PARALLEL_MIN_SIZE),
        _rule("novograd", ("mu", "nu", "work"),
              ("b1", "b2", "eps", "eps_root", "weight_decay", "maximize"),
              dict(lr=1e-2, b1=0.9, b2=0.25, eps=1e-6, eps_root=0.0, weight_decay=0.0,
                   maximize=0.0), ADAPTIVE_PARALLEL_MIN_SIZE),
        # optax's schedule-free SGD and AdamW (kernels/optax_schedule_free.py):
        # x is the point y, the state z (a copy of the first y) and the
        # one-entry weight_sum and max_lr; warmup_steps 0 is optax's None.
        # Polyak's step (optax.polyak_sgd) takes f(x) too: polyak_sgd_step(x, g,
        # value, state, t, lr, hyper), lr optax's scaling, "work" the norm's scratch
        _rule("schedule_free_sgd", ("z", "weight_sum", "max_lr"),
              ("b1", "weight_decay", "weight_lr_power", "warmup_steps", "maximize"),
              dict(lr=1.0, b1=0.9, weight_decay=0.0, weight_lr_power=2.0, warmup_steps=0.0,
                   maximize=0.0), SGD_PARALLEL_MIN_SIZE),
        _rule("schedule_free_adamw", ("z", "nu", "weight_sum", "max_lr"),
              ("b1", "b2", "eps", "weight_decay", "weight_lr_power", "warmup_steps",
               "maximize"),
              dict(lr=0.0025, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0,
                   weight_lr_power=2.0, warmup_steps=0.0, maximize=0.0),
              ADAPTIVE_PARALLEL_MIN_SIZE),
        _rule("polyak_sgd", ("work",), ("max_learning_rate", "f_min", "eps", "plus"),
              dict(lr=1.0, max_learning_rate=1.0, f_min=0.0, eps=0.0, plus=0.0),
              SGD_PARALLEL_MIN_SIZE),
    )
}

# name -> (kernel, plain-Python reference); the torch.optim.lr_scheduler
# equivalents have torch itself as their oracle (reference None:
# tests/facade/test_schedules_torch.py runs live torch)
SCHEDULES = {
    name: (getattr(kernels, name), getattr(reference, name, None))
    for name in ("constant", "inverse_time_decay", "exponential_decay",
                 "step_decay", "cosine_decay", "warmup_cosine", "constant_lr", "linear_lr",
                 "polynomial_lr", "multistep_lr", "cosine_annealing", "cosine_warm_restarts",
                 "cyclic_lr", "one_cycle_lr", "swa_lr", "lambda_lr", "multiplicative_lr",
                 "sequential_lr", "chained_lr")
}


def rule_named(name):
    """RULES[name] or MORE_RULES[name] (how a pickled Rule is rebuilt)."""
    return RULES[name] if name in RULES else MORE_RULES[name]
