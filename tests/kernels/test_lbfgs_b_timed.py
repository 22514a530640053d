"""kernels.lbfgs_b.lbfgs_b_descend_timed: minimize's nopython L-BFGS, which
times its own chunks (kernels.clock), gives the bits of one untimed call
however often it pauses."""
import numpy as np
import pytest
from numba import njit

from gdfast.kernels import clock, lbfgs_b
from gdfast.kernels.driver import RUNNING

# one worker under -n: _rosenbrock is a plain @njit function, so the two
# loops compiled for it (8 s each) are not cached on disk and compiled in
# every process that runs one of these tests
pytestmark = [pytest.mark.skipif(not clock.AVAILABLE, reason="no clock_gettime here"),
              pytest.mark.xdist_group("lbfgs-timed")]


@njit
def _rosenbrock(x, g):
    f = 0.0
    g[:] = 0.0
    for i in range(x.size - 1):
        a, b = 1.0 - x[i], x[i + 1] - x[i] * x[i]
        f += a * a + 100.0 * b * b
        g[i] += -2.0 * a - 400.0 * x[i] * b
        g[i + 1] += 200.0 * b
    return f


def _start(n):
    x = np.full(n, -1.2)
    x[1::2] = 1.0
    return x, np.empty(n), lbfgs_b.lbfgs_b_state(n, 10), np.array([0.0, -1.0]), np.empty(501), \
        np.empty(501)


def test_the_clock_moves_forward():
    @njit
    def two():
        return clock.monotonic_seconds(), clock.monotonic_seconds()
    a, b = two()
    assert 0.0 < a <= b


@pytest.mark.parametrize("seconds", [0.0, 1e-5, 10.0])
def test_timed_chunks_give_the_bits_of_one_call(seconds):
    e = np.empty(0)
    x, g, st, sc, hf, hg = _start(6)
    r = lbfgs_b.lbfgs_b_descend(_rosenbrock, x, g, np.nan, np.nan, 0, False, (), *st, e, e, 20,
                                500, -1, 1e-12, 1e-12, sc, hf, hg)
    y, gy, sty, scy, hfy, hgy = _start(6)
    nit, f, g_norm, evaluated, nfev, calls = 0, np.nan, np.nan, False, 0, 0
    while True:
        nit, f, status, n, skipped, g_norm = lbfgs_b.lbfgs_b_descend_timed(
            _rosenbrock, y, gy, f, g_norm, nit, evaluated, (), *sty, e, e, 20, 500, -1, 1e-12,
            1e-12, scy, hfy, hgy, seconds)
        evaluated, nfev, calls = True, nfev + n, calls + 1
        if status != RUNNING:
            break
    assert (nit, status, nfev) == (r.nit, r.status, r.nfev)
    assert f == r.fun and g_norm == r.grad_norm
    assert np.array_equal(y, x) and np.array_equal(gy, g)
    assert np.array_equal(hfy[:nit + 1], hf[:nit + 1])
    assert np.array_equal(hgy[:nit + 1], hg[:nit + 1])
    if seconds == 0.0:                     # one iteration per call: a pause after each
        assert calls == nit
    if seconds == 10.0:
        assert calls == 1


def test_a_pause_at_is_kept():
    e = np.empty(0)
    x, g, st, sc, hf, hg = _start(6)
    nit, *_ = lbfgs_b.lbfgs_b_descend_timed(_rosenbrock, x, g, np.nan, np.nan, 0, False, (), *st,
                                            e, e, 20, 500, 7, 1e-12, 1e-12, sc, hf, hg, 10.0)
    assert nit == 7
