"""gdfast.minimize on non-finite values, on both loops: on_nonfinite='skip' /
max_skips / nskipped (optax.apply_if_finite), 'stop' and 'raise'.
The objective and the helpers are in minimize_runs.py."""
import numpy as np
import pytest
from minimize_runs import (
    INF_IN_G,
    LOOPS,
    NAN_IN_F,
    NAN_IN_G,
    TRAJECTORY,
    adam,
    assert_same,
    momentum,
    run,
)

import gdfast

# --- on_nonfinite='skip' ------------------------------------------------------------

@pytest.mark.parametrize("kind", [NAN_IN_G, NAN_IN_F, INF_IN_G], ids=["nan-g", "nan-f", "inf-g"])
@pytest.mark.parametrize("loop", LOOPS)
def test_skipped_evaluations_change_no_number_of_the_run(loop, kind):
    # evaluation 1 is at x0, 9 and 10 are two in a row (at the same x)
    bad = (1, 4, 9, 10, 17)
    clean = run(loop, max_iter=40)
    res = run(loop, bad=bad, kind=kind, on_nonfinite="skip", max_skips=3, max_iter=40)
    assert clean.status == res.status == "max_iter" and clean.nskipped == 0
    assert_same(res, clean, TRAJECTORY)
    assert res.nskipped == len(bad)
    assert res.nfev == clean.nfev + len(bad)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("make_opt", [adam, momentum], ids=["adam", "momentum"])
def test_fewer_than_max_skips_in_a_row_go_on_exactly_max_skips_stop(loop, make_opt):
    clean = run(loop, make_opt, max_iter=30)
    below = run(loop, make_opt, bad=(10, 11), on_nonfinite="skip", max_skips=3, max_iter=30)
    assert_same(below, clean, TRAJECTORY + ("status",))
    assert below.nskipped == 2 and below.nfev == clean.nfev + 2

    # evaluation 10 is at x_9: three NaNs there stop the run at x_8
    res = run(loop, make_opt, bad=(10, 11, 12), on_nonfinite="skip", max_skips=3, max_iter=30)
    ref = run(loop, make_opt, max_iter=8)
    assert res.status == "max_skips" and not res.success
    assert res.nit == 8 and res.nskipped == 3
    assert_same(res, ref, TRAJECTORY)
    # x_0 .. x_8, three failing evaluations at x_9, x_8 once more for its gradient
    assert res.nfev == 9 + 3 + 1


@pytest.mark.parametrize("loop", LOOPS)
def test_max_skips_one_stops_at_the_first_non_finite_value(loop):
    res = run(loop, bad=(6,), on_nonfinite="skip", max_skips=1, max_iter=30)
    assert (res.status, res.nit, res.nskipped) == ("max_skips", 4, 1)
    assert_same(res, run(loop, max_iter=4), TRAJECTORY)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_region_where_f_is_nan_stops_with_max_skips_at_the_last_finite_iterate(loop):
    res = run(loop, x_limit=0.5, on_nonfinite="skip", max_skips=4, max_iter=500)
    assert res.status == "max_skips" and res.nskipped == 4
    assert 0 < res.nit < 500 and res.x[0] <= 0.5
    ref = run(loop, max_iter=res.nit)
    assert ref.status == "max_iter" and ref.x[0] <= 0.5
    assert_same(res, ref, TRAJECTORY)
    assert res.nfev == ref.nfev + 4 + 1


@pytest.mark.parametrize("loop", LOOPS)
def test_an_objective_that_breaks_for_good_returns_the_last_finite_iterate_and_f(loop):
    # evaluations 12, 13, 14 ... are NaN: evaluation 12 is at x_11, so the run
    # stops at x_10, whose f was finite (it is fun_history[-1])
    res = run(loop, nan_from=12, on_nonfinite="skip", max_skips=3, max_iter=100)
    ref = run(loop, max_iter=10)
    # three in a row, and the evaluation at x_10 made to get its gradient back
    assert res.status == "max_skips" and res.nit == 10 and res.nskipped == 4
    assert_same(res, ref, ("x", "nit", "fun_history", "grad_norm_history"))
    # the result's f is f(x) of the last finite iterate, as the message says
    assert np.isfinite(res.fun) and res.fun == res.fun_history[-1] == ref.fun, (
        f"fun = {res.fun!r} after status {res.status!r} ({res.message}); "
        f"f at that x was {ref.fun!r}")


SCENARIOS = {
    "scattered": dict(bad=(1, 4, 9, 10, 17)),
    "three-in-a-row": dict(bad=(10, 11, 12)),
    "at-x0": dict(bad=(1,)),
    "at-x0-for-good": dict(nan_from=1),
    "region": dict(x_limit=0.5),
    "for-good": dict(nan_from=15),
}


@pytest.mark.parametrize("mode", ["skip", "stop"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_both_loops_give_the_same_result_on_non_finite_values(scenario, mode):
    kw = dict(SCENARIOS[scenario], on_nonfinite=mode, max_skips=3, max_iter=60)
    python, compiled = run("python", **kw), run("nopython", **kw)
    assert python.status in {"max_iter", "max_skips", "non-finite"}
    assert_same(compiled, python)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_skips=0), ValueError, "max_skips"),
    (dict(max_skips=-3), ValueError, "max_skips"),
    (dict(max_skips=2.5), TypeError, "max_skips"),
    (dict(max_skips=3.0), TypeError, "max_skips"),
    (dict(max_skips="3"), TypeError, "max_skips"),
    (dict(max_skips=True), TypeError, "max_skips"),
    (dict(max_skips=None), TypeError, "max_skips"),
    (dict(max_skips=0, on_nonfinite="stop"), ValueError, "max_skips"),
    (dict(on_nonfinite="bogus"), ValueError, "on_nonfinite"),
    (dict(on_nonfinite="SKIP"), ValueError, "on_nonfinite"),
    (dict(on_nonfinite=None), ValueError, "on_nonfinite"),
])
def test_bad_on_nonfinite_and_max_skips(kwargs, error, match):
    kwargs.setdefault("on_nonfinite", "skip")
    calls = []
    with pytest.raises(error, match=match):
        gdfast.minimize(lambda x, g: calls.append(1) or 0.0, np.zeros(3), "adam",
                        jac="inplace", **kwargs)
    assert calls == []


# --- on_nonfinite='stop' (the default) and 'raise' --------------------------------------

@pytest.mark.parametrize("loop", LOOPS)
def test_stop_returns_the_last_finite_iterate_and_raise_raises(loop):
    # evaluation 7 is at x_6: the run stops at x_5
    res = run(loop, bad=(7,), max_iter=30)
    assert res.status == "non-finite" and not res.success and res.nit == 5
    assert_same(res, run(loop, max_iter=5), TRAJECTORY)
    assert res.nfev == 6 + 1 + 1
    res = run(loop, bad=(1,), max_iter=30)
    assert res.status == "non-finite" and res.nit == 0 and np.all(res.x == 0.0)
    with pytest.raises(FloatingPointError, match="non-finite"):
        run(loop, bad=(7,), max_iter=30, on_nonfinite="raise")
    with pytest.raises(FloatingPointError, match="non-finite"):
        run(loop, x_limit=0.5, max_iter=500, on_nonfinite="raise")
