"""Skipping steps whose gradient holds NaN or inf (optax.apply_if_finite): the
kernels and Optimizer.step_if_finite leave x and the state untouched, count,
and otherwise step exactly as the rule does."""
import numpy as np
import pytest
from numba import njit

import gdfast
from gdfast.kernels import adam_step, adam_step_parallel, step_if_finite, step_if_finite_parallel
from kernel_helpers import JIT_DISABLED

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit

HYPER = (0.9, 0.999, 1e-8, 0.0, 0.0)


def _gradients(n, steps, bad, seed=0):
    """A seeded gradient per step; those in ``bad`` get a NaN, +inf or -inf."""
    rng = np.random.default_rng(seed)
    gs = [rng.standard_normal(n) for _ in range(steps)]
    for k, i in enumerate(sorted(bad)):
        gs[i][(7 * k) % n] = (np.nan, np.inf, -np.inf)[k % 3]
    return gs


# the parallel guard over numba's threads on a large array; as Python
# (NUMBA_DISABLE_JIT=1, 20 s at 300,007) the same 64 blocks of max_abs_parallel
# hold the same bad entries at 10,007
PARALLEL_N = 10_007 if JIT_DISABLED else 300_007


@pytest.mark.parametrize("guard, rule, n", [(step_if_finite, adam_step, 1001),
                                            (step_if_finite_parallel, adam_step_parallel,
                                             PARALLEL_N)])
def test_kernel_skips_non_finite_gradients_and_steps_otherwise(guard, rule, n):
    bad = {2, 3, 7}
    gs = _gradients(n, 12, bad)
    x, m, v = np.linspace(-1, 1, n), np.zeros(n), np.zeros(n)
    x_ref, m_ref, v_ref = x.copy(), m.copy(), v.copy()
    t = 0
    for k, g in enumerate(gs):
        before = (x.copy(), m.copy(), v.copy())
        applied = guard(rule, x, g, (m, v), t + 1, 1e-2, HYPER)
        assert applied == (k not in bad)
        if applied:
            t += 1
            adam_step(x_ref, g, (m_ref, v_ref), t, 1e-2, HYPER)     # the oracle: the bare rule
        else:
            for a, b in zip((x, m, v), before):
                assert np.array_equal(a, b)                          # untouched, bit for bit
    assert np.array_equal(x, x_ref) and np.array_equal(m, m_ref) and np.array_equal(v, v_ref)


def test_kernel_runs_inside_user_njit_code():
    @njit
    def loop(x, grads, m, v):
        t, skipped = 0, 0
        for k in range(grads.shape[0]):
            if step_if_finite(adam_step, x, grads[k], (m, v), t + 1, 0.1, HYPER):
                t += 1
            else:
                skipped += 1
        return t, skipped

    grads = np.array(_gradients(50, 20, {0, 5, 19}))
    x, m, v = np.zeros(50), np.zeros(50), np.zeros(50)
    assert loop(x, grads, m, v) == (17, 3)
    assert np.isfinite(x).all()


@pytest.mark.parametrize("make", [lambda: gdfast.Adam(lr=0.05),
                                  lambda: gdfast.SGD(lr=0.1, momentum=0.9),
                                  lambda: gdfast.RMSprop(lr=0.01, centered=True, momentum=0.5)])
def test_optimizer_step_if_finite_is_step_on_the_finite_gradients(make):
    bad = {0, 4, 5, 6, 11}
    gs = _gradients(64, 15, bad, seed=3)
    opt, ref = make(), make()
    x, x_ref = np.ones(64), np.ones(64)
    state, state_ref = opt.init(x), ref.init(x_ref)
    in_a_row = []
    for k, g in enumerate(gs):
        assert opt.step_if_finite(x, g, state) == (k not in bad)
        in_a_row.append(state.skipped_in_a_row)
        if k not in bad:
            ref.step(x_ref, g, state_ref)
    assert in_a_row[:8] == [1, 0, 0, 0, 1, 2, 3, 0]
    assert state.skipped == len(bad) and state.t == state_ref.t == 15 - len(bad)
    assert np.array_equal(x, x_ref)
    for a, b in zip(state.arrays, state_ref.arrays):
        assert np.array_equal(a, b)


def test_step_if_finite_checks_its_arguments_before_anything():
    opt = gdfast.Adam()
    x = np.zeros(4)
    state = opt.init(x)
    with pytest.raises(ValueError, match="g"):
        opt.step_if_finite(x, np.zeros(3), state)
    assert state.skipped == 0 and state.t == 0
