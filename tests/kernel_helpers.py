"""Shared helpers for the kernel tests (tests/ is on pytest's pythonpath).

Under NUMBA_DISABLE_JIT=1 (the second run of the suite, which covers the
kernel bodies as plain Python) every test still runs, but the largest vector
length is left out of the trajectory tables: 100 steps over 100,003 elements
interpreted element by element take minutes, and the same code path runs at
lengths 0, 1, 7 and 1000.
"""
import numba
import numpy as np
import pytest

import gdfast

JIT_DISABLED = bool(numba.config.DISABLE_JIT)
SIZES = (0, 1, 7, 1000) if JIT_DISABLED else (0, 1, 7, 1000, 100_003)
STEPS = 100


def gradient_sequence(seed, n, steps):
    """Random gradients with magnitudes spread over 1e-3 .. 1e3 (seeded)."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)


def plateau_losses(n=300, seed=0):
    """A loss that falls, then stalls with noise: plateaus for ReduceLROnPlateau."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return (1.0 / (1.0 + k / 10.0) + 0.05 * (k > 60) + 0.002 * rng.standard_normal(n)).tolist()


def learning_rate(lr0, t):
    """A learning rate that changes every step, so kernels must use the one given."""
    return lr0 * (1.0 + 0.5 * np.sin(t))


def assert_rel_close(actual, desired, rtol=1e-12, what="array"):
    """Element-wise |actual - desired| <= rtol * |desired| (exact where desired is 0)."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, what
    assert np.all(np.isfinite(actual)), f"{what}: non-finite values"
    err = np.abs(actual - desired)
    bad = err > rtol * np.abs(desired)
    if bad.any():
        i = int(np.argmax(np.where(bad, err / np.maximum(np.abs(desired), 1e-300), 0)))
        pytest.fail(f"{what}: {int(bad.sum())} of {actual.size} elements off by more than "
                    f"{rtol:g} relative; worst at [{i}]: {actual[i]!r} vs {desired[i]!r}")


# an optimizer of every rule with non-default options, for the fused TV kernels' tests
TV_RULES = {
    "gd": lambda: gdfast.SGD(lr=0.02),
    "momentum": lambda: gdfast.SGD(lr=0.02, momentum=0.8, dampening=0.1, weight_decay=0.01),
    "nesterov": lambda: gdfast.SGD(lr=0.02, momentum=0.7, nesterov=True),
    "adagrad": lambda: gdfast.Adagrad(lr=0.05, lr_decay=0.01),
    "rmsprop": lambda: gdfast.RMSprop(lr=0.01, centered=True, momentum=0.5),
    "adam": lambda: gdfast.Adam(lr=0.01, amsgrad=True),
    "adamw": lambda: gdfast.AdamW(lr=0.01),
    "adamax": lambda: gdfast.Adamax(lr=0.01),
    "nadam": lambda: gdfast.NAdam(lr=0.01),
    "radam": lambda: gdfast.RAdam(lr=0.01),
    "adadelta": lambda: gdfast.Adadelta(),
    "rprop": lambda: gdfast.Rprop(lr=0.01),
    "lion": lambda: gdfast.Lion(lr=0.001),
}


@gdfast.cached_objective            # the kernels compiled for it are cached on disk
@numba.njit(cache=True)
def rosenbrock(x, g):
    """The extended Rosenbrock function sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2,
    its gradient written into g (the L-BFGS tests' valley)."""
    f = 0.0
    g[:] = 0.0
    for i in range(x.size - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        f += 100.0 * a * a + b * b
        g[i] += -400.0 * a * x[i] - 2.0 * b
        g[i + 1] += 200.0 * a
    return f
