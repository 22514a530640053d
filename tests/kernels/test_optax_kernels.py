"""The kernels of optax's AdaBelief and Yogi (kernels/optax_rules.py) against
gdfast.reference (their equations as optax writes them), serial against
parallel bit for bit, and their count of NaN/inf. Parity with optax itself:
tests/facade/test_optax_parity.py."""
import numpy as np
import pytest

from gdfast._rules import MORE_RULES
from kernel_helpers import JIT_DISABLED, gradient_sequence, learning_rate

STEPS = 20

OPTIONS = [
    ("adabelief", {}),
    ("adabelief", dict(weight_decay=0.1, maximize=1.0)),
    ("adabelief", dict(nesterov=1.0, b1=0.5, b2=0.9, eps=1e-8, eps_root=0.0)),
    ("yogi", {}),
    ("yogi", dict(b1=0.5, b2=0.9, eps=1e-6, eps_root=1e-8, maximize=1.0)),
]


def _start(name, n, seed=0):
    rng = np.random.default_rng([seed, n])
    x0 = rng.standard_normal(n)
    start = 1e-6 if name == "yogi" else 0.0        # optax's initial_accumulator_value
    return x0, (np.full(n, start), np.full(n, start))


def _run(name, n, options, kernel=None, reference=False):
    rule = MORE_RULES[name]
    hyper = rule.hyper_tuple(**options)
    x0, state = _start(name, n)
    x = x0.tolist() if reference else x0.copy()
    if reference:
        state = tuple(s.tolist() for s in state)
    step = rule.reference if reference else kernel
    bad = 0
    for t, g in enumerate(gradient_sequence([n, 2], n, STEPS), start=1):
        out = step(x, g.tolist() if reference else g, state, t,
                   learning_rate(rule.defaults["lr"], t), hyper)
        bad += 0 if reference else out
    return np.array(x), tuple(np.array(s) for s in state), bad


@pytest.mark.nojit
@pytest.mark.parametrize("name,options", OPTIONS)
def test_kernel_follows_the_reference(name, options):
    """20 steps with gradients over 1e-3 .. 1e3, within 1e-12 relative (the
    kernel's fused multiply-adds, optax's as XLA compiles it, round once where
    the reference rounds twice)."""
    x0, _ = _start(name, 7)
    x, state, bad = _run(name, 7, options, MORE_RULES[name].step)
    x_ref, state_ref, _ = _run(name, 7, options, reference=True)
    assert bad == 0
    for what, got, want in [("x", x, x_ref), *zip(("mu", "nu"), state, state_ref)]:
        assert np.all(np.abs(got - want) <= 1e-12 * np.abs(want)), what
    assert np.all(x != x0)


@pytest.mark.skipif(JIT_DISABLED, reason="prange is range as Python")
@pytest.mark.parametrize("name,options", OPTIONS)
def test_parallel_kernel_is_bitwise_equal_to_serial(name, options):
    rule = MORE_RULES[name]
    xs, ss, bs = _run(name, 100_003, options, rule.step)
    xp, sp, bp = _run(name, 100_003, options, rule.step_parallel)
    assert np.array_equal(xs, xp) and bs == bp == 0
    for a, b in zip(ss, sp):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["adabelief", "yogi"])
@pytest.mark.parametrize("variant", ["step", "step_parallel"])
def test_the_count_of_nonfinite_entries(name, variant):
    """A NaN and an inf in g spoil two entries: the step counts them, the others stay finite."""
    rule = MORE_RULES[name]
    kernel = getattr(rule, variant)
    x, state = _start(name, 9)
    g = np.linspace(-1.0, 1.0, 9)
    g[2], g[6] = np.nan, np.inf
    bad = kernel(x, g, state, 1, 1e-2, rule.hyper_tuple())
    assert bad == 2
    finite = np.isfinite(x) & np.isfinite(state[0]) & np.isfinite(state[1])
    assert list(np.flatnonzero(~finite)) == [2, 6]


def test_yogi_moves_v_by_at_most_one_minus_b2_times_g_squared():
    """v <- v - (1 - b2) sign(v - g^2) g^2: with v far above g^2 it shrinks by
    exactly (1 - b2) g^2 (Adam's would drop to b2 v + (1 - b2) g^2)."""
    rule = MORE_RULES["yogi"]
    x, m, v = np.zeros(3), np.zeros(3), np.full(3, 100.0)
    g = np.array([1.0, -2.0, 0.5])
    rule.step(x, g, (m, v), 1, 0.1, rule.hyper_tuple(b2=0.9))
    assert np.allclose(v, 100.0 - 0.1 * g * g, rtol=1e-15, atol=0)


def test_adabelief_adds_eps_root_to_the_state():
    """optax keeps s + eps_root in the state: with g = 0 from zeros, s = eps_root."""
    rule = MORE_RULES["adabelief"]
    x, m, s = np.ones(2), np.zeros(2), np.zeros(2)
    rule.step(x, np.zeros(2), (m, s), 1, 0.1, rule.hyper_tuple(eps_root=1e-4))
    assert np.array_equal(s, np.full(2, 1e-4)) and np.array_equal(x, np.ones(2))
