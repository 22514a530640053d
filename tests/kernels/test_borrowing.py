"""The BORROWING kernels (kernels.jit): compiled without reference counts,
they still run users' functions that allocate (kernels.calls), and none of
them returns an array (a count taken by no one and dropped by the caller)."""
import importlib
import pkgutil

import numpy as np
import pytest
from numba import njit, types
from numba.core.dispatcher import Dispatcher

import gdfast
import gdfast.kernels

pytestmark = pytest.mark.xdist_group("borrowing")    # one worker compiles the fits once

TARGET = np.array([1.0, -2.0, 3.0])
T = np.linspace(0.0, 3.0, 8)


@njit
def allocating_quadratic(x, g):
    diff = x - TARGET * 1.0                # array expressions: each allocates
    g[:] = 2.0 * diff
    return float(np.sum(diff * diff))


@njit
def allocating_decay(p, r, y):
    r[:] = p[0] * np.exp(-p[1] * T) + p[2] - y


TRUTH = np.array([[1.0, 0.5, 0.1], [2.0, 0.2, 0.0]])


@pytest.fixture(scope="module")
def fits():
    """L-BFGS and LM runs of objectives that allocate (compiling the kernels)."""
    Y = TRUTH[:, :1] * np.exp(-TRUTH[:, 1:2] * T) + TRUTH[:, 2:]
    return (gdfast.minimize(allocating_quadratic, np.zeros(3), jac="inplace"),
            gdfast.least_squares_batch(allocating_decay, np.tile([1.5, 0.3, 0.05], (2, 1)),
                                       n_residuals=T.size, batch_args=(Y,)))


def test_an_objective_that_allocates_runs_in_the_borrowing_loops(fits):
    res, fit = fits
    assert res.success and np.allclose(res.x, TARGET, rtol=0, atol=1e-8)
    assert fit.success.all() and np.allclose(fit.x, TRUTH, rtol=0, atol=1e-6)


def _holds_an_array(ty):
    if isinstance(ty, types.Array):
        return True
    return isinstance(ty, types.BaseTuple) and any(_holds_an_array(t) for t in ty.types)


def _borrowing_dispatchers():
    for info in pkgutil.iter_modules(gdfast.kernels.__path__):
        module = importlib.import_module(f"gdfast.kernels.{info.name}")
        for name, obj in vars(module).items():
            if (isinstance(obj, Dispatcher) and obj.__module__ == module.__name__
                    and obj.targetoptions.get("_nrt") is False):
                yield f"{info.name}.{name}", obj


def test_no_borrowing_kernel_returns_an_array(fits):
    compiled = [(name, overload.signature.return_type)          # every signature of each
                for name, dispatcher in _borrowing_dispatchers()
                for overload in dispatcher.overloads.values()]
    # the loops' kernels are among those checked, so the check is not empty
    assert {"lbfgs_b.lbfgs_b_advance", "levenberg_marquardt.levenberg_marquardt",
            "lbfgs.lbfgs_direction"} <= {name for name, _ in compiled}
    assert [name for name, ty in compiled if _holds_an_array(ty)] == []
