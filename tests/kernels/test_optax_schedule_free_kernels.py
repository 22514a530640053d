"""The kernels of optax's schedule-free SGD and AdamW and of Polyak SGD
(kernels/optax_schedule_free.py) against gdfast.reference (their equations),
serial against parallel bit for bit, their count of NaN/inf and the edge
cases of Polyak's step. Parity with optax itself: tests/facade/
test_optax_parity.py (the kernels) and test_optax_schedule_free.py."""
import numpy as np
import pytest

from gdfast import kernels, reference
from gdfast._rules import MORE_RULES
from kernel_helpers import JIT_DISABLED, gradient_sequence, learning_rate
from optax_cases import kernel_state

STEPS = 20

OPTIONS = [
    ("schedule_free_sgd", {}),
    ("schedule_free_sgd", dict(b1=0.5, weight_decay=0.1, weight_lr_power=1.0, maximize=1.0)),
    ("schedule_free_sgd", dict(warmup_steps=7.0)),
    ("schedule_free_adamw", {}),
    ("schedule_free_adamw", dict(b1=0.95, b2=0.9, eps=1e-6, weight_decay=0.1,
                                 weight_lr_power=0.5, warmup_steps=30.0, maximize=1.0)),
    ("polyak_sgd", {}),
    ("polyak_sgd", dict(max_learning_rate=0.1, f_min=-1.0, eps=1e-3, plus=1.0)),
]


def _value(g):
    """Some objective value for Polyak's step (its kernel only reads a number)."""
    return float(0.3 * np.sum(g * g) ** 0.5)


def _run(name, n, options, kernel=None, as_reference=False):
    rule = MORE_RULES[name]
    hyper = rule.hyper_tuple(**options)
    x0 = np.random.default_rng([1, n]).standard_normal(n)
    state = kernel_state(name, n, 0.0, x0)
    x = x0.tolist() if as_reference else x0.copy()
    if as_reference:
        state = tuple(s.tolist() for s in state)
    step = rule.reference if as_reference else kernel
    bad = 0
    for t, g in enumerate(gradient_sequence([n, 3], n, STEPS), start=1):
        lr = learning_rate(rule.defaults["lr"], t)
        gg = g.tolist() if as_reference else g
        if name == "polyak_sgd":
            out = step(x, gg, _value(g), state, t, lr, hyper)
        else:
            out = step(x, gg, state, t, lr, hyper)
        bad += 0 if as_reference else out
    return x0, np.array(x), tuple(np.array(s) for s in state), bad


@pytest.mark.nojit
@pytest.mark.parametrize("name,options", OPTIONS)
def test_kernel_follows_the_reference(name, options):
    """20 steps with gradients over 1e-3 .. 1e3 and a changing lr, within 1e-12
    relative (the kernels' fused multiply-adds round once where the reference
    rounds twice)."""
    x0, x, state, bad = _run(name, 7, options, MORE_RULES[name].step)
    _, x_ref, state_ref, _ = _run(name, 7, options, as_reference=True)
    assert bad == 0
    for what, got, want in [("x", x, x_ref), *zip(MORE_RULES[name].state, state, state_ref)]:
        if what != "work":
            assert np.all(np.abs(got - want) <= 1e-12 * np.abs(want)), what
    assert np.all(x != x0)


@pytest.mark.skipif(JIT_DISABLED, reason="prange is range as Python")
@pytest.mark.parametrize("name,options", OPTIONS)
def test_parallel_kernel_is_bitwise_equal_to_serial(name, options):
    rule = MORE_RULES[name]
    _, xs, ss, bs = _run(name, 100_003, options, rule.step)
    _, xp, sp, bp = _run(name, 100_003, options, rule.step_parallel)
    assert np.array_equal(xs, xp) and bs == bp == 0
    for a, b in zip(ss, sp):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["schedule_free_sgd", "schedule_free_adamw"])
@pytest.mark.parametrize("variant", ["step", "step_parallel"])
def test_the_count_of_nonfinite_entries(name, variant):
    """A NaN and an inf in g spoil two entries of y and z (and nu): counted."""
    rule = MORE_RULES[name]
    x = np.linspace(-1.0, 1.0, 9)
    state = kernel_state(name, 9, 0.0, x)
    g = np.linspace(-1.0, 1.0, 9)
    g[2], g[6] = np.nan, np.inf
    bad = getattr(rule, variant)(x, g, state, 2, 1e-2, rule.hyper_tuple())
    assert bad == 2
    assert list(np.flatnonzero(~(np.isfinite(x) & np.isfinite(state[0])))) == [2, 6]


def test_warmup_is_optaxs_float32_schedule():
    """optax.warmup_constant_schedule(0, 1e-2, 5000) as jax evaluates it (jitted,
    float32): these values were printed by optax 0.2.8 / jax 0.10.2 at counts
    1, 2, 37, 100; the first step's z does not move (count 0: rate 0)."""
    optax_rates = {1: 1.9997357867396204e-06, 2: 4.000067747256253e-06,
                   37: 7.399976311717182e-05, 100: 0.00019999980577267706}
    rule = MORE_RULES["schedule_free_sgd"]
    hyper = rule.hyper_tuple(warmup_steps=5000.0)
    for t, rate in optax_rates.items():
        x = np.ones(3)
        state = kernel_state(rule.name, 3, 0.0, x)
        rule.step(x, np.ones(3), state, t, 1e-2, hyper)
        assert state[2][0] == rate, t                       # max_lr: the rate of count t
        ref = [[0.0], [0.0]]
        assert reference._schedule_free_rate(t, 1e-2, 5000.0) == rate
        reference._schedule_free_weight(t, 1e-2, 5000.0, 2.0, *ref)
        assert ref[1][0] == rate
    x = np.ones(3)
    state = kernel_state(rule.name, 3, 0.0, x)
    rule.step(x, np.ones(3), state, 1, 1e-2, hyper)
    assert np.array_equal(state[0], np.ones(3))


def test_eval_params_kernel():
    y, z = np.array([1.0, 2.0, -3.0]), np.array([0.5, 0.0, 1.0])
    out = np.empty(3)
    kernels.schedule_free_eval_params(y, z, 0.8, out)
    assert np.array_equal(out, [(1.0 - 0.19999999999999996 * 0.5) / 0.8, 2.0 / 0.8,
                                (-3.0 - 0.19999999999999996) / 0.8])
    kernels.schedule_free_eval_params(y, z, 0.8, y)          # in place
    assert np.array_equal(y, out)


@pytest.mark.parametrize("variant", ["step", "step_parallel"])
def test_polyaks_edge_cases(variant):
    """A zero gradient (||u||^2 + eps <= float64's eps): no step; sps+ with f
    below f_min: no step, sps: a step uphill (a negative step size, optax's);
    the step is capped at max_learning_rate; a NaN value is counted."""
    rule = MORE_RULES["polyak_sgd"]
    step = getattr(rule, variant)
    work = kernel_state("polyak_sgd", 2)
    x = np.array([1.0, 2.0])
    assert step(x, np.zeros(2), 5.0, work, 1, 1.0, rule.hyper_tuple()) == 0
    assert np.array_equal(x, [1.0, 2.0])
    step(x, np.array([1.0, 0.0]), -1.0, work, 1, 1.0, rule.hyper_tuple(plus=1.0))
    assert np.array_equal(x, [1.0, 2.0])
    step(x, np.array([1.0, 0.0]), -1.0, work, 1, 1.0, rule.hyper_tuple())
    assert np.array_equal(x, [2.0, 2.0])                     # step -1: gap / ||g||^2
    step(x, np.array([1.0, 0.0]), 100.0, work, 1, 1.0, rule.hyper_tuple(max_learning_rate=0.5))
    assert np.array_equal(x, [1.5, 2.0])
    assert step(x, np.array([1.0, 0.0]), np.nan, work, 1, 1.0, rule.hyper_tuple()) == 2
