"""Every update-rule kernel against the pure-Python reference, and serial
against parallel, for 100 steps at lengths 0, 1, 7, 1000 and 100,003.

The rules are element-wise (each element's trajectory depends on its own x,
g and state only), so at 100,003 the reference follows a sample of the
elements (``reference_indices``: the first and last 1000, where a vector
loop's head and tail lie, and every 101st, every residue of the vector
widths) while the kernels run on all of them; serial against parallel is
compared on every element. The reference on all 100,003, interpreted element
by element, took 10 to 30 s a rule: a fifth of the suite's time."""
import functools

import numpy as np
import pytest

from gdfast._rules import RULES
from kernel_helpers import SIZES, STEPS, assert_rel_close, gradient_sequence, learning_rate

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit

# Per rule: the torch defaults, then every option switched away from its default.
CONFIGS = {
    "gd": [{}, dict(weight_decay=0.01, maximize=1.0)],
    "momentum": [{}, dict(momentum=0.5, dampening=0.3, weight_decay=0.01, maximize=1.0)],
    "nesterov": [{}, dict(momentum=0.5, weight_decay=0.01, maximize=1.0)],
    "adagrad": [{}, dict(lr_decay=0.01, eps=1e-6, weight_decay=0.01, maximize=1.0)],
    "rmsprop": [{}, dict(alpha=0.9, eps=1e-6, weight_decay=0.01, maximize=1.0)],
    "adam": [{}, dict(beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01, maximize=1.0)],
    "rmsprop_full": [dict(centered=1.0), dict(momentum=0.9),
                     dict(alpha=0.9, centered=1.0, momentum=0.5, weight_decay=0.01, maximize=1.0)],
    "adadelta": [{}, dict(rho=0.5, eps=1e-4, weight_decay=0.01, maximize=1.0)],
    "adamw": [{}, dict(amsgrad=1.0), dict(decoupled=0.0, amsgrad=1.0, beta1=0.3, maximize=1.0)],
    "adamax": [{}, dict(beta1=0.3, beta2=0.9, eps=1e-4, weight_decay=0.01, maximize=1.0)],
    "nadam": [{}, dict(momentum_decay=0.01, weight_decay=0.01, decoupled=1.0, maximize=1.0),
              dict(weight_decay=0.01)],
    "radam": [{}, dict(weight_decay=0.01, decoupled=1.0, beta2=0.9, maximize=1.0),
              dict(weight_decay=0.01)],
    "rprop": [{}, dict(eta_minus=0.3, eta_plus=1.5, step_min=1e-3, step_max=0.5, maximize=1.0)],
    "lion": [{}, dict(b1=0.5, b2=0.9, weight_decay=0.0, maximize=1.0)],
}
# Every configuration at every length, except that the largest length (slow
# for the reference) runs the first configuration of each rule only.
CASES = [(name, k, n) for name in CONFIGS for k in range(len(CONFIGS[name])) for n in SIZES
         if k == 0 or n < max(SIZES)]
# A centred RMSProp state must have square_avg >= grad_avg^2, so it starts at 0.
ZERO_STATE = {"rmsprop_full"}


def _initial(rule, config_index, n):
    """x0 and the initial state: zeros for defaults, non-negative random otherwise
    (an AdaGrad initial accumulator, a stale momentum buffer that step 1 must overwrite)."""
    rng = np.random.default_rng([n, config_index, 7])
    x0 = rng.standard_normal(n)
    if config_index == 0 or rule.name in ZERO_STATE:
        state = tuple(np.zeros(n) for _ in rule.state)
    else:
        state = tuple(np.abs(rng.standard_normal(n)) for _ in rule.state)
    return x0, state


def reference_indices(n, whole=1000, stride=101):
    """The elements the reference follows at length n: all of them up to
    2 * whole, else the first and last ``whole`` and every ``stride``-th."""
    if n <= 2 * whole:
        return np.arange(n)
    return np.unique(np.concatenate([np.arange(whole), np.arange(n - whole, n),
                                     np.arange(0, n, stride)]))


@functools.lru_cache(maxsize=None)
def trajectories(name, config_index, n):
    """Final (x, state) of the reference, the serial and the parallel kernel.

    The serial and parallel kernels run in lockstep; the first step at which
    they differ in any bit is recorded. The gradient is never modified. The
    reference runs on the elements of reference_indices(n); ``serial_sample``
    is the serial kernel's result there.
    """
    rule = RULES[name]
    hyper = rule.hyper_tuple(**CONFIGS[name][config_index])
    x0, state0 = _initial(rule, config_index, n)
    xs, ss = x0.copy(), tuple(s.copy() for s in state0)
    xp, sp = x0.copy(), tuple(s.copy() for s in state0)
    idx = reference_indices(n)
    xr, sr = x0[idx].tolist(), tuple(s[idx].tolist() for s in state0)
    first_difference = None
    g_modified = False
    for t, g in enumerate(gradient_sequence([n, config_index], n, STEPS), start=1):
        lr = learning_rate(rule.defaults["lr"], t)
        g_before = g.copy()
        rule.step(xs, g, ss, t, lr, hyper)
        rule.step_parallel(xp, g, sp, t, lr, hyper)
        rule.reference(xr, g[idx].tolist(), sr, t, lr, hyper)
        g_modified |= not np.array_equal(g, g_before)
        same = np.array_equal(xs, xp) and all(np.array_equal(a, b) for a, b in zip(ss, sp))
        if first_difference is None and not same:
            first_difference = t
    return dict(reference=(np.array(xr), tuple(np.array(s) for s in sr)),
                serial=(xs, ss), parallel=(xp, sp),
                serial_sample=(xs[idx], tuple(s[idx] for s in ss)),
                first_difference=first_difference, g_modified=g_modified)


@pytest.mark.parametrize("name,config_index,n", CASES)
def test_kernel_matches_reference(name, config_index, n):
    run = trajectories(name, config_index, n)
    (x, state), (x_ref, state_ref) = run["serial_sample"], run["reference"]
    assert_rel_close(x, x_ref, what=f"{name} x")
    for label, s, s_ref in zip(RULES[name].state, state, state_ref):
        assert_rel_close(s, s_ref, what=f"{name} {label}")
    assert not run["g_modified"], "the kernel wrote into the gradient"


@pytest.mark.parametrize("name,config_index,n", CASES)
def test_parallel_kernel_is_bitwise_equal_to_serial(name, config_index, n):
    run = trajectories(name, config_index, n)
    assert run["first_difference"] is None, f"first differs at step {run['first_difference']}"


@pytest.mark.parametrize("name", list(RULES))
def test_kernel_moves_parameters_downhill(name):
    """An independent check of direction and scale: one step on f = |x|^2 / 2
    from x0 = 1 lowers f, and maximize=1 raises it."""
    rule = RULES[name]
    for maximize, sign in ((0.0, -1), (1.0, 1)):
        x = np.ones(3)
        state = tuple(np.zeros(3) for _ in rule.state)
        rule.step(x, x.copy(), state, 1, 0.01, rule.hyper_tuple(maximize=maximize))
        assert np.all(np.sign(x - 1.0) == sign)


def test_momentum_kernel_is_the_classic_velocity_form():
    """v <- mu v - lr g ; x <- x + v  equals torch's buffer form for constant lr."""
    rule, mu, lr = RULES["momentum"], 0.9, 0.05
    a = np.array([0.5, 1.0, 2.0, 3.0])
    c = np.array([1.0, -2.0, 0.5, 4.0])
    x = np.zeros(4)
    buf = np.zeros(4)
    x_classic, v = np.zeros(4), np.zeros(4)
    for t in range(1, 601):
        rule.step(x, a * (x - c), (buf,), t, lr, rule.hyper_tuple(momentum=mu))
        v = mu * v - lr * a * (x_classic - c)
        x_classic = x_classic + v
        np.testing.assert_allclose(x, x_classic, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x, c, rtol=1e-9)
