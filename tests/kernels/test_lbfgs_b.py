"""kernels.lbfgs_b: the vector passes of L-BFGS with bounds against numpy,
serial against parallel bit for bit, and the whole loop (kernels.driver.descend
with LBFGS_B) with either set of passes giving the same bits."""
import numpy as np
import pytest

from gdfast.kernels import driver, lbfgs_b, line_search
from gdfast.kernels.jit import njit

N = 40_003                       # 9 blocks of the blocked sums (kernels.linalg)


@pytest.fixture
def vectors():
    rng = np.random.default_rng(5)
    x0 = rng.uniform(-1.0, 1.0, N)
    lo, hi = np.full(N, -0.5), np.full(N, 0.5)
    lo[::7], hi[::11] = -np.inf, np.inf
    x0 = np.clip(x0, lo, hi)
    x0[::5] = lo[::5]                       # on a bound (or -inf where free)
    x0[::5] = np.where(np.isfinite(x0[::5]), x0[::5], 0.0)
    return x0, rng.standard_normal(N), rng.standard_normal(N), lo, hi


def test_free_gradient_and_hold_zero_exactly_the_held_entries(vectors):
    x, g, d, lo, hi = vectors
    held = ((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0))
    assert 0 < held.sum() < N
    for free, hold in ((lbfgs_b.free_gradient, lbfgs_b.hold),
                       (lbfgs_b.free_gradient_parallel, lbfgs_b.hold_parallel)):
        w = np.full(N, np.nan)
        free(w, g, x, lo, hi, np.empty(128))
        assert np.array_equal(w, np.where(held, 0.0, g))
        e = d.copy()
        hold(e, g, x, lo, hi, np.empty(128))
        assert np.array_equal(e, np.where(held, 0.0, d))


def test_the_projected_path_and_its_decrease(vectors):
    x0, g, d, lo, hi = vectors
    want = np.clip(x0 + 0.7 * d, lo, hi)
    out = {}
    for name, path in (("serial", lbfgs_b.projected_path),
                       ("parallel", lbfgs_b.projected_path_parallel)):
        x = np.empty(N)
        out[name] = path(x, x0, d, 0.7, lo, hi, g, np.empty(128))
        assert np.array_equal(x, want)
    assert out["serial"] == out["parallel"]                 # the same bits
    assert out["serial"] == pytest.approx(g @ (want - x0), rel=1e-12)


def test_the_projected_gradient_and_the_step(vectors):
    x, g, d, lo, hi = vectors
    want = np.abs(np.clip(x - g, lo, hi) - x).max()
    assert lbfgs_b.projected_gradient_norm(x, g, lo, hi, np.empty(128)) == want
    assert lbfgs_b.projected_gradient_norm_parallel(x, g, lo, hi, np.empty(128)) == want
    for step in (lbfgs_b.step_taken, lbfgs_b.step_taken_parallel):
        s = np.empty(N)
        assert step(s, d, x, np.empty(128)) == np.abs(d - x).max()
        assert np.array_equal(s, d - x)


@njit(cache=True)
def quartic(x, g, c):
    """sum (1 + i/n)(x_i - c_i)^2 + (x_i - c_i)^4."""
    n = x.size
    f = 0.0
    for i in range(n):
        d = x[i] - c[i]
        w = 1.0 + i / n
        f += w * d * d + d ** 4
        g[i] = 2.0 * w * d + 4.0 * d ** 3
    return f


@pytest.mark.parametrize("bounded", [False, True])
def test_serial_and_parallel_passes_give_the_same_loop(bounded):
    # the loop run as Python (descend.py_func) over each set of compiled
    # passes: the same iterates, f and gradient norms bit for bit
    c = np.linspace(-2.0, 2.0, N)
    lo, hi = (np.full(N, -1.0), np.full(N, 1.5)) if bounded else (np.empty(0), np.empty(0))
    runs = []
    for passes in (lbfgs_b.LBFGS_B_SERIAL, lbfgs_b.LBFGS_B_PARALLEL):
        def python_wolfe(*args, parallel=passes[0]):
            body = getattr(line_search.strong_wolfe_body, "py_func",
                           line_search.strong_wolfe_body)
            return body(parallel, *args)
        x, g = np.zeros(N), np.empty(N)
        hist = np.full(9, np.nan)
        method = (passes, lbfgs_b.lbfgs_b_state(N, 5), lo, hi, lbfgs_b.C1, lbfgs_b.MAX_LS, 0.0)
        steps = tuple(getattr(f, "py_func", f) for f in (lbfgs_b.lbfgs_b_begin,
                                                          lbfgs_b.lbfgs_b_advance))
        r = getattr(driver.descend, "py_func", driver.descend)(
            quartic, x, g, np.empty(0), 0.0, 0.0, 0, False, (c,), steps,
            ((passes[0], python_wolfe),) + method[1:], 8, -1, 0.0, 0.0, 0.0,
            np.array([0.0, -1.0]), 0, hist, hist.copy())
        runs.append((x.copy(), r.fun, r.nit, r.status, hist.copy()))
    (xa, fa, na, sa, ha), (xb, fb, nb, sb, hb) = runs
    assert na == nb == 8 and sa == sb == driver.MAX_ITER
    assert xa.tobytes() == xb.tobytes() and fa == fb and ha.tobytes() == hb.tobytes()
    if bounded:
        assert xa.min() == -1.0 and xa.max() == 1.5
