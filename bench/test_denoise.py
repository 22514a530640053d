"""pytest-benchmark suite for TV denoising (the figures `gdfast bench` prints).

Run: python -m pytest bench/test_denoise.py --benchmark-columns=median,ops
Images of 512^2 and 2048^2 (add 4096 with GDFAST_BENCH_4096=1); every
benchmark calls its function once before timing, so compile time and first
page faults are not timed. The pure-Python reference runs at 512^2 only
(about half a second per iteration there; `gdfast bench` times it at 2048^2).
"""
import os

import numpy as np
import pytest

from gdfast import reference
from gdfast._denoise import lipschitz_bound
from gdfast.bench.denoise import (
    EPS,
    LAM,
    SIGMA,
    GdfastGradient,
    GdfastIteration,
    NumpyIteration,
    torch_iteration,
)
from gdfast.bench.timing import torch_available
from gdfast.images import add_noise, synthetic_image

SIZES = [512, 2048] + ([4096] if os.environ.get("GDFAST_BENCH_4096") else [])


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}x{n}")
def noisy(request):
    return add_noise(synthetic_image(request.param), SIGMA, seed=0)


def _bench(benchmark, fn):
    fn()  # warm-up: compile, page faults
    benchmark(fn)


def test_tv_energy_gradient(benchmark, noisy):
    _bench(benchmark, GdfastGradient(noisy))


@pytest.mark.parametrize("method", ["gd", "nesterov", "adam"])
def test_gdfast_iteration(benchmark, noisy, method):
    _bench(benchmark, GdfastIteration(noisy, method))


def test_numpy_iteration(benchmark, noisy):
    _bench(benchmark, NumpyIteration(noisy))


@pytest.mark.skipif(not torch_available(), reason="torch is an optional benchmark anchor")
def test_torch_autograd_sgd_iteration(benchmark, noisy):
    _bench(benchmark, torch_iteration(noisy, "gd"))


def test_pure_python_reference_iteration_512(benchmark):
    f = add_noise(synthetic_image(512), SIGMA, seed=0)
    u, f_list = f.ravel().tolist(), f.ravel().tolist()
    lr = 1.0 / lipschitz_bound(LAM, EPS, 2)
    benchmark.pedantic(reference.tv_denoise_iteration, args=(u, f_list, f.shape, LAM, EPS, lr),
                       rounds=3, iterations=1)
    assert np.isfinite(u).all()
