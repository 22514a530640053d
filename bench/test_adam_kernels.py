"""pytest-benchmark suite for the Adam kernels (the figures `gdfast bench` prints).

Run: python -m pytest bench/ --benchmark-columns=median,ops
Each benchmark calls its function once before timing, so compile time and
first-touch page faults are not timed.
"""
import numpy as np
import pytest

from gdfast import kernels
from gdfast.bench.adam import numpy_adam_step
from gdfast.bench.timing import torch_available

SIZES = [10_000, 1_000_000, 16_000_000]
HYPER = (0.9, 0.999, 1e-8, 0.0, 0.0)


class Adam:
    def __init__(self, rng, n):
        self.x, self.g = rng.standard_normal(n), rng.standard_normal(n)
        self.m, self.v = np.zeros(n), np.zeros(n)
        self.t = 0

    def kernel(self, k):
        self.t += 1
        k(self.x, self.g, (self.m, self.v), self.t, 1e-3, HYPER)

    def numpy(self):
        self.t += 1
        numpy_adam_step(self.x, self.g, self.m, self.v, self.t, 1e-3, 0.9, 0.999, 1e-8)


def _bench(benchmark, fn, *args):
    fn(*args)  # warm-up: compile, page faults
    benchmark(fn, *args)


@pytest.mark.parametrize("n", SIZES)
def test_adam_serial(benchmark, rng, n):
    a = Adam(rng, n)
    _bench(benchmark, a.kernel, kernels.adam_step)


@pytest.mark.parametrize("n", SIZES)
def test_adam_parallel(benchmark, rng, n):
    a = Adam(rng, n)
    _bench(benchmark, a.kernel, kernels.adam_step_parallel)


@pytest.mark.parametrize("n", SIZES)
def test_adam_numpy(benchmark, rng, n):
    a = Adam(rng, n)
    _bench(benchmark, a.numpy)


@pytest.mark.skipif(not torch_available(), reason="torch is an optional benchmark anchor")
@pytest.mark.parametrize("n", SIZES)
def test_adam_torch_fused(benchmark, rng, n):
    import torch
    p = torch.tensor(rng.standard_normal(n), requires_grad=True)
    p.grad = torch.tensor(rng.standard_normal(n))
    opt = torch.optim.Adam([p], lr=1e-3, fused=True)
    _bench(benchmark, opt.step)


@pytest.mark.parametrize("n", [16_000_000])
def test_stream_triad(benchmark, rng, n):
    a, b, c = np.zeros(n), rng.standard_normal(n), rng.standard_normal(n)
    _bench(benchmark, kernels.triad_parallel, a, b, c, 3.0)


@pytest.mark.parametrize("n", [1000])
def test_adam_facade_step(benchmark, rng, n):
    """gdfast.Adam.step: validation and dispatch on top of test_adam_serial[1000]-like work."""
    import gdfast
    x, g = rng.standard_normal(n), rng.standard_normal(n)
    opt = gdfast.Adam(lr=1e-3)
    state = opt.init(x)
    _bench(benchmark, opt.step, x, g, state)


@pytest.mark.parametrize("n", [1000])
def test_adam_bare_kernel_small(benchmark, rng, n):
    a = Adam(rng, n)
    _bench(benchmark, a.kernel, kernels.adam_step)
