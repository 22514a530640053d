"""gdfast.least_squares_batch: Levenberg–Marquardt per row (kernels.levenberg_marquardt).

Oracles: scipy.optimize.least_squares on single rows (method 'lm', MINPACK;
'trf' with bounds), the same fit in other units, and one call against
chunked calls and other thread counts.
"""
import numba
import numpy as np
import pytest
import scipy.optimize
from numba import njit

import gdfast
from gdfast.kernels.levenberg_marquardt import FUSED, levenberg_marquardt, lm_workspace
from gdfast.problems import exp_decay_initial_guess, exp_decay_stack
from gdfast.problems import exp_decay_jacobian as decay_jacobian
from gdfast.problems import exp_decay_residuals as decay
from gdfast.problems import exp_decay_residuals_and_jacobian as decay_and_jacobian

N_TIMES = 12


def fit_data(shape=(2, 4), seed=5):
    t, Y, P = exp_decay_stack(shape, n_times=N_TIMES, seed=seed)
    return t, Y, exp_decay_initial_guess(Y)


def fit(X0, Y, t, jac=decay_jacobian, **kw):
    return gdfast.least_squares_batch(decay, X0, jac, n_residuals=N_TIMES, batch_args=(Y,),
                                      args=(t,), **kw)


def scipy_row(y, t, x0, **kw):
    def r(p):
        out = np.empty(t.size)
        decay.py_func(p, out, y, t)
        return out
    return scipy.optimize.least_squares(r, x0, ftol=1e-15, xtol=1e-15, gtol=1e-15, **kw)


@pytest.mark.parametrize("jac", [decay_jacobian, None], ids=["jac", "differences"])
def test_every_row_reaches_minpacks_minimum(jac):
    t, Y, X0 = fit_data()
    res = fit(X0, Y, t, jac)
    assert res.success.all(), res.message
    assert np.median(res.nit) <= 12                   # LM's few iterations
    for i in range(X0.shape[0]):
        want = scipy_row(Y[i], t, X0[i], method="lm")
        assert res.cost[i] <= want.cost * (1 + 1e-8), i
        assert np.allclose(res.x[i], want.x, rtol=1e-5, atol=1e-8), i
        r = np.empty(N_TIMES)
        decay.py_func(res.x[i], r, Y[i], t)
        assert np.allclose(res.fun[i], r, rtol=0, atol=1e-13)   # numba's exp: an ulp off
        assert res.cost[i] == pytest.approx(0.5 * np.sum(r * r), rel=1e-13)


def test_bounds_hold_and_give_trfs_bounded_minimum():
    t, Y, X0 = fit_data()
    m = X0.shape[0]
    lo = np.tile([0.0, 0.0, -np.inf], (m, 1))
    hi = np.tile([np.inf, np.inf, 0.0], (m, 1))
    hi[:, 2] = np.linspace(-0.05, 0.02, m)            # c capped below most rows' minimum
    res = fit(X0, Y, t, bounds=(lo, hi))
    assert res.success.all(), res.message
    assert (res.x >= lo).all() and (res.x <= hi).all()
    on_bound = 0
    for i in range(m):
        want = scipy_row(Y[i], t, np.clip(X0[i], lo[i], hi[i]), method="trf",
                         bounds=(lo[i], hi[i]))
        assert res.cost[i] <= want.cost * (1 + 1e-8) + 1e-300, i
        on_bound += res.x[i, 2] == hi[i, 2]
    assert on_bound >= m // 2                          # the caps bind


def test_the_fit_does_not_depend_on_the_units_of_the_data():
    t, Y, X0 = fit_data()
    res = fit(X0, Y, t)
    scale = 1e-6                                       # y in other units: a and c scale
    small = fit(X0 * [scale, 1.0, scale], Y * scale, t)
    assert np.array_equal(small.nit, res.nit) and np.array_equal(small.status, res.status)
    assert np.allclose(small.x, res.x * [scale, 1.0, scale], rtol=1e-9, atol=0)
    assert np.allclose(small.cost, res.cost * scale**2, rtol=1e-6)


def test_chunks_and_threads_change_no_bit(monkeypatch):
    import gdfast._batch as batch
    t, Y, X0 = fit_data((4, 4))
    whole = fit(X0, Y, t)
    monkeypatch.setattr(batch, "CHUNK_SECONDS", 1e-9)  # chunks of the least size,
    monkeypatch.setattr(batch, "FIRST_STEPS", 1)       # of one iteration at first
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        chunked = fit(X0, Y, t)
    finally:
        numba.set_num_threads(before)
    for k in ("x", "cost", "fun", "nit", "nfev", "njev", "status"):
        assert np.array_equal(whole[k], chunked[k]), k


def test_residuals_and_jacobian_in_one_function_fit_as_two_functions_do():
    # jac=True: fun writes r and J at every trial point, also at a rejected
    # one, which must not disturb the iteration (row 0's start has rejected
    # trials after which J at the trial point would pass the gtol test:
    # found by a search); the oracle is the fit with the two functions, bit
    # for bit
    t, Y, X0 = fit_data((8, 8))
    rows = [51, 0, 9, 20]
    Y, X0 = Y[rows], X0[rows]
    X0[0] = [-27.1463296427904, 6.0, 0.08278464759065418]
    lo = np.tile([-np.inf, 0.0, -np.inf], (4, 1))
    hi = np.tile([np.inf, np.inf, 0.0], (4, 1))       # c capped: held parameters,
    hi[0, 2] = np.inf                                  # but on row 0
    kw = dict(n_residuals=N_TIMES, batch_args=(Y,), args=(t,), bounds=(lo, hi), gtol=1e-6)
    apart = gdfast.least_squares_batch(decay, X0, decay_jacobian, **kw)
    fused = gdfast.least_squares_batch(decay_and_jacobian, X0, jac=True, **kw)
    for k in ("x", "cost", "fun", "nit", "nfev", "status"):
        assert np.array_equal(fused[k], apart[k]), k
    assert np.array_equal(fused.njev, fused.nfev)      # a Jacobian with every evaluation
    assert apart.nit[0] > apart.njev[0] - 1            # row 0 had rejected trials
    assert (apart.x[1:, 2] == 0.0).any() and apart.success.all(), apart.message


@njit
def fit_rows_in_user_code(X, Y, t):
    # the kernel from a user's numba code, FUSED a global there
    for i in range(X.shape[0]):
        levenberg_marquardt(decay_and_jacobian, FUSED, X[i], np.empty(0), np.empty(0),
                            (Y[i], t), np.zeros(3), np.zeros(2), np.zeros(3, np.int64), 100,
                            -1, 1e-8, 1e-8, 1e-8, lm_workspace(t.size, 3))


def test_the_kernel_takes_fused_from_a_users_numba_code():
    t, Y, X0 = fit_data((1, 2))
    X = X0.copy()
    fit_rows_in_user_code(X, Y, t)
    want = gdfast.least_squares_batch(decay_and_jacobian, X0, jac=True, n_residuals=N_TIMES,
                                      batch_args=(Y,), args=(t,))
    assert np.array_equal(X, want.x)


@gdfast.cached_objective          # its compiled batch loop is cached on disk
@njit(cache=True)
def root_model(p, r, y, t):               # r = sqrt(p0) t + p1 - y: NaN for p0 < 0
    for k in range(t.size):
        r[k] = np.sqrt(p[0]) * t[k] + p[1] - y[k]


def test_a_trial_point_with_nan_residuals_is_rejected_and_a_nan_start_named():
    t = np.arange(1.0, 7.0)
    Y = np.array([0.01 * t + 1.0, 2.0 * t, 0.5 * t])  # slopes 0.01, 2 and 0.5
    X0 = np.array([[4.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])   # row 2 starts at NaN
    res = gdfast.least_squares_batch(root_model, X0, n_residuals=t.size, batch_args=(Y,),
                                     args=(t,))
    assert res.status[2] == "non-finite" and res.success[:2].all(), res.message
    assert np.isfinite(res.x).all()
    assert np.allclose(res.x[:2, 0], [0.01**2, 4.0], rtol=1e-6)


@njit
def writes_too_many(p, r, y, t):
    for k in range(t.size + 1):
        r[k] = p[0] - y[0]


@njit
def returns_residuals(p, r, y, t):
    return p[0] * t - y


@njit
def jacobian_too_wide(p, J, y, t):
    for k in range(t.size):
        J[k, 3] = 1.0


@njit
def writes_past_the_jacobian(p, r, J, y, t):
    for k in range(t.size):
        r[k] = p[0] - y[k]
        J[k, 3] = 1.0


@pytest.mark.parametrize("call, error, match", [
    (dict(fun=writes_past_the_jacobian, jac=True), ValueError,
     r"fun writes past the residuals \(n_residuals,\) = \(12,\) or the Jacobian"),
    (dict(jac=True), TypeError, "would be called with 5: x, r, J, 1 row"),
    (dict(jac=False), TypeError, "jac must be a numba @njit function, True"),
    (dict(fun=writes_too_many), ValueError, "fun writes past the 12 residuals"),
    (dict(fun=returns_residuals), TypeError, "fun returned its residuals"),
    (dict(jac=jacobian_too_wide), ValueError, r"jac writes past the Jacobian's shape .* \(12, 3\)"),
    (dict(n_residuals=0), ValueError, "n_residuals"),
    (dict(bounds=(np.ones(3), np.zeros(3))), ValueError, "lower > upper"),
    (dict(jac=lambda p, J, y, t: None), TypeError, "jac must be a numba @njit function"),
])
def test_bad_input_is_named_before_any_compiled_call(call, error, match):
    t, Y, X0 = fit_data()
    before = X0.copy()
    kw = {**dict(fun=decay, jac=decay_jacobian, n_residuals=N_TIMES), **call}
    with pytest.raises(error, match=match):
        gdfast.least_squares_batch(kw.pop("fun"), X0, kw.pop("jac"), batch_args=(Y,),
                                   args=(t,), **kw)
    assert np.array_equal(X0, before)
