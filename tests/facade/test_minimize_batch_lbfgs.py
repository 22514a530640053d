"""minimize_batch's method 'lbfgs' (its default), with per-problem or shared
bounds: kernels.lbfgs_b.lbfgs_b_batch over the rows.

Oracles: scipy.optimize.minimize(method='L-BFGS-B') run tight on single
rows, and gdfast.minimize on one row (the same kernels, one problem).
"""
import numpy as np
import pytest
import scipy.optimize

import gdfast
from gdfast.problems import exp_decay_initial_guess, exp_decay_stack, exp_decay_value_and_grad


def fit_data(shape=(2, 4), seed=4):
    t, Y, P = exp_decay_stack(shape, n_times=12, seed=seed)
    return t, Y, exp_decay_initial_guess(Y)


def scipy_row(y, t, x0, bounds=None):
    """scipy's L-BFGS-B on one row, to its rounding floor."""
    def fun(p):
        g = np.empty(3)
        return exp_decay_value_and_grad.py_func(p, g, y, t), g
    return scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                   options=dict(ftol=1e-15, gtol=1e-13, maxiter=10_000))


def test_every_row_reaches_scipys_minimum():
    t, Y, X0 = fit_data()
    res = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,))
    assert res.success.all(), res.message
    for i in range(X0.shape[0]):
        want = scipy_row(Y[i], t, X0[i])
        assert res.fun[i] <= want.fun * (1 + 1e-9) + 1e-300, i
        assert np.allclose(res.x[i], want.x, rtol=1e-5, atol=1e-7), i


def test_a_row_is_minimize_on_that_problem_bit_for_bit():
    t, Y, X0 = fit_data()
    res = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,))
    for i in (0, 5):
        one = gdfast.minimize(exp_decay_value_and_grad, X0[i], args=(Y[i], t), jac="inplace")
        assert one.nopython
        assert one.x.tobytes() == res.x[i].tobytes() and one.nit == res.nit[i]
        assert one.fun == res.fun[i] and one.status == res.status[i]


def test_per_problem_bounds_hold_and_give_scipys_bounded_minimum():
    t, Y, X0 = fit_data()
    m = X0.shape[0]
    lo = np.tile([-np.inf, 0.0, -np.inf], (m, 1))
    hi = np.tile([np.inf, np.inf, np.inf], (m, 1))
    hi[:, 2] = np.linspace(0.0, 0.05, m)       # c capped below most rows' free minimum
    res = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,),
                                bounds=(lo, hi))
    assert res.success.all(), res.message
    assert (res.x >= lo).all() and (res.x <= hi).all()
    assert "projected" in res.message            # X0's c were above some caps
    active = 0
    for i in range(m):
        x0 = np.clip(X0[i], lo[i], hi[i])
        want = scipy_row(Y[i], t, x0, bounds=list(zip(lo[i], hi[i])))
        assert res.fun[i] <= want.fun * (1 + 1e-9), i
        active += res.x[i, 2] == hi[i, 2]
    assert active >= m // 2                      # the caps bind: the bounded path ran


def test_shared_bounds_equal_the_same_bounds_given_per_problem():
    t, Y, X0 = fit_data()
    shared = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,),
                                   bounds=[(None, None), (0.0, None), (None, 0.02)])
    m = X0.shape[0]
    each = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,),
                                 bounds=(np.tile([-np.inf, 0.0, -np.inf], (m, 1)),
                                         np.tile([np.inf, np.inf, 0.02], (m, 1))))
    assert shared.x.tobytes() == each.x.tobytes()
    assert (shared.x[:, 2] <= 0.02).all()


@pytest.mark.parametrize("bounds, match", [
    ((np.zeros((8, 3)), -np.ones((8, 3))), "lower > upper at index 0"),
    ((np.zeros((7, 3)), np.ones((7, 3))), "lower bounds have shape"),
    (([0.0, np.nan, 0.0], 1.0), "lower bounds hold NaN"),
])
def test_bad_bounds_are_named_before_any_evaluation(bounds, match):
    t, Y, X0 = fit_data()
    before = X0.copy()
    with pytest.raises(ValueError, match=match):
        gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,),
                              bounds=bounds)
    assert np.array_equal(X0, before)


def test_bounds_and_xtol_are_refused_where_the_method_has_none():
    t, Y, X0 = fit_data()
    with pytest.raises(ValueError, match="bounds are for method='lbfgs'"):
        gdfast.minimize_batch(exp_decay_value_and_grad, X0, "adam", batch_args=(Y,),
                              args=(t,), bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="xtol is for the first-order rules"):
        gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,),
                              xtol=1e-8)
