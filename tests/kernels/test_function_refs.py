"""A FunctionRef stands for its function wherever a kernel takes one: the
same bits as the dispatcher, from Python and from a user's own @njit code
(as an argument and as a global), serial and parallel kernels alike."""
import numpy as np
import pytest
from numba import njit, prange

from gdfast import kernels
from gdfast.kernels import tv_descent
from gdfast.kernels.function_refs import FunctionRef, cacheable, function_ref
from gdfast.kernels.jit import kernels_digest

MOMENTUM = (0.81, 0.0, 0.0, 0.0)          # momentum, dampening, weight_decay, maximize


def _fused_run(step, rule, shape, steps=5):
    f = np.random.default_rng(3).random(shape)
    u, u_next = f.copy(), np.empty_like(f)
    state = (np.zeros(f.size),)
    work = tv_descent.tv_descent_workspace_2d(shape)
    energies = []
    for t in range(1, steps + 1):
        e, _ = step(u, u_next, f, 0.1, 0.03, False, rule, state, t, 0.02, MOMENTUM, work)
        energies.append(e)
        u, u_next = u_next, u
    return u, np.array(energies), state[0]


@pytest.mark.parametrize("step, shape", [(tv_descent.tv_descent_step_2d, (37, 23)),
                                         (tv_descent.tv_descent_step_2d_parallel, (300, 260))])
def test_a_ref_gives_the_dispatchers_bits_in_the_fused_iteration(step, shape):
    ref = cacheable(kernels.momentum_step)
    assert isinstance(ref, FunctionRef)
    for a, b in zip(_fused_run(step, kernels.momentum_step, shape), _fused_run(step, ref, shape)):
        np.testing.assert_array_equal(a, b)


@njit
def _users_loop(x, G, rule, state, hyper):
    for t in range(1, G.shape[0] + 1):
        rule(x, G[t - 1], state, t, 0.05, hyper)


REF_AS_GLOBAL = function_ref(kernels.momentum_step, kernels_digest())


@njit(parallel=True)
def _users_prange_with_a_global_ref(X, G, S, hyper):
    for b in prange(X.shape[0]):
        for t in range(1, G.shape[0] + 1):
            REF_AS_GLOBAL(X[b], G[t - 1], (S[b],), t, 0.05, hyper)


def test_a_ref_works_in_users_numba_code_as_argument_and_as_global():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((20, 33))
    X = rng.standard_normal((4, 33))
    expected = X.copy()
    S_expected = np.zeros_like(X)
    for b in range(X.shape[0]):
        for t in range(1, G.shape[0] + 1):
            kernels.momentum_step(expected[b], G[t - 1], (S_expected[b],), t, 0.05, MOMENTUM)
    as_argument, S_arg = X.copy(), np.zeros_like(X)
    for b in range(X.shape[0]):
        _users_loop(as_argument[b], G, cacheable(kernels.momentum_step), (S_arg[b],), MOMENTUM)
    as_global, S_glob = X.copy(), np.zeros_like(X)
    _users_prange_with_a_global_ref(as_global, G, S_glob, MOMENTUM)
    np.testing.assert_array_equal(as_argument, expected)
    np.testing.assert_array_equal(as_global, expected)
    np.testing.assert_array_equal(S_glob, S_expected)


def test_cacheable_gives_refs_for_gdfasts_kernels_and_leaves_other_functions_alone():
    @njit
    def mine(x, g):
        return 0.0
    assert cacheable(mine) is mine                        # unregistered: as it is
    ref = cacheable(kernels.adam_step)
    assert cacheable(kernels.adam_step).digest == ref.digest
    assert cacheable(ref) is ref
    assert ref.name == "gdfast.kernels.adam_family.adam_step"
    # another function of the same name gets another key, never the same entry
    assert function_ref(mine, ref.digest, name=ref.name).digest != ref.digest


def test_a_function_without_a_module_is_left_alone():
    # exec without __name__ in the namespace (as sympy's lambdify and other
    # code generators run) gives the function __module__ None
    namespace = {"njit": njit}
    exec("@njit\ndef made(x, g):\n    return 0.0\n", namespace)
    made = namespace["made"]
    assert made.py_func.__module__ is None
    assert cacheable(made) is made
