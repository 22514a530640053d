"""The L-BFGS kernels (kernels/lbfgs.py, kernels/line_search.py, kernels/linalg.py)
against independent oracles: the two-loop direction against the inverse
Hessian built densely by the BFGS update formula, the strong Wolfe search
against torch.optim.lbfgs._strong_wolfe (live torch) and against the Wolfe
conditions themselves; serial and parallel kernels bit for bit."""
import numba
import numpy as np
import pytest

import gdfast
from gdfast.kernels import lbfgs, linalg, line_search
from gdfast.kernels.function_refs import cacheable
from kernel_helpers import rosenbrock


def dense_inverse_hessian(pairs, gamma):
    """H from H0 = gamma I by H <- (I - rho s y') H (I - rho y s') + rho s s', oldest pair first
    (Nocedal & Wright eq. 6.17)."""
    n = pairs[0][0].size
    H = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def _push_pairs(n, m, offered, seed=0):
    """Offer `offered` (s, y) pairs with positive curvature to a ring of m;
    returns the ring, the kept pairs (newest last) and gamma."""
    rng = np.random.default_rng(seed)
    S, Y, rho, alpha, part = lbfgs.lbfgs_workspace(n, m)
    count, newest, gamma = 0, 0, 1.0
    kept = []
    for _ in range(offered):
        d = rng.standard_normal(n)
        t = rng.uniform(0.1, 2.0)
        g_prev = rng.standard_normal(n)
        g = g_prev + t * d * rng.uniform(0.5, 2.0, n)         # y . s > 0
        count, newest, gamma = lbfgs.lbfgs_push(S, Y, rho, count, newest, gamma, t, d, g, g_prev,
                                                lbfgs.YS_MIN)
        kept.append((d * t, g - g_prev))
    return (S, Y, rho, alpha, part), count, newest, gamma, kept[-m:]


@pytest.mark.nojit
@pytest.mark.parametrize("offered", [0, 1, 3, 7])     # 7 > m = 3: the ring has wrapped
def test_direction_is_minus_the_bfgs_inverse_hessian_times_g(offered):
    n, m = 6, 3
    (S, Y, rho, alpha, _), count, newest, gamma, kept = _push_pairs(n, m, offered)
    assert count == min(offered, m)
    g = np.random.default_rng(9).standard_normal(n)
    d = np.empty(n)
    gtd = lbfgs.lbfgs_direction(g, d, S, Y, rho, alpha, count, newest, gamma)
    want = -(dense_inverse_hessian(kept, gamma) @ g) if kept else -g
    np.testing.assert_allclose(d, want, rtol=1e-12, atol=1e-14)
    assert gtd == pytest.approx(g @ d, rel=1e-13)


@pytest.mark.nojit
def test_a_pair_without_curvature_is_refused_and_the_history_kept():
    n, m = 4, 2
    (S, Y, rho, *_), count, newest, gamma, _ = _push_pairs(n, m, 5)
    before = S.copy(), Y.copy(), rho.copy()
    d = np.ones(n)
    g_prev = np.zeros(n)
    got = lbfgs.lbfgs_push(S, Y, rho, count, newest, gamma, 1.0, d, -d, g_prev, lbfgs.YS_MIN)
    assert got == (count, newest, gamma)
    # only the spare row may have been written
    live = [(newest - j) % (m + 1) for j in range(count)]
    assert np.array_equal(S[live], before[0][live]) and np.array_equal(Y[live], before[1][live])
    assert np.array_equal(rho, before[2])


@pytest.mark.parametrize("n", [3, 5000, 300_007])
def test_serial_and_parallel_kernels_give_the_same_bits(n):
    m = 4
    (S, Y, rho, alpha, part), count, newest, gamma, _ = _push_pairs(n, m, 6, seed=n)
    g = np.random.default_rng(n).standard_normal(n) * 10.0 ** np.random.default_rng(1).uniform(
        -3, 3, n)
    d1, d2 = np.empty(n), np.empty(n)
    a = lbfgs.lbfgs_direction(g, d1, S, Y, rho, alpha.copy(), count, newest, gamma)
    b = lbfgs.lbfgs_direction_parallel(g, d2, S, Y, rho, alpha.copy(), count, newest, gamma, part)
    assert a == b and np.array_equal(d1, d2)
    assert linalg.dot(g, d1) == linalg.dot_parallel(g, d1, part)
    assert linalg.abs_sum(g) == linalg.abs_sum_parallel(g, part)
    rings = [(S.copy(), Y.copy(), rho.copy()) for _ in range(2)]
    r1 = lbfgs.lbfgs_push(*rings[0], count, newest, gamma, 0.5, d1, g, g * 0.5, lbfgs.YS_MIN)
    r2 = lbfgs.lbfgs_push_parallel(*rings[1], count, newest, gamma, 0.5, d1, g, g * 0.5,
                                   lbfgs.YS_MIN, part)
    assert r1 == r2
    assert all(np.array_equal(u, v) for u, v in zip(*rings))


# --- line searches ---------------------------------------------------------------


@gdfast.cached_objective
@numba.njit(cache=True)
def finite_below_one(x, g):
    """sum((x - 3)^2), but NaN once any x_i > 1: a minimum the line search cannot reach."""
    f = 0.0
    for i in range(x.size):
        if x[i] > 1.0:
            g[:] = np.nan
            return np.nan
        f += (x[i] - 3.0) ** 2
        g[i] = 2.0 * (x[i] - 3.0)
    return f


def _search(fun, x0, d, t, c2=0.9, max_ls=25, parallel=False):
    n = x0.size
    g0 = np.empty(n)
    f0 = fun(x0, g0)
    x, g, G = np.empty(n), np.empty(n), np.empty((3, n))
    fun = cacheable(fun)
    if parallel:
        out = line_search.strong_wolfe_parallel(fun, (), x0, f0, g0, d, t, g0 @ d, x, g, G, 1e-4,
                                                c2, 1e-9, max_ls, linalg.workspace())
    else:
        out = line_search.strong_wolfe(fun, (), x0, f0, g0, d, t, g0 @ d, x, g, G, 1e-4, c2, 1e-9,
                                       max_ls)
    return (f0, g0), out, x, g


STARTS = [(np.array([-1.2, 1.0]), 1.0), (np.array([-1.2, 1.0]), 1e-3),
          (np.array([0.5, 2.0, -1.0, 0.3]), 10.0), (np.array([2.0, 2.0]), 0.05)]


@pytest.mark.parametrize("x0, t0", STARTS)
def test_strong_wolfe_returns_a_point_meeting_both_conditions(x0, t0):
    g0 = np.empty_like(x0)
    rosenbrock(x0, g0)
    d = -g0
    (f0, g0), (f, t, nfev, status), x, g = _search(rosenbrock, x0, d, t0)
    assert status == line_search.WOLFE and 1 <= nfev <= 25
    g_check = np.empty_like(x0)
    assert f == rosenbrock(x0 + t * d, g_check) and np.array_equal(x, x0 + t * d)
    assert np.array_equal(g, g_check)
    assert f <= f0 + 1e-4 * t * (g0 @ d)                   # sufficient decrease
    assert abs(g @ d) <= 0.9 * abs(g0 @ d)                 # curvature, strong form


@pytest.mark.parametrize("x0, t0", STARTS)
def test_strong_wolfe_is_torchs(x0, t0):
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _strong_wolfe
    g0 = np.empty_like(x0)
    f0 = rosenbrock(x0, g0)
    d = -g0
    calls = []

    def obj_func(x, t, d):          # torch's directional evaluation, with our objective
        point = x[0].numpy() + float(t) * d.numpy()
        g = np.empty_like(point)
        calls.append(float(t))
        return rosenbrock(point, g), torch.from_numpy(g)

    xt = [torch.from_numpy(x0.copy())]
    dt = torch.from_numpy(d.copy())
    f_t, g_t, t_t, n_t = _strong_wolfe(obj_func, xt, t0, dt, f0, torch.from_numpy(g0.copy()),
                                       dt.dot(torch.from_numpy(g0)))
    _, (f, t, nfev, _), _, g = _search(rosenbrock, x0, d, t0)
    assert nfev == n_t == len(calls)
    assert t == pytest.approx(float(t_t), rel=1e-12)
    assert f == pytest.approx(float(f_t), rel=1e-12)
    np.testing.assert_allclose(g, g_t.numpy(), rtol=1e-10)


def test_a_non_finite_trial_shortens_the_step_to_a_finite_point():
    x0 = np.zeros(3)
    d = np.ones(3) * 6.0              # f would be least at t = 0.5, NaN beyond t = 1/6
    (f0, _), (f, t, nfev, _), x, g = _search(finite_below_one, x0, d, 1.0)
    assert np.isfinite(f) and np.all(np.isfinite(x)) and np.all(np.isfinite(g))
    assert 0.0 < t <= 1.0 / 6.0 and f < f0


def test_strong_wolfe_serial_and_parallel_give_the_same_bits():
    n = 20_001
    x0 = np.linspace(-1.5, 1.5, n)
    g0 = np.empty(n)
    rosenbrock(x0, g0)
    a = _search(rosenbrock, x0, -g0, 1.0)
    b = _search(rosenbrock, x0, -g0, 1.0, parallel=True)
    assert a[1] == b[1] and np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])


def test_armijo_backtracking_accepts_the_first_sufficient_decrease():
    x0 = np.array([-1.2, 1.0])
    g0 = np.empty(2)
    f0 = rosenbrock(x0, g0)
    x, g = np.empty(2), np.empty(2)
    f, t, nfev, status = line_search.armijo_backtracking(cacheable(rosenbrock), (), x0, f0, g0,
                                                         -g0, 1.0, -(g0 @ g0), x, g, 1e-4, 0.5,
                                                         30)
    assert status == line_search.ARMIJO and t == 0.5 ** (nfev - 1)
    assert f <= f0 - 1e-4 * t * (g0 @ g0)
    longer = np.empty(2)
    assert rosenbrock(x0 - 2 * t * g0, longer) > f0 - 1e-4 * 2 * t * (g0 @ g0)   # t / rho failed


def test_armijo_backtracking_that_fails_leaves_x0():
    x0 = np.zeros(2)
    g0 = np.empty(2)
    f0 = finite_below_one(x0, g0)
    x, g = np.empty(2), np.empty(2)
    f, t, nfev, status = line_search.armijo_backtracking(cacheable(finite_below_one), (), x0, f0,
                                                         g0, np.full(2, 1e3), 1.0, -1.0, x, g,
                                                         1e-4,
                                                         0.5, 3)
    assert status == line_search.MAX_LS and t == 0.0 and nfev == 3
    assert f == f0 and np.array_equal(x, x0) and np.array_equal(g, g0)


@pytest.mark.slow
def test_the_serial_kernels_run_inside_a_users_prange():
    def solve_rows(X, iters):
        for i in numba.prange(X.shape[0]):
            state = lbfgs.lbfgs_torch_state(X.shape[1], 5)
            for _ in range(iters):
                lbfgs.lbfgs_torch_step(rosenbrock, (), X[i], state, 1.0, 20, 25, 1e-7, 1e-9, True)

    # the rows one after the other in the user's @njit code (prange is range
    # there): the same call of lbfgs_torch_step, compiled once for both
    # (compiling it again from Python, for types of its own, took 30 s)
    solve_all = numba.njit(parallel=True)(solve_rows)
    solve_serially = numba.njit(solve_rows)
    X = np.random.default_rng(3).uniform(-2, 2, (8, 4))
    want = X.copy()
    solve_serially(want, 3)
    assert not any(np.array_equal(a, b) for a, b in zip(want, X))   # every row moved
    solve_all(X, 3)
    assert np.array_equal(X, want)
