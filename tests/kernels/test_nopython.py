"""The nopython driver: from Python, from a user's @njit code and prange, through
gdfast.minimize (same numbers as the Python loop) and gdfast.minimize_batch,
and the per-pixel relaxometry fit checked against scipy.optimize.least_squares."""
import numpy as np
import pytest
from numba import njit, prange

import gdfast
from gdfast.kernels import adam_step, constant, nesterov_step
from gdfast.kernels.driver import GTOL, MAX_ITER, NON_FINITE, minimize_nopython
from gdfast.problems import exp_decay_initial_guess, exp_decay_stack, exp_decay_value_and_grad


@njit
def classic(x, g):
    g[0] = 2.0 * x[0] + 5.0
    return x[0] * x[0] + 5.0 * x[0] + 10.0


@njit
def shifted_quadratic(x, g, c, scale):
    f = 0.0
    for j in range(x.size):
        d = x[j] - scale * c[j]
        g[j] = 2.0 * d
        f += d * d
    return f


ADAM = (0.9, 0.999, 1e-8, 0.0, 0.0)
# the same objective as plain Python (under NUMBA_DISABLE_JIT it already is)
plain_shifted_quadratic = getattr(shifted_quadratic, "py_func", shifted_quadratic)


@pytest.mark.nojit
@pytest.mark.slow
def test_driver_from_python_reaches_the_classic_minimum():
    x = np.array([5.0])
    hist = np.empty(1001)
    r = minimize_nopython(classic, x, (), adam_step, (np.zeros(1), np.zeros(1)), ADAM, constant,
                          0.1, (), 1000, 0.0, 1e-6, 0.0, hist, np.empty(0))
    assert r.status == GTOL and abs(r.x[0] + 2.5) < 1e-6 and r.x is x
    assert hist[0] == 60.0 and hist[r.nit] == r.fun


@pytest.mark.nojit
@pytest.mark.slow
def test_driver_inside_user_njit_and_prange():
    @njit(parallel=True)
    def solve_all(C, max_iter):
        m, n = C.shape
        X = np.zeros((m, n))
        status = np.empty(m, np.int64)
        for i in prange(m):
            r = minimize_nopython(shifted_quadratic, X[i], (C[i], 1.0), nesterov_step,
                                  (np.zeros(n),), (0.5, 0.0, 0.0), constant, 0.2, (),
                                  max_iter, 0.0, 1e-10, 0.0, np.empty(0), np.empty(0))
            status[i] = r.status
        return X, status

    C = np.random.default_rng(0).standard_normal((64, 5))
    X, status = solve_all(C, 500)
    assert np.all(status == GTOL)
    np.testing.assert_allclose(X, C, atol=1e-10)
    X, status = solve_all(C, 3)
    assert np.all(status == MAX_ITER)


@pytest.mark.parametrize("method", ["adam", "nesterov", "gd"])
@pytest.mark.slow
def test_minimize_runs_njit_objectives_in_nopython_mode_with_the_same_numbers(method):
    c = np.linspace(-1, 1, 7)
    kw = dict(jac="inplace", args=(c, 2.0), max_iter=300, gtol=1e-9)
    compiled = gdfast.minimize(shifted_quadratic, np.zeros(7), method, **kw)
    python = gdfast.minimize(plain_shifted_quadratic, np.zeros(7), method, **kw)
    assert compiled.nopython and not python.nopython
    for key in ("nit", "nfev", "status", "fun"):
        assert compiled[key] == python[key], key
    for key in ("x", "jac", "fun_history", "grad_norm_history"):
        assert np.array_equal(compiled[key], python[key]), key


def test_nopython_non_finite_returns_the_last_finite_iterate():
    @njit
    def explodes(x, g):
        g[0] = 2.0 * x[0]
        return x[0] * x[0] if abs(x[0]) < 1e6 else np.inf

    r = gdfast.minimize(explodes, np.array([1.0]), gdfast.SGD(lr=10.0), jac="inplace",
                        max_iter=1000)
    assert r.nopython and r.status == "non-finite" and np.isfinite(r.x).all()
    # x_0 .. x_nit, the failing x_(nit+1), and x_nit again for its gradient
    assert r.x[0] == (-19.0) ** r.nit and r.nfev == r.nit + 3
    with pytest.raises(FloatingPointError):
        gdfast.minimize(explodes, np.array([1.0]), gdfast.SGD(lr=10.0), jac="inplace",
                        max_iter=1000, on_nonfinite="raise")
    assert minimize_nopython(explodes, np.array([1e7]), (), adam_step, (np.zeros(1), np.zeros(1)),
                             ADAM, constant, 0.1, (), 10, 0.0, 0.0, 0.0, np.empty(0),
                             np.empty(0)).status == NON_FINITE


@pytest.mark.slow
def test_minimize_batch_per_problem_and_shared_data():
    C = np.random.default_rng(1).standard_normal((300, 4))
    r = gdfast.minimize_batch(shifted_quadratic, np.zeros((300, 4)), gdfast.Adam(lr=0.05),
                              batch_args=(C,), args=(2.0,), max_iter=5000, gtol=1e-9)
    assert r.success.all() and set(r.status) == {"gtol"}
    np.testing.assert_allclose(r.x, 2.0 * C, atol=1e-9)
    assert r.nit.dtype == np.int64 and r.fun.shape == (300,)
    short = gdfast.minimize_batch(shifted_quadratic, np.zeros((300, 4)), gdfast.Adam(lr=0.05),
                                  batch_args=(C,), args=(2.0,), max_iter=2)
    assert set(short.status) == {"max_iter"} and not short.success.any()


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(fun=plain_shifted_quadratic), TypeError, "fun must be a numba @njit function"),
    (dict(X0=np.zeros(4)), ValueError, r"X0 must be 2-D"),
    (dict(X0=np.full((2, 4), np.nan)), ValueError, "X0 must hold only finite"),
    (dict(batch_args=(np.zeros((3, 4)),)), ValueError,
     "batch_args\\[0\\] must have first axis of length 2"),
    (dict(batch_args=np.zeros((2, 4))), TypeError, "batch_args must be a tuple"),
    (dict(args=2.0), TypeError, "args must be a tuple"),
    (dict(max_iter=-1), ValueError, "max_iter must be >= 0"),
])
def test_minimize_batch_bad_input(kwargs, error, match):
    call = dict(fun=shifted_quadratic, X0=np.zeros((2, 4)), batch_args=(np.ones((2, 4)),),
                args=(1.0,))
    call.update(kwargs)
    with pytest.raises(error, match=match):
        gdfast.minimize_batch(call.pop("fun"), call.pop("X0"), "adam", **call)


@pytest.mark.slow
def test_relaxometry_fit_matches_scipy_least_squares():
    """Per-pixel a exp(-b t) + c on a 256 x 256 stack of 16 time points."""
    from scipy.optimize import least_squares
    t, Y, P_true = exp_decay_stack((256, 256), 16, seed=0)
    P0 = exp_decay_initial_guess(Y)
    r = gdfast.minimize_batch(exp_decay_value_and_grad, P0,
                              gdfast.Adam(lr=gdfast.schedules.inverse_time_decay(0.05, 200)),
                              batch_args=(Y,), args=(t,), max_iter=3000, gtol=1e-10)
    assert r.success.mean() > 0.999
    sample = np.random.default_rng(1).choice(Y.shape[0], 100, replace=False)
    for i in sample:
        ls = least_squares(lambda p, y=Y[i]: p[0] * np.exp(-p[1] * t) + p[2] - y, P0[i],
                           xtol=1e-15, ftol=1e-15, gtol=1e-15)
        if r.success[i]:
            np.testing.assert_allclose(r.x[i], ls.x, atol=1e-7)
    # and the fit recovers the parameters the data were made with, to the noise level
    assert np.median(np.abs(r.x - P_true), axis=0).max() < 0.02
