"""Property tests: for any valid hyperparameters, every kernel follows the
reference, and serial equals parallel bit for bit."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gdfast._rules import RULES
from kernel_helpers import JIT_DISABLED

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit

unit = st.floats(0.0, 0.999)
decay = st.floats(0.0, 0.1)
eps = st.floats(1e-12, 1e-2)
flag = st.sampled_from([0.0, 1.0])
HYPER = {
    "gd": st.fixed_dictionaries(dict(weight_decay=decay, maximize=flag)),
    "momentum": st.fixed_dictionaries(dict(momentum=unit, dampening=st.floats(0, 1),
                                           weight_decay=decay, maximize=flag)),
    "nesterov": st.fixed_dictionaries(dict(momentum=st.floats(0.01, 0.999),
                                           weight_decay=decay, maximize=flag)),
    "adagrad": st.fixed_dictionaries(dict(lr_decay=decay, eps=eps, weight_decay=decay,
                                          maximize=flag)),
    "rmsprop": st.fixed_dictionaries(dict(alpha=unit, eps=eps, weight_decay=decay,
                                          maximize=flag)),
    "adam": st.fixed_dictionaries(dict(beta1=unit, beta2=unit, eps=eps, weight_decay=decay,
                                       maximize=flag)),
    "rmsprop_full": st.fixed_dictionaries(dict(alpha=unit, eps=eps, weight_decay=decay,
                                               momentum=unit, centered=flag, maximize=flag)),
    "adadelta": st.fixed_dictionaries(dict(rho=unit, eps=eps, weight_decay=decay, maximize=flag)),
    "adamw": st.fixed_dictionaries(dict(beta1=unit, beta2=unit, eps=eps, weight_decay=decay,
                                        decoupled=flag, amsgrad=flag, maximize=flag)),
    "adamax": st.fixed_dictionaries(dict(beta1=unit, beta2=unit, eps=eps, weight_decay=decay,
                                         maximize=flag)),
    "nadam": st.fixed_dictionaries(dict(beta1=unit, beta2=unit, eps=eps, weight_decay=decay,
                                        momentum_decay=st.floats(0, 0.1), decoupled=flag,
                                        maximize=flag)),
    "radam": st.fixed_dictionaries(dict(beta1=unit, beta2=st.floats(0.5, 0.999), eps=eps,
                                        weight_decay=decay, decoupled=flag, maximize=flag)),
    "rprop": st.fixed_dictionaries(dict(eta_minus=st.floats(0.05, 0.95),
                                        eta_plus=st.floats(1.05, 3.0),
                                        step_min=st.floats(0, 1e-3), step_max=st.floats(1e-3, 50),
                                        maximize=flag)),
    "lion": st.fixed_dictionaries(dict(b1=st.floats(0, 1), b2=st.floats(0, 1),
                                       weight_decay=decay, maximize=flag)),
}


@st.composite
def problems(draw):
    name = draw(st.sampled_from(sorted(RULES)))
    return (name, draw(HYPER[name]), draw(st.integers(0, 40)), draw(st.integers(1, 30)),
            draw(st.floats(1e-4, 1.0)), draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=150, deadline=None)
@given(problems())
@example(problem=("adam", dict(beta1=0.5, beta2=0.0, eps=1e-12, weight_decay=0.0625,
                                maximize=0.0), 30, 10, 0.788513237703672, 4681914))
def test_any_valid_hyperparameters(problem):
    """Every step, from the reference's own x and state, agrees with the
    reference to 1e-12 of the larger of each entry's magnitude before and
    after the step, and serial equals parallel bit for bit.

    Steps start from the reference's values because with extreme
    hyperparameters a trajectory is ill-conditioned: in the example above
    (beta2 = 0, eps = 1e-12, weight decay) d = g + wd x nearly cancels, so an
    ulp of difference in x, from the kernel's and the reference's equivalent
    groupings, becomes a large relative change of d and of the step m/|d|.
    tests/kernels/test_kernels.py compares whole trajectories at ordinary settings."""
    name, overrides, n, steps, lr, seed = problem
    rule = RULES[name]
    hyper = rule.hyper_tuple(**overrides)
    rng = np.random.default_rng(seed)
    xr, sr = rng.standard_normal(n).tolist(), tuple([0.0] * n for _ in rule.state)
    for t in range(1, steps + 1):
        g = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        before = [np.array(a, dtype=float) for a in (xr,) + sr]
        x, state = before[0].copy(), tuple(a.copy() for a in before[1:])
        xp, sp = x.copy(), tuple(a.copy() for a in state)
        rule.step(x, g, state, t, lr, hyper)
        rule.step_parallel(xp, g, sp, t, lr, hyper)
        rule.reference(xr, g.tolist(), sr, t, lr, hyper)
        assert np.array_equal(x, xp) and all(np.array_equal(a, b) for a, b in zip(state, sp))
        for what, got, ref, old in zip(["x"] + list(rule.state), (x,) + state, (xr,) + sr,
                                       before):
            ref = np.asarray(ref, dtype=float)
            scale = np.maximum(np.abs(old), np.abs(ref))
            ok = np.abs(got - ref) <= 1e-12 * scale
            assert ok.all(), (f"step {t}, {what}[{np.argmin(ok)}]: {got[np.argmin(ok)]!r} vs "
                              f"reference {ref[np.argmin(ok)]!r} (before: {old[np.argmin(ok)]!r})")


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(g=st.lists(finite, min_size=1, max_size=40), scale=finite, sign=st.sampled_from([-1.0, 1.0]))
def test_folding_the_sign_into_the_scale_changes_no_bit(g, scale, sign):
    """kernels/sgd.py computes scale * (sign * g) as (sign * scale) * g."""
    from gdfast.kernels.sgd import _scaled_direction
    g = np.array(g)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = scale * (sign * g)
    # compiled and as Python (under NUMBA_DISABLE_JIT=1 both are the Python function)
    for fn in (_scaled_direction, getattr(_scaled_direction, "py_func", _scaled_direction)):
        with np.errstate(over="ignore", invalid="ignore"):
            got = np.array([fn(gi, 0.0, scale, 0.0, sign) for gi in g])
        np.testing.assert_array_equal(got.view(np.int64)[np.isfinite(expected)],
                                      expected.view(np.int64)[np.isfinite(expected)])
        assert np.array_equal(np.isnan(got), np.isnan(expected))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), hyper=st.fixed_dictionaries(dict(
    momentum=unit, dampening=st.floats(0, 1), maximize=flag)))
def test_sgd_kernels_equal_torchs_equations_bit_for_bit_without_decay(seed, hyper):
    """Without weight decay, numpy's element-wise evaluation of torch.optim.SGD's
    equations (d = ±g; b = d, then momentum * b + (1 - dampening) * d;
    x -= lr * b, or lr * (d + momentum * b) with Nesterov) gives the kernels'
    bits: serial and parallel, 3 steps, some entries -0.0."""
    rng = np.random.default_rng(seed)
    # above the parallel kernels' chunking over numba's threads; as Python
    # (NUMBA_DISABLE_JIT=1) prange is range, no chunking, and the equations
    # are the same at any length with -0.0 entries
    n = 1_009 if JIT_DISABLED else 20_011
    x0, lr = rng.standard_normal(n), 0.1
    x0[::97] = -0.0
    mu, damp, sign = hyper["momentum"], hyper["dampening"], -1.0 if hyper["maximize"] else 1.0
    cases = [("gd", dict(maximize=hyper["maximize"])),
             ("momentum", dict(hyper, weight_decay=0.0)),
             ("nesterov", dict(momentum=max(mu, 0.01), maximize=hyper["maximize"]))]
    for name, kw in cases:
        rule = RULES[name]
        h = rule.hyper_tuple(**kw)
        xe, be = x0.copy(), np.zeros(n)
        runs = [(x0.copy(), tuple(np.zeros(n) for _ in rule.state), k)
                for k in (rule.step, rule.step_parallel)]
        m = kw.get("momentum", 0.0)
        for t in (1, 2, 3):
            g = rng.standard_normal(n)
            g[::89] = -0.0
            d = sign * g
            if name == "gd":
                xe = xe - lr * d
            else:
                be = d if t == 1 else (m * be + ((1.0 - damp) if name == "momentum" else 1.0) * d)
                xe = xe - lr * (be if name == "momentum" else d + m * be)
            for x, s, kernel in runs:
                assert kernel(x, g, s, t, lr, h) == 0
        for x, s, _ in runs:
            assert np.array_equal(x.view(np.int64), xe.view(np.int64)), name
            if s:
                assert np.array_equal(s[0].view(np.int64), be.view(np.int64)), name
