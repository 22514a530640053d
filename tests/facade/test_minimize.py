"""gdfast.minimize: convergence on the classic problems, every stopping
rule on a case built for it, histories, callbacks, progress, non-finite runs."""
import sys

import numpy as np
import pytest

import gdfast
from gdfast.problems import (
    CLASSIC_BUDGET,
    PolynomialFit,
    classic_cost,
    classic_optimizers,
    classic_value_and_grad,
)

OPTIMIZERS = classic_optimizers()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("jac", [True, "3-point"])
def test_every_optimizer_reaches_the_classic_minimum(name, jac):
    fun = classic_value_and_grad if jac is True else (lambda x: float(classic_cost(x[0])))
    res = gdfast.minimize(fun, [5.0], OPTIMIZERS[name], jac=jac, max_iter=CLASSIC_BUDGET,
                          gtol=1e-6)
    assert res.success and res.status == "gtol"
    assert abs(res.x[0] + 2.5) < 1e-6
    assert res.nit < CLASSIC_BUDGET
    assert res.fun == pytest.approx(3.75, abs=1e-11)
    assert res.jac[0] == pytest.approx(2 * res.x[0] + 5, abs=1e-8)
    per_eval = 1 if jac is True else 3
    assert res.nfev == per_eval * (res.nit + 1)


@pytest.mark.parametrize("optimizer", [
    gdfast.SGD(lr=2.4e-4, momentum=0.99, nesterov=True),   # lr ~ 1 / L
    gdfast.Adam(lr=gdfast.schedules.inverse_time_decay(0.5, 1000)),
])
def test_curve_fit_matches_polyfit(optimizer):
    problem = PolynomialFit()
    res = gdfast.minimize(problem.value_and_grad, problem.x0, optimizer,
                          max_iter=50_000, gtol=1e-9)
    assert res.status == "gtol"
    np.testing.assert_allclose(res.x, problem.least_squares(), rtol=0, atol=1e-6)
    assert problem.least_squares() == pytest.approx([3, -5, 2], abs=3)


def test_gtol_at_the_start_takes_no_step():
    res = gdfast.minimize(classic_value_and_grad, [-2.5], "gd")
    assert (res.status, res.nit, res.nfev) == ("gtol", 0, 1)
    assert res.x[0] == -2.5 and res.fun_history.shape == (1,)


def test_ftol_fires_when_f_stops_changing():
    # f is flat but the gradient is not zero: only ftol can stop this run.
    res = gdfast.minimize(lambda x: (1.0, np.ones_like(x)), np.zeros(3), "gd", ftol=1e-12,
                          max_iter=50)
    assert (res.status, res.nit, res.success) == ("ftol", 1, True)


def test_xtol_fires_on_tiny_steps():
    res = gdfast.minimize(classic_value_and_grad, [5.0], gdfast.SGD(lr=1e-13), xtol=1e-9,
                          max_iter=50)
    assert (res.status, res.nit, res.success) == ("xtol", 1, True)


def test_max_iter_stops_and_histories_have_one_entry_per_iterate():
    res = gdfast.minimize(classic_value_and_grad, [5.0], gdfast.SGD(lr=0.1), max_iter=5)
    assert (res.status, res.nit, res.success) == ("max_iter", 5, False)
    path = [5.0]
    for _ in range(5):
        path.append(path[-1] - 0.1 * (2 * path[-1] + 5))
    np.testing.assert_allclose(res.fun_history, classic_cost(np.array(path)), rtol=1e-14)
    np.testing.assert_allclose(res.grad_norm_history, np.abs(2 * np.array(path) + 5), rtol=1e-14)
    assert np.all(np.diff(res.fun_history) < 0)


def test_long_runs_grow_the_history():
    res = gdfast.minimize(lambda x: (0.0, np.ones_like(x)), [0.0], gdfast.SGD(lr=1e-3),
                          max_iter=10_000)
    assert res.nit == 10_000 and res.fun_history.shape == (10_001,)


def test_callback_sees_every_step_and_stop_iteration_stops():
    seen = []

    def callback(intermediate):
        seen.append((intermediate.nit, intermediate.fun, intermediate.x.copy()))
        assert not intermediate.x.flags.writeable
        if intermediate.nit == 3:
            raise StopIteration

    res = gdfast.minimize(classic_value_and_grad, [5.0], "gd", callback=callback)
    three = gdfast.minimize(classic_value_and_grad, [5.0], "gd", max_iter=3)
    assert (res.status, res.nit, res.success) == ("callback", 3, False)
    assert [s[0] for s in seen] == [1, 2, 3]
    assert res.x[0] == three.x[0] == seen[-1][2][0]


def test_multidimensional_x0_keeps_its_shape_and_is_not_modified():
    target = np.arange(6.0).reshape(2, 3)
    x0 = np.zeros((2, 3))
    res = gdfast.minimize(lambda x: (0.5 * np.sum((x - target) ** 2), x - target), x0,
                          gdfast.SGD(lr=0.5), gtol=1e-12)
    assert res.x.shape == (2, 3) and res.jac.shape == (2, 3)
    np.testing.assert_allclose(res.x, target, atol=1e-11)
    assert np.all(x0 == 0)


def test_jac_callable():
    res = gdfast.minimize(lambda x: float(classic_cost(x[0])), [5.0], "gd",
                          jac=lambda x: 2 * x + 5)
    assert res.success and abs(res.x[0] + 2.5) < 1e-6


def test_args_reach_fun():
    res = gdfast.minimize(lambda x, c: (float(np.sum((x - c) ** 2)), 2 * (x - c)),
                          np.zeros(2), "gd", args=(np.array([1.0, -1.0]),))
    np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-6)


def test_divergence_stops_with_the_last_finite_iterate():
    # lr = 10 on f = x^2 multiplies x by -19 per step, until it overflows.
    def fun(x):
        with np.errstate(over="ignore"):
            return float(x[0] ** 2), 2 * x

    res = gdfast.minimize(fun, [1.0], gdfast.SGD(lr=10.0), max_iter=10_000)
    assert (res.status, res.success) == ("non-finite", False)
    assert np.isfinite(res.x).all() and np.isfinite(res.fun)
    assert res.x[0] == pytest.approx((-19.0) ** res.nit)
    assert res.fun == res.fun_history[-1] and res.fun_history.shape == (res.nit + 1,)
    with pytest.raises(FloatingPointError, match="non-finite"):
        gdfast.minimize(fun, [1.0], gdfast.SGD(lr=10.0), max_iter=10_000, on_nonfinite="raise")


def test_nan_from_fun_stops_the_run():
    def fun(x):
        return (float("nan") if x[0] < 0 else float(x[0] ** 2)), 2 * x + 1

    res = gdfast.minimize(fun, [1.0], gdfast.SGD(lr=0.1), max_iter=100)
    assert res.status == "non-finite" and res.x[0] >= 0 and np.isfinite(res.fun)


def test_non_finite_at_x0_is_reported():
    res = gdfast.minimize(lambda x: (float("inf"), x), [1.0], "gd")
    assert res.status == "non-finite" and res.nit == 0 and res.x[0] == 1.0


def test_progress_bar(capsys):
    import tqdm  # noqa: F401  (installed by the test extra)
    res = gdfast.minimize(classic_value_and_grad, [5.0], "gd", progress=True)
    assert res.success
    assert "f=" in capsys.readouterr().err


def test_progress_without_tqdm_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        gdfast.minimize(classic_value_and_grad, [5.0], "gd", progress=True)


def test_method_by_name_with_options():
    res = gdfast.minimize(classic_value_and_grad, [5.0], "adam", options={"lr": 0.1})
    assert res.success and abs(res.x[0] + 2.5) < 1e-6


def test_large_problem_uses_parallel_kernels_and_converges():
    n = 200_000
    c = np.linspace(-1, 1, n)
    res = gdfast.minimize(lambda x: (0.5 * float(np.dot(x - c, x - c)), x - c), np.zeros(n),
                          gdfast.SGD(lr=0.5, momentum=0.1), gtol=1e-10, max_iter=200)
    assert res.success
    np.testing.assert_allclose(res.x, c, atol=1e-9)


class _Subclass(np.ndarray):
    pass


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize("max_iter", [0, 5])
def test_an_ndarray_subclass_x0_is_taken_as_its_values(shape, max_iter):
    # found by the fuzz tests: a 0-d subclass with max_iter=0 reached a kernel's
    # type check ("x must be a numpy.ndarray, got _Subclass")
    def value_and_grad(x):
        return float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0)
    x0 = np.zeros(shape).view(_Subclass)
    res = gdfast.minimize(value_and_grad, x0, "adam", jac=True, max_iter=max_iter)
    want = gdfast.minimize(value_and_grad, np.zeros(shape), "adam", jac=True,
                           max_iter=max_iter)
    assert type(res.x) is np.ndarray and np.array_equal(res.x, want.x)
    assert res.nit == want.nit == max_iter and np.array_equal(x0, np.zeros(shape))
