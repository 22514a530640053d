"""gdfast.kernels.clipping and gdfast.kernels.averaging: the serial and the
parallel kernels give the same bits (and counts), the norm's NaN and inf, the
nopython clip_grad_norm against the facade, and fma's rounding."""
import math

import numpy as np
import pytest
from numba import njit

import gdfast
from gdfast.kernels import averaging as A
from gdfast.kernels import clipping as C
from gdfast.kernels.linalg import workspace

N = 300_007                         # 64 blocks, ragged


def _vector(seed, n=N):
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("p", [2.0, 1.0, math.inf])
def test_norm_part_serial_and_parallel_give_the_same_bits(p):
    g = _vector(0)
    assert C.norm_part(g, p) == C.norm_part_parallel(g, p, workspace())


@pytest.mark.parametrize("p", [2.0, 1.0, math.inf])
def test_a_nan_makes_the_norm_nan_and_an_inf_makes_it_inf(p):
    g = _vector(1, 1000)
    g[3] = math.inf
    assert C.norm_part(g, p) == math.inf
    g[700] = math.nan
    assert math.isnan(C.norm_part(g, p))
    assert math.isnan(C.add_norm_part(math.nan, 1.0, p))


@pytest.mark.parametrize("kernel, parallel, arg", [
    (C.scale_gradient, C.scale_gradient_parallel, 0.37),
    (C.clip_values, C.clip_values_parallel, 0.5),
], ids=["scale", "clip_values"])
def test_the_elementwise_clipping_kernels_serial_equal_parallel(kernel, parallel, arg):
    g = _vector(2)
    g[10], g[20] = math.nan, math.inf
    a, b = g.copy(), g.copy()
    assert kernel(a, arg) == parallel(b, arg)
    assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("w", [0.3, 0.7], ids=["small", "large"])
def test_lerp_average_serial_equals_parallel(w):
    a, x = _vector(3), _vector(4)
    x[5] = math.nan
    b = a.copy()
    assert A.lerp_average(a, x, w) == A.lerp_average_parallel(b, x, w) == 1
    assert np.array_equal(a, b, equal_nan=True)


def test_swa_average_serial_equals_parallel():
    a, x = _vector(5), _vector(6)
    b = a.copy()
    assert A.swa_average(a, x, 3) == A.swa_average_parallel(b, x, 3) == 0
    assert np.array_equal(a, b)


def test_the_nopython_clip_grad_norm_gives_the_facades_bits():
    grads = (_vector(7, 5), _vector(8, 9000), _vector(9, 70))
    mine = tuple(g.copy() for g in grads)
    total = C.clip_grad_norm(mine, 0.5, 2.0)
    assert total == gdfast.clip_grad_norm(list(grads), 0.5)
    assert all(np.array_equal(a, b) for a, b in zip(mine, grads))


def test_fma_rounds_once_compiled_and_as_python():
    p, q, r = 1.0 + 2.0**-30, 1.0 - 2.0**-30, -1.0       # p q = 1 - 2^-60 exactly
    assert p * q + r == 0.0
    assert A.fma(p, q, r) == njit(lambda p, q, r: A.fma(p, q, r))(p, q, r) == -2.0**-60
