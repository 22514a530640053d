"""gdfast.minimize's method 'lbfgs' (its default): L-BFGS with a strong Wolfe
search, or with bounds a projected search, in minimize's loop.

Oracles: known minimisers, scipy.optimize.minimize(method='L-BFGS-B'), and
the run itself under a change of units or of loop (Python against nopython,
a resumed run against one never stopped). The objective of minimize_runs.py
(``rough``) serves the loop tests.
"""
import signal

import numpy as np
import pytest
import scipy.optimize
from minimize_runs import TRAJECTORY, assert_same, run

import gdfast
from gdfast.checkpoint import load_checkpoint
from kernel_helpers import rosenbrock

ROSENBROCK_X0 = np.array([-1.2, 1.0, -1.2, 1.0])


def lbfgs():
    return "lbfgs"


def python_rosenbrock(x, g):
    return getattr(rosenbrock, "py_func", rosenbrock)(x, g)


def counted(fun, points):
    """fun(x, g), every x it is called at appended to points."""
    def f(x, g):
        points.append(x.copy())
        return fun(x, g)
    return f


def test_the_default_needs_no_learning_rate_and_finds_rosenbrocks_minimum():
    res = gdfast.minimize(python_rosenbrock, ROSENBROCK_X0, jac="inplace")
    assert res.success and res.nit < 100
    assert np.abs(res.x - 1.0).max() < 1e-8 and res.fun < 1e-16


@pytest.mark.parametrize("loop", ["python", "nopython"])
def test_the_python_and_the_compiled_loop_give_the_same_bits(loop):
    python = run("python", lbfgs, max_iter=40)
    other = run(loop, lbfgs, max_iter=40)
    assert_same(other, python)
    assert python.nit > 5


def scaled(c):
    """Rosenbrock times c, gradient into g."""
    def f(x, g):
        value = python_rosenbrock(x, g)
        g *= c
        return c * value
    return f


def test_the_run_does_not_depend_on_the_units_of_f():
    # f times 2**-20 scales every f, g, curvature and trial exactly: the same
    # iterates bit for bit; times 1e-6 or 1e6 the same answer to rounding
    plain = gdfast.minimize(python_rosenbrock, ROSENBROCK_X0, jac="inplace")
    for c in (2.0 ** -20, 1e-6, 1e6):
        res = gdfast.minimize(scaled(c), ROSENBROCK_X0, jac="inplace")
        assert res.success, (c, res.message)
        assert np.abs(res.x - plain.x).max() < 1e-9, c
        assert res.fun <= c * 1e-16
        if c == 2.0 ** -20:
            assert res.x.tobytes() == plain.x.tobytes() and res.nit == plain.nit


def test_bounds_give_the_projection_of_a_separable_minimum():
    target = np.array([-3.0, 0.25, 0.5, 7.0])
    res = gdfast.minimize(lambda x: (((x - target) ** 2).sum(), 2 * (x - target)), np.zeros(4),
                          bounds=(0.0, 1.0))
    assert res.success
    assert np.abs(res.x - np.clip(target, 0.0, 1.0)).max() < 1e-9
    assert res.x[0] == 0.0 and res.x[3] == 1.0          # held exactly on their bounds


@pytest.mark.parametrize("bounds", [
    scipy.optimize.Bounds([-2.0, -2.0, 0.5, -np.inf], [0.5, 0.5, 2.0, 0.5]),
    [(-2.0, 0.5), (-2.0, 0.5), (0.5, 2.0), (None, 0.5)],
    (np.array([-2.0, -2.0, 0.5, -np.inf]), np.array([0.5, 0.5, 2.0, 0.5])),
])
def test_bounded_rosenbrock_reaches_scipys_minimum_inside_the_bounds(bounds):
    points = []
    res = gdfast.minimize(counted(python_rosenbrock, points), ROSENBROCK_X0, jac="inplace",
                          bounds=bounds)
    lo, hi = np.array([-2.0, -2.0, 0.5, -np.inf]), np.array([0.5, 0.5, 2.0, 0.5])
    ref = scipy.optimize.minimize(lambda x: (python_rosenbrock(x, g := np.empty(4)), g),
                                  np.clip(ROSENBROCK_X0, lo, hi), jac=True, method="L-BFGS-B",
                                  bounds=list(zip(lo, hi)),
                                  options=dict(ftol=1e-15, gtol=1e-12))
    assert res.success, res.message
    assert res.fun <= ref.fun * (1 + 1e-8)
    assert np.abs(res.x - ref.x).max() < 1e-5
    assert all(((p >= lo) & (p <= hi)).all() for p in points)     # nothing evaluated outside
    assert "projected" in res.message                              # x0[2] = -1.2 < 0.5


def test_bounds_and_a_first_order_rule_or_skip_are_refused():
    with pytest.raises(ValueError, match="bounds are for method='lbfgs'"):
        gdfast.minimize(python_rosenbrock, ROSENBROCK_X0, "adam", jac="inplace", bounds=(0, 1))
    with pytest.raises(ValueError, match="on_nonfinite='skip' is for the first-order rules"):
        gdfast.minimize(python_rosenbrock, ROSENBROCK_X0, jac="inplace", on_nonfinite="skip")


@pytest.mark.parametrize("bounds, error, match", [
    ((1.0, 0.0), ValueError, r"bounds: lower > upper at index 0"),
    ((np.zeros(4), [0, 1, np.nan, 1]), ValueError, "upper bounds hold NaN"),
    ((np.zeros(3), np.ones(3)), ValueError, r"lower bounds have shape \(3,\)"),
    ([(0, 1)] * 3, ValueError, "bounds must hold 4"),
    ((np.inf, np.inf), ValueError, "leaves no feasible point"),
    (5.0, TypeError, "bounds must be a scipy.optimize.Bounds"),
    (("a", "b"), TypeError, "lower bounds must be real numbers"),
])
def test_bad_bounds_are_an_error_naming_them_before_any_evaluation(bounds, error, match):
    points = []
    with pytest.raises(error, match=match):
        gdfast.minimize(counted(python_rosenbrock, points), ROSENBROCK_X0, jac="inplace",
                        bounds=bounds)
    assert points == []


@pytest.mark.parametrize("loop", ["python", "nopython"])
def test_a_trial_point_where_f_is_nan_shortens_the_step(loop):
    # f is NaN wherever x[0] > 1.2; the minimum (c[0] = 2) lies beyond it:
    # every accepted iterate stays finite and below the limit
    res = run(loop, lbfgs, x_limit=1.2, max_iter=200)
    assert np.isfinite(res.fun) and res.x[0] <= 1.2
    assert np.isfinite(res.fun_history).all()
    assert res.status in ("line_search", "ftol", "gtol")
    assert res.x[0] > 1.1                              # it went as far as f is defined


@pytest.mark.parametrize("loop", ["python", "nopython"])
def test_nan_at_x0_stops_or_raises(loop):
    res = run(loop, lbfgs, nan_from=1)
    assert res.status == "non-finite" and not res.success and res.nit == 0
    with pytest.raises(FloatingPointError, match="NaN or inf at x0"):
        run(loop, lbfgs, nan_from=1, on_nonfinite="raise")


def test_a_wrong_gradient_ends_with_line_search_at_the_best_point():
    def wrong(x, g):                       # the gradient of -f: every direction climbs
        f = python_rosenbrock(x, g)
        g *= -1.0
        return f
    res = gdfast.minimize(wrong, ROSENBROCK_X0, jac="inplace")
    assert res.status == "line_search" and not res.success
    assert res.x.tobytes() == ROSENBROCK_X0.tobytes() and np.isfinite(res.fun)


@pytest.mark.parametrize("loop", ["python", "nopython"])
def test_a_resumed_run_goes_on_bit_for_bit(loop, ck):
    full = run(loop, lbfgs, max_iter=30)
    part = run(loop, lbfgs, max_iter=12, checkpoint=ck)
    assert part.nit == 12 and load_checkpoint(ck)[0]["counters"]["nit"] == 12
    res = run(loop, lbfgs, max_iter=30, checkpoint=ck, resume=True)
    assert_same(res, full, TRAJECTORY + ("status",))
    # another loop goes on from the checkpoint with the same bits
    other = run("python" if loop == "nopython" else "nopython", lbfgs, max_iter=30,
                checkpoint=ck, resume=True)
    assert_same(other, full, TRAJECTORY + ("status",))


def test_a_resume_with_other_bounds_is_refused(ck):
    run("python", lbfgs, max_iter=5, checkpoint=ck, bounds=(-1.0, 1.0))
    with pytest.raises(gdfast.checkpoint.CheckpointError):
        run("python", lbfgs, max_iter=9, checkpoint=ck, resume=True, bounds=(-1.0, 2.0))


def test_callback_progress_and_ctrl_c_in_the_python_loop():
    seen = []

    def callback(r):
        seen.append((r.nit, r.fun))
        if r.nit == 3:
            signal.raise_signal(signal.SIGINT)
    res = run("python", lbfgs, callback=callback, progress=True, max_iter=50)
    assert res.status == "interrupted" and res.nit == 3
    assert [k for k, _ in seen] == [1, 2, 3]
    assert [f for _, f in seen] == list(res.fun_history[1:])

    def stop(r):
        if r.nit == 2:
            raise StopIteration
    assert run("python", lbfgs, callback=stop).status == "callback"


def test_options_set_the_pairs_and_the_search_budget():
    a = run("python", lbfgs, max_iter=8)
    b = run("python", lbfgs, max_iter=8, options=dict(m=3, max_ls=5))
    assert a.nit == b.nit == 8 and a.fun_history.tobytes() != b.fun_history.tobytes()
    with pytest.raises(TypeError, match="options for method 'lbfgs' take m and max_ls"):
        gdfast.minimize(python_rosenbrock, ROSENBROCK_X0, jac="inplace", options=dict(lr=1.0))
    with pytest.raises(ValueError, match="m must be"):
        gdfast.minimize(python_rosenbrock, ROSENBROCK_X0, jac="inplace", options=dict(m=0))
