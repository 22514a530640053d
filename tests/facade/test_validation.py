"""Bad input gets an error that names the argument, and mutates nothing."""
import numpy as np
import pytest

import gdfast
from gdfast.problems import classic_value_and_grad


def _arrays(n=8):
    rng = np.random.default_rng(0)
    return rng.standard_normal(n), rng.standard_normal(n)


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


BAD_STEP = [
    # (description, make (x, g, state-or-None) from good ones, error, message)
    ("float32 x", lambda x, g, s: (x.astype(np.float32), g, s), TypeError,
     "x must have dtype float64"),
    ("int x", lambda x, g, s: (x.astype(int), g, s), TypeError, "x must have dtype float64"),
    ("list x", lambda x, g, s: (list(x), g, s), TypeError, "x must be a numpy.ndarray"),
    ("strided x", lambda x, g, s: (np.repeat(x, 2)[::2], g, s), ValueError,
     "x must be C-contiguous"),
    # any shape is taken (issue 15), but g must have x's shape
    ("2-D x, 1-D g", lambda x, g, s: (x.reshape(2, 4), g, s), ValueError,
     r"g must have the shape of x \(2, 4\), got \(8,\)"),
    ("strided 2-D x", lambda x, g, s: (np.repeat(x, 2).reshape(2, 8)[:, ::2], g.reshape(2, 4), s),
     ValueError, "x must be C-contiguous"),
    ("read-only x", lambda x, g, s: (_readonly(x), g, s), ValueError, "x is read-only"),
    ("big-endian x", lambda x, g, s: (x.astype(">f8"), g, s), TypeError, "native byte order"),
    ("short g", lambda x, g, s: (x, g[:5], s), ValueError, "g must have length 8"),
    ("float32 g", lambda x, g, s: (x, g.astype(np.float32), s), TypeError,
     "g must have dtype float64"),
    ("strided g", lambda x, g, s: (x, np.repeat(g, 2)[::2], s), ValueError,
     "g must be C-contiguous"),
    ("state of another length", lambda x, g, s: (x, g, s), ValueError,
     "state arrays have length 3 but x has length 8"),
    ("not a state", lambda x, g, s: (x, g, (np.zeros(8), np.zeros(8))), TypeError,
     "state must be the OptimizerState"),
]


@pytest.mark.parametrize("opt", [gdfast.SGD(lr=0.1), gdfast.SGD(lr=0.1, momentum=0.9),
                                 gdfast.Adam(), gdfast.Adagrad(), gdfast.RMSprop()],
                         ids=["gd", "momentum", "adam", "adagrad", "rmsprop"])
@pytest.mark.parametrize("what,make,error,match", BAD_STEP, ids=[c[0] for c in BAD_STEP])
def test_bad_step_arguments(opt, what, make, error, match):
    x, g = _arrays()
    state = opt.init(x)
    state_arg = opt.init(np.zeros(3)) if what == "state of another length" else state
    x_bad, g_bad, s_bad = make(x, g, state_arg)
    snapshot = [np.array(a, copy=True) for a in (x_bad, g_bad)]
    state_snapshot = [a.copy() for a in state.arrays]
    with pytest.raises(error, match=match):
        opt.step(x_bad, g_bad, s_bad)
    for a, before in zip((x_bad, g_bad), snapshot):
        assert np.array_equal(np.asarray(a), before)
    for a, before in zip(state.arrays, state_snapshot):
        assert np.array_equal(a, before)
    assert state.t == 0


def test_state_from_another_optimizer_is_refused():
    x, g = _arrays()
    with pytest.raises(TypeError, match="state must be the OptimizerState"):
        gdfast.Adam().step(x, g, gdfast.SGD(momentum=0.9).init(x))


BAD_CONSTRUCTION = [
    (lambda: gdfast.SGD(lr=-1.0), ValueError, "lr must be >= 0"),
    (lambda: gdfast.Rprop(lr=float("nan")), ValueError, r"lr must be >= 0 \(inf allowed\)"),
    (lambda: gdfast.Adam(lr=np.array([0.1])), TypeError, "lr must be a real number"),
    (lambda: gdfast.Adam(lr=float("nan")), ValueError, "lr must be finite"),
    (lambda: gdfast.Adam(lr=float("inf")), ValueError, "lr must be finite"),
    (lambda: gdfast.Adam(lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: gdfast.Adam(betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\)"),
    (lambda: gdfast.Adam(betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
    (lambda: gdfast.Adam(betas=0.9), TypeError, "betas must be a pair"),
    (lambda: gdfast.Adam(eps=-1e-8), ValueError, "eps must be >= 0"),
    (lambda: gdfast.Adagrad(eps=-1e-10), ValueError, "eps must be >= 0"),
    (lambda: gdfast.RMSprop(alpha=1.5), ValueError, r"alpha must be in \[0, 1\]"),
    (lambda: gdfast.RMSprop(alpha=1.0, eps=0.0), ValueError, "alpha = 1 with eps = 0"),
    (lambda: gdfast.Adadelta(rho=1.0, eps=0.0), ValueError, "rho = 1 with eps = 0"),
    (lambda: gdfast.SGD(momentum=-0.1), ValueError, "momentum must be >= 0"),
    (lambda: gdfast.SGD(dampening=float("inf")), ValueError, "dampening must be finite"),
    (lambda: gdfast.SGD(weight_decay=-1.0), ValueError, "weight_decay must be >= 0"),
    (lambda: gdfast.SGD(nesterov=True), ValueError, "nesterov=True requires momentum > 0"),
    (lambda: gdfast.SGD(momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "nesterov=True requires momentum > 0 and dampening = 0"),
    (lambda: gdfast.SGD(maximize="yes"), TypeError, "maximize must be True or False"),
    (lambda: gdfast.Adam(amsgrad=2), TypeError, r"amsgrad must be True or False \(or 1 or 0\)"),
    (lambda: gdfast.Adagrad(initial_accumulator_value=-1.0), ValueError,
     "initial_accumulator_value must be >= 0"),
    (lambda: gdfast.Adagrad(lr_decay=-0.1), ValueError, "lr_decay must be >= 0"),
    (lambda: gdfast.schedules.inverse_time_decay(0.1, 0), ValueError, "k must be > 0"),
    (lambda: gdfast.schedules.step_decay(0.1, 0), ValueError, "step_size must be >= 1"),
    (lambda: gdfast.schedules.exponential_decay(0.1, 1.5), ValueError,
     r"gamma must be in \(0, 1\]"),
    (lambda: gdfast.schedules.cosine_decay(0.1, 100, lr_min=0.2), ValueError, "lr_min must be <="),
    (lambda: gdfast.schedules.warmup_cosine(0.1, 10, 10), ValueError,
     "decay_steps must be > warmup_steps"),
]


@pytest.mark.parametrize("make,error,match", BAD_CONSTRUCTION)
def test_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


def _quadratic(x):
    return float(np.sum(x ** 2)), 2 * x


BAD_MINIMIZE = [
    (dict(x0=[1.0, np.nan]), ValueError, "x0 must hold only finite numbers"),
    (dict(x0=[np.inf]), ValueError, "x0 must hold only finite numbers"),
    (dict(x0=[]), ValueError, "x0 must not be empty"),
    (dict(x0=np.array(["a"])), TypeError, "x0 must hold real numbers"),
    (dict(fun=lambda x: (1.0, np.ones(3))), ValueError,
     r"fun must return a gradient of shape \(2,\) \(the shape of x0\), got shape \(3,\)"),
    (dict(fun=lambda x: (x, 2 * x)), ValueError, "fun must return a scalar"),
    (dict(fun=lambda x: 1.0), TypeError, r"fun must return \(f, g\) when jac=True"),
    (dict(fun=lambda x: float(x @ x), jac=lambda x: x[:1]), ValueError,
     "jac must return a gradient"),
    (dict(jac="2-point"), ValueError, "jac must be True, a callable, '3-point' or 'inplace'"),
    (dict(method="newton"), ValueError, "method must be 'lbfgs', an Optimizer or one of"),
    (dict(max_iter=-1), ValueError, "max_iter must be >= 0"),
    (dict(gtol=-1.0), ValueError, "gtol must be >= 0"),
    (dict(ftol=float("nan")), ValueError, "ftol must be finite"),
    (dict(on_nonfinite="ignore"), ValueError, "on_nonfinite must be 'stop', 'raise' or 'skip'"),
    (dict(callback=3), TypeError, "callback must be callable"),
    (dict(fun=None), TypeError, "fun must be callable"),
]


@pytest.mark.parametrize("kwargs,error,match", BAD_MINIMIZE)
def test_bad_minimize_arguments(kwargs, error, match):
    call = dict(fun=_quadratic, x0=np.array([1.0, 2.0]), method="gd")
    call.update(kwargs)
    x0 = call["x0"]
    before = np.array(x0, copy=True)
    with pytest.raises(error, match=match):
        gdfast.minimize(call.pop("fun"), call.pop("x0"), call.pop("method"), **call)
    assert np.array_equal(np.asarray(x0), before, equal_nan=before.dtype.kind == "f")


def test_minimize_options_only_with_a_method_name():
    with pytest.raises(TypeError, match="options is only for a method given by name"):
        gdfast.minimize(classic_value_and_grad, [5.0], gdfast.Adam(), options={"lr": 0.1})
