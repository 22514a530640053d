"""Property tests: for any valid hyperparameters, every kernel follows the
reference, and serial equals parallel bit for bit."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_rel_close
from gdfast.rules import RULES

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
def test_any_valid_hyperparameters(problem):
    name, overrides, n, steps, lr, seed = problem
    rule = RULES[name]
    hyper = rule.hyper_tuple(**overrides)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    state = tuple(np.zeros(n) for _ in rule.state)
    xp, sp = x.copy(), tuple(s.copy() for s in state)
    xr, sr = x.tolist(), tuple(s.tolist() for s in state)
    for t in range(1, steps + 1):
        g = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        rule.step(x, g, state, t, lr, hyper)
        rule.step_parallel(xp, g, sp, t, lr, hyper)
        rule.reference(xr, g.tolist(), sr, t, lr, hyper)
    assert np.array_equal(x, xp)
    assert all(np.array_equal(a, b) for a, b in zip(state, sp))
    assert_rel_close(x, xr, rtol=1e-12, what="x")
    for s, s_ref in zip(state, sr):
        assert_rel_close(s, s_ref, rtol=1e-12, what="state")
