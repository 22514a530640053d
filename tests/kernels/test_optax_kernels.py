"""The kernels of optax's AdaBelief, Yogi and Adan (kernels/optax_rules.py) and
LAMB, LARS and NovoGrad (kernels/optax_layerwise.py) against gdfast.reference
(their equations as optax writes them), serial against parallel bit for bit,
and their count of NaN/inf. Parity with optax itself:
tests/facade/test_optax_parity.py."""
import numpy as np
import pytest

from gdfast._rules import MORE_RULES
from gdfast.kernels import NORM_WORK
from kernel_helpers import JIT_DISABLED, gradient_sequence, learning_rate
from optax_cases import kernel_state

STEPS = 20

OPTIONS = [
    ("adabelief", {}),
    ("adabelief", dict(weight_decay=0.1, maximize=1.0)),
    ("adabelief", dict(nesterov=1.0, b1=0.5, b2=0.9, eps=1e-8, eps_root=0.0)),
    ("yogi", {}),
    ("yogi", dict(b1=0.5, b2=0.9, eps=1e-6, eps_root=1e-8, maximize=1.0)),
    ("adan", {}),
    ("adan", dict(b1=0.9, b2=0.8, b3=0.95, eps_root=0.0, weight_decay=0.1, maximize=1.0)),
    ("lamb", {}),
    ("lamb", dict(b1=0.5, b2=0.9, eps=1e-8, eps_root=1e-8, weight_decay=0.1, maximize=1.0)),
    ("lars", {}),
    ("lars", dict(weight_decay=0.01, trust_coefficient=0.02, eps=1e-3, momentum=0.5,
                  nesterov=1.0, maximize=1.0)),
    ("novograd", {}),
    ("novograd", dict(b1=0.5, b2=0.9, eps=1e-8, eps_root=1e-6, weight_decay=0.01,
                      maximize=1.0)),
]
LAYERWISE = ("lamb", "lars", "novograd")   # scaled by norms of the whole array


def _start(name, n, seed=0):
    rng = np.random.default_rng([seed, n])
    x0 = rng.standard_normal(n)
    start = 1e-6 if name == "yogi" else 0.0        # optax's initial_accumulator_value
    return x0, kernel_state(name, n, start)


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
    rule = MORE_RULES[name]
    for what, got, want in [("x", x, x_ref), *zip(rule.state, state, state_ref)]:
        if what != "work":                         # the kernel's scratch
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


@pytest.mark.parametrize("name", ["adabelief", "yogi", "adan", *LAYERWISE])
@pytest.mark.parametrize("variant", ["step", "step_parallel"])
def test_the_count_of_nonfinite_entries(name, variant):
    """A NaN and an inf in g spoil two entries of the element-wise rules: the
    step counts them, the others stay finite. The layer-wise rules' norms are
    NaN then, and so is every entry (optax's too): all are counted."""
    rule = MORE_RULES[name]
    kernel = getattr(rule, variant)
    x, state = _start(name, 9)
    g = np.linspace(-1.0, 1.0, 9)
    g[2], g[6] = np.nan, np.inf
    bad = kernel(x, g, state, 1, 1e-2, rule.hyper_tuple())
    finite = np.isfinite(x)
    for what, a in zip(rule.state, state):
        if what != "work":
            finite &= np.isfinite(a) if a.size == x.size else bool(np.isfinite(a).all())
    spoiled = list(range(9)) if name in LAYERWISE else [2, 6]
    assert bad == len(spoiled)
    assert list(np.flatnonzero(~finite)) == spoiled


@pytest.mark.parametrize("name", LAYERWISE)
def test_the_norms_are_of_the_whole_array(name):
    """Scaling g by 10 leaves LAMB's and LARS's steps (of size lr ||x|| per
    unit of the trust coefficient) and NovoGrad's first step (g / ||g||) the
    same up to rounding; the scratch makes no difference."""
    rule = MORE_RULES[name]
    rng = np.random.default_rng(4)
    x0, g = rng.standard_normal(50), rng.standard_normal(50)
    steps = []
    for scale in (1.0, 10.0):
        x, state = x0.copy(), kernel_state(name, 50)
        state[-1][:] = np.nan                      # the scratch's content does not matter
        rule.step(x, scale * g, state, 1, 0.1, rule.hyper_tuple(momentum=0.0)
                  if name == "lars" else rule.hyper_tuple(eps=0.0))
        steps.append(x - x0)
    assert np.allclose(steps[0], steps[1], rtol=1e-12, atol=0)
    assert len(kernel_state(name, 50)[-1]) == NORM_WORK


def test_lamb_scales_the_adam_step_by_the_trust_ratio():
    """Step 1 from zeros: Adam's direction is sign(g) (eps 0): the step is
    lr ||x|| / sqrt(n) along -sign(g)."""
    rule = MORE_RULES["lamb"]
    x0 = np.array([3.0, -4.0, 0.0, 12.0])
    x, state = x0.copy(), kernel_state("lamb", 4)
    rule.step(x, np.array([2.0, -0.5, 1.0, 7.0]), state, 1, 0.1, rule.hyper_tuple(eps=0.0))
    assert np.allclose(x0 - x, 0.1 * 13.0 / 2.0 * np.array([1.0, -1.0, 1.0, 1.0]),
                       rtol=1e-14, atol=0)


def test_novograd_keeps_one_second_moment_per_array():
    rule = MORE_RULES["novograd"]
    x, state = np.zeros(3), kernel_state("novograd", 3)
    assert state[1].shape == (1,)
    rule.step(x, np.array([3.0, 0.0, 4.0]), state, 1, 0.1, rule.hyper_tuple(eps=0.0))
    assert state[1][0] == 25.0 and np.allclose(x, -0.1 * np.array([0.6, 0.0, 0.8]))
    rule.step(x, np.array([0.0, 0.0, 0.0]), state, 2, 0.1, rule.hyper_tuple(eps=0.0))
    assert state[1][0] == 0.25 * 25.0


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
