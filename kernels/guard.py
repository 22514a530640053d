"""Skipping a step whose gradient holds NaN or inf (optax.apply_if_finite).

    applied = step_if_finite(rule_step, x, g, state, t, lr, hyper)

runs ``rule_step(x, g, state, t, lr, hyper)`` only if every g_i is finite
and returns whether it did; otherwise x and the state are not touched (the
caller keeps t as it was, as optax keeps the inner state, step count
included). The test is one read of g (max|g_i| on the IEEE bits, NaN and inf
included), before anything is written. The rule's own count of NaN or inf
written (an overflow from a finite g) is not passed on: a caller that needs
it tests ``max_abs(g)`` and calls the rule itself. ``rule_step`` is a
function argument: a FunctionRef (cached on disk) or a dispatcher (compiled
once per process), as in gdfast.kernels.function_refs.
"""
import numpy as np

from .jit import SERIAL, njit
from .reductions import max_abs, max_abs_parallel


@njit(**SERIAL)
def step_if_finite(rule_step, x, g, state, t, lr, hyper):
    """``rule_step(x, g, state, t, lr, hyper)`` if g is finite.

    Otherwise x and the state are not touched (the caller keeps t as it was).
    Serial: safe inside a user's prange with a serial rule.

    Parameters
    ----------
    rule_step : FunctionRef or numba dispatcher
        A rule of gdfast.kernels, e.g. ``adam_step`` (a FunctionRef is cached
        on disk; a dispatcher is compiled once per process).
    x, g, state, t, lr, hyper
        The rule's arguments (the calling convention of gdfast.kernels).

    Returns
    -------
    bool
        True if the step ran.
    """
    if not np.isfinite(max_abs(g)):
        return False
    rule_step(x, g, state, t, lr, hyper)
    return True


@njit(**SERIAL)
def step_if_finite_parallel(rule_step, x, g, state, t, lr, hyper):
    """`step_if_finite` with the finiteness test over numba's threads.

    Pass a ``*_step_parallel`` rule for a large array; the same result.

    Parameters
    ----------
    rule_step, x, g, state, t, lr, hyper
        As in `step_if_finite`.

    Returns
    -------
    bool
        True if the step ran.
    """
    if not np.isfinite(max_abs_parallel(g)):
        return False
    rule_step(x, g, state, t, lr, hyper)
    return True
