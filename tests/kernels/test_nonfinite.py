"""The count of NaN/inf entries every kernel returns, and what the facade does
with it: Optimizer.step raises FloatingPointError, minimize stops.

The oracle for a count is the arrays themselves after the step: the number of
indices i where x[i] or an entry i of a state array is NaN or inf.
"""
import numpy as np
import pytest
from numba import njit
from test_kernels import CONFIGS, _initial

import gdfast
from gdfast._rules import RULES
from gdfast.kernels.nonfinite import any_nonfinite

N = 40_003          # above every rule's parallel_min_size
CASES = [(name, k) for name in CONFIGS for k in range(len(CONFIGS[name]))]
BIG = np.finfo(np.float64).max
TINY = 5e-324


def oracle_count(x, state):
    bad = ~np.isfinite(x)
    for a in state:
        if a.size:
            bad |= ~np.isfinite(a)
    return int(bad.sum())


def start(rule, config_index, options):
    """test_kernels' start, with the arrays the options leave unused empty (as
    the facade makes them): the kernel does not write those."""
    x, state = _initial(rule, config_index, N)
    return x, tuple(np.zeros(0) if unused else a
                    for a, unused in zip(state, _unused(rule, options)))


def _unused(rule, options):
    """Which state arrays the options leave unused (as the facade gives them length 0)."""
    if rule.name == "rmsprop_full":
        return (False, options.get("centered", 0.0) == 0.0, options.get("momentum", 0.0) == 0.0)
    if rule.name == "adamw":
        return (False, False, options.get("amsgrad", 0.0) == 0.0)
    return (False,) * len(rule.state)


def steps(kernel, rule, x, state, hyper, grads):
    """Run kernel over grads from t = 1; returns the counts."""
    lr = rule.defaults["lr"]
    return [kernel(x, g, state, t, lr, hyper) for t, g in enumerate(grads, 1)]


@pytest.mark.parametrize("name,config_index", CASES)
def test_count_is_zero_on_clean_steps_and_counts_every_poisoned_entry(name, config_index):
    rule = RULES[name]
    options = CONFIGS[name][config_index]
    hyper = rule.hyper_tuple(**options)
    rng = np.random.default_rng(config_index)
    grads = rng.standard_normal((4, N))
    # step 4: NaN and inf in g, x and each state array at separate places
    grads[3, [3, 50, 31_000]] = [np.nan, np.inf, -np.inf]
    grads[3, 7] = 1e300        # finite, but its square overflows in the squared-gradient rules
    results = []
    for kernel in (rule.step, rule.step_parallel):
        x, state = start(rule, config_index, options)
        counts = steps(kernel, rule, x, state, hyper, grads[:3])
        assert counts == [0, 0, 0], f"{kernel.__name__}: NaN or inf counted in a clean run"
        assert oracle_count(x, state) == 0
        x[[11, 20_000]] = [np.nan, -np.inf]
        for k, a in enumerate(state):
            if a.size:
                a[100 + k] = np.inf
        count = [kernel(x, grads[3], state, 4, rule.defaults["lr"], hyper)]
        results.append((count, x, state))
    (serial_count, xs, ss), (parallel_count, xp, sp) = results
    assert serial_count == parallel_count == [oracle_count(xs, ss)]
    assert serial_count[0] >= 3          # the NaN in g, in x, at least the state's inf
    assert np.array_equal(xs, xp, equal_nan=True)
    for a, b in zip(ss, sp):
        assert np.array_equal(a, b, equal_nan=True)


def test_count_is_zero_at_the_edges_of_the_float_range():
    """Huge, tiny and subnormal finite results are not counted; only NaN and inf."""
    rule = RULES["gd"]
    x = np.array([BIG, -BIG, TINY, -0.0, 1e-310, 0.0])
    g = np.zeros_like(x)
    assert rule.step(x, g, (), 1, 0.1, (0.0, 0.0)) == 0
    x = np.array([BIG, -BIG, 1.0])
    g = np.array([-BIG, BIG, 0.0])        # x - 0.1 g overflows at the first two
    assert rule.step(x, g, (), 1, 1.0, (0.0, 0.0)) == 2
    assert np.isinf(x[:2]).all() and x[2] == 1.0


@pytest.mark.parametrize("values,expected", [
    ((0.0,), 0), ((-0.0, TINY, -TINY), 0), ((BIG, -BIG, 1e-310, 3.0), 0),
    ((np.nan,), 1), ((np.inf,), 1), ((-np.inf,), 1),
    ((1.0, np.nan), 1), ((1.0, 2.0, -np.inf), 1), ((1.0, 2.0, 3.0, np.inf), 1),
    ((np.inf, -np.inf), 1), ((np.nan, np.nan, np.nan, np.nan), 1),
])
def test_any_nonfinite(values, expected):
    assert any_nonfinite(*values) == expected
    assert any_nonfinite.py_func(*values) == expected


# The overflows that used to give NaN silently (documented range before the
# count existed): every input finite, the exact update finite or not.
OVERFLOWS = [
    ("adam lr=1e308, g=0", lambda: gdfast.Adam(lr=1e308), 1.0, 0.0),
    ("adagrad wd=1e300, x=1e10", lambda: gdfast.Adagrad(weight_decay=1e300), 1e10, 1.0),
    ("adadelta wd=1e308, x=2", lambda: gdfast.Adadelta(weight_decay=1e308), 2.0, 1.0),
    ("adagrad lr=1.8e8, g=1e300", lambda: gdfast.Adagrad(lr=1.8e8), 1.0, 1e300),
    ("adam amsgrad lr=wd=1e300", lambda: gdfast.Adam(lr=1e300, weight_decay=1e300,
                                                     amsgrad=True), 1.0, 1.0),
    ("adam g=1e200 (only v overflows)", lambda: gdfast.Adam(), 1.0, 1e200),
    ("rmsprop g=1e200 (only a overflows)", lambda: gdfast.RMSprop(), 1.0, 1e200),
    ("sgd x - lr g beyond 1e308", lambda: gdfast.SGD(lr=10.0), -1e308, 1e308),
]


@pytest.mark.parametrize("n", [5, N])
@pytest.mark.parametrize("case,make,x_value,g_value", OVERFLOWS, ids=[c[0] for c in OVERFLOWS])
def test_step_raises_when_finite_inputs_overflow(case, make, x_value, g_value, n):
    opt = make()
    x = np.full(n, x_value)
    g = np.full(n, g_value)
    state = opt.init(x)
    with pytest.raises(FloatingPointError, match=rf"wrote NaN or inf at {n} of {n} entries"):
        opt.step(x, g, state)
    assert state.t == 1                       # the step was taken, as the message says
    assert oracle_count(x, state.arrays) == n


def test_step_raises_for_nan_in_g_and_the_count_names_the_entries():
    opt = gdfast.Adam(lr=0.1)
    x = np.zeros(10)
    g = np.ones(10)
    g[[2, 5]] = [np.nan, np.inf]
    state = opt.init(x)
    with pytest.raises(FloatingPointError, match="at 2 of 10 entries"):
        opt.step(x, g, state)


def test_step_if_finite_skips_nan_but_raises_for_an_overflow():
    opt = gdfast.Adam()
    x = np.ones(4)
    state = opt.init(x)
    assert opt.step_if_finite(x, np.array([1.0, np.nan, 1.0, 1.0]), state) is False
    assert np.array_equal(x, np.ones(4)) and state.t == 0
    with pytest.raises(FloatingPointError):
        opt.step_if_finite(x, np.full(4, 1e200), state)


@njit(cache=True)
def _huge_gradient(x, g, scale):
    """f = scale * sum(x): the gradient scale is finite, its square is not."""
    g[:] = scale
    return scale * np.sum(x) * 1e-200


@pytest.mark.parametrize("loop", ["python", "nopython"])
@pytest.mark.parametrize("on_nonfinite", ["stop", "skip"])
def test_minimize_stops_when_the_state_overflows(loop, on_nonfinite):
    """Adam's v = (1 - beta2) g^2 overflows while x stays finite (x would then
    never move again): the run stops at once with the start as its iterate."""
    fun = _huge_gradient if loop == "nopython" else _huge_gradient.py_func
    x0 = np.linspace(-1.0, 1.0, 7)
    res = gdfast.minimize(fun, x0, gdfast.Adam(lr=0.1), jac="inplace", args=(1e200,),
                          max_iter=50, on_nonfinite=on_nonfinite)
    assert res.nopython == (loop == "nopython")
    assert res.status == "non-finite"
    assert res.nit == 0
    assert np.array_equal(res.x, x0)
    assert np.isfinite(res.fun)


@pytest.mark.parametrize("loop", ["python", "nopython"])
def test_minimize_raises_when_the_state_overflows(loop):
    fun = _huge_gradient if loop == "nopython" else _huge_gradient.py_func
    with pytest.raises(FloatingPointError):
        gdfast.minimize(fun, np.ones(3), gdfast.Adam(lr=0.1), jac="inplace", args=(1e200,),
                        max_iter=50, on_nonfinite="raise")


@pytest.mark.parametrize("loop", ["python", "nopython"])
def test_minimize_runs_on_when_the_gradient_is_large_but_its_square_finite(loop):
    """The same objective with a gradient of 1e150 (square 1e300): no overflow."""
    fun = _huge_gradient if loop == "nopython" else _huge_gradient.py_func
    res = gdfast.minimize(fun, np.ones(3), gdfast.Adam(lr=0.1), jac="inplace", args=(1e150,),
                          max_iter=5, gtol=0.0)
    assert res.status == "max_iter" and res.nit == 5
