"""The norms behind the convergence checks: exact, NaN-aware, thread-independent."""
import numpy as np
import pytest

from gdfast import kernels

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit


@pytest.mark.parametrize("n", [0, 1, 7, 63, 64, 65, 100_003])
def test_max_abs_and_max_abs_diff(n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    want = float(np.max(np.abs(a), initial=0.0))
    want_diff = float(np.max(np.abs(a - b), initial=0.0))
    assert kernels.max_abs(a) == kernels.max_abs_parallel(a) == want
    assert kernels.max_abs_diff(a, b) == kernels.max_abs_diff_parallel(a, b) == want_diff


@pytest.mark.parametrize("n", [1, 10, 1000])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_show_in_the_norm(n, bad):
    for where in {0, n // 2, n - 1}:
        a = np.ones(n)
        a[where] = bad
        for f in (kernels.max_abs, kernels.max_abs_parallel):
            got = f(a)
            assert np.isnan(got) if np.isnan(bad) else got == np.inf
        for f in (kernels.max_abs_diff, kernels.max_abs_diff_parallel):
            got = f(a, np.zeros(n))
            assert np.isnan(got) if np.isnan(bad) else got == np.inf
    a = np.ones(n)
    a[0], a[-1] = np.inf, np.nan
    assert np.isnan(kernels.max_abs(a)) and np.isnan(kernels.max_abs_parallel(a))
