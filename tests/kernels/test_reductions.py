"""The norms behind the convergence checks: exact, NaN-aware, thread-independent."""
import math

import numpy as np
import pytest

from gdfast import kernels
from gdfast._denoise import PARALLEL_MIN_PIXELS

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


@pytest.mark.parametrize("n", [1, 63, 64, 65, 100_003])
def test_difference_dot_is_the_sum_of_the_products_in_fixed_blocks(n):
    from gdfast.kernels.reductions import N_BLOCKS, difference_dot_parallel
    rng = np.random.default_rng(n)
    a, b, c = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    got = difference_dot_parallel(a, b, c)
    assert got == pytest.approx(float(np.sum((a - b) * c)), rel=1e-12, abs=1e-12)
    # the order is fixed: N_BLOCKS contiguous blocks, each summed in order,
    # then the blocks in order (as numba's serial loop would)
    bounds = [n * k // N_BLOCKS for k in range(N_BLOCKS + 1)]
    want = 0.0
    for k in range(N_BLOCKS):
        part = 0.0
        for i in range(bounds[k], bounds[k + 1]):
            part += (a[i] - b[i]) * c[i]
        want += part
    assert got == want


@pytest.mark.parametrize("n", [1, 7, 65, PARALLEL_MIN_PIXELS - 1, PARALLEL_MIN_PIXELS, 100_003])
def test_psnr_gives_the_parallel_passs_bits_on_either_side_of_the_threshold(n):
    # gdfast.images.psnr takes the serial pass below denoise's parallel
    # threshold (65,536 pixels) and the parallel one from it up: both sum the
    # same fixed blocks in order, so the switch changes no bit
    from gdfast.images import psnr
    from gdfast.kernels.reductions import mean_squared_difference, mean_squared_difference_parallel
    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.random(n)
    mse = mean_squared_difference_parallel(a, b)
    assert mean_squared_difference(a, b) == mse
    np.testing.assert_allclose(mse, np.mean((a - b) ** 2), rtol=1e-12)
    assert psnr(a, b) == float(10.0 * math.log10(1.0 / mse))
    assert psnr(a.reshape(1, n), b.reshape(1, n), data_range=2.0) == \
        float(10.0 * math.log10(4.0 / mse))


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 63, 64, 65, 1001])
def test_sum_squares_range_sums_in_its_documented_order(n):
    # four interleaved partial sums over the full chunks of four, the rest in
    # order, then ((s0 + s1) + (s2 + s3)) + rest: the order depends on the
    # bounds only, which is what keeps serial and parallel kernels equal
    from gdfast.kernels.reductions import LANES, sum_squares_range
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n + 10)
    for lo, hi, scale in [(0, n, 1.0), (3, n + 7, -0.37), (n, n, 2.0)]:
        m = (hi - lo) // LANES
        s = [0.0] * LANES
        for c in range(m):
            for j in range(LANES):
                u = a[lo + LANES * c + j] * scale
                s[j] += u * u
        rest = 0.0
        for i in range(lo + LANES * m, hi):
            u = a[i] * scale
            rest += u * u
        got = sum_squares_range(a, lo, hi, scale)
        assert got == ((s[0] + s[1]) + (s[2] + s[3])) + rest
        assert got == pytest.approx(math.fsum((a[lo:hi] * scale) ** 2), rel=1e-14, abs=0.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sum_squares_range_propagates_non_finite_entries(bad):
    from gdfast.kernels.reductions import sum_squares_range
    for where in range(7):
        a = np.ones(7)
        a[where] = bad
        got = sum_squares_range(a, 0, 7, 1.0)
        assert np.isnan(got) if np.isnan(bad) else got == np.inf


@pytest.mark.parametrize("n", [0, 1, 5, 64, 1001])
def test_sum_range_sums_in_sum_squares_ranges_order(n):
    from gdfast.kernels.reductions import sum_range, sum_squares_range
    rng = np.random.default_rng(n)
    a = rng.random(n + 3)
    # the same order: the sum of the squares is the sum of the squared entries
    assert sum_range(a ** 2, 1, n + 2) == sum_squares_range(a, 1, n + 2, 1.0)
    assert sum_range(a, 0, n) == pytest.approx(math.fsum(a[:n]), rel=1e-14, abs=0.0)
