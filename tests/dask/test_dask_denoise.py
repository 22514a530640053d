"""gdfast.dask.denoise against the in-memory gdfast.denoise, the oracle: the
same iterate to the bit for any chunks, sweep length, 2-D and 3-D, every
named method, eps stages; on a LocalCluster of worker processes."""
import numpy as np
import pytest
import dask.array as da
import zarr

import gdfast
import gdfast.dask
from gdfast.checkpoint import CheckpointError

RNG = np.random.default_rng(20261201)
IMAGE = RNG.random((45, 38))
VOLUME = RNG.random((14, 17, 12))


def in_memory(f, **kw):
    return gdfast.denoise(f, **{"lam": 0.1, **kw})


@pytest.mark.parametrize("method", ["momentum", "nesterov", "gd", "adam"])
@pytest.mark.parametrize("f, chunks, sweep", [
    (IMAGE, (16, 10), 5),          # chunks smaller than the halo of a sweep
    (IMAGE, (45, 38), 3),          # one chunk
    (IMAGE, (7, 38), 1),
    (VOLUME, (5, 6, 4), 4),
    (VOLUME, (14, 9, 12), 9),
])
def test_equals_the_in_memory_run_bit_for_bit(client, tmp_path, method, f, chunks, sweep):
    # 27 iterations: not a multiple of the sweep; eps=None switches stage at 20
    for eps in (None, 0.02):
        want = in_memory(f, eps=eps, method=method, max_iter=27, tol=0)
        got = gdfast.dask.denoise(da.from_array(f, chunks=chunks), 0.1, eps, method,
                                  max_iter=27, tol=0, store=tmp_path / "run", sweep=sweep)
        x = got.x.compute()
        assert np.array_equal(x, want.x), (eps, np.abs(x - want.x).max())
        assert got.nit == 27 and got.status == "max_iter" and got.chunks == chunks
        np.testing.assert_allclose(got.fun_history, want.fun_history, rtol=1e-13)
        np.testing.assert_allclose(got.grad_norm_history, want.grad_norm_history, rtol=1e-12)
        assert got.fun == got.fun_history[-1]


def test_a_stopping_rule_inside_a_sweep_stops_where_the_in_memory_run_does(client, tmp_path):
    want = in_memory(IMAGE, eps=0.02, tol=1e-4)
    assert 5 < want.nit < 300 and want.status == "ftol"
    got = gdfast.dask.denoise(da.from_array(IMAGE, chunks=(20, 20)), 0.1, 0.02, tol=1e-4,
                              store=tmp_path / "run", sweep=7)
    assert want.nit % 7 != 0
    assert got.status == "ftol" and got.nit == want.nit
    assert np.array_equal(got.x.compute(), want.x)


def test_irregular_chunks_zarr_and_numpy_inputs(client, tmp_path):
    want = in_memory(VOLUME, eps=0.05, max_iter=9, tol=0)
    irregular = da.from_array(VOLUME, chunks=((3, 8, 3), (17,), (5, 7)))
    z = zarr.open_array(tmp_path / "in.zarr", mode="w", shape=VOLUME.shape, chunks=(7, 7, 7),
                        dtype="f8")
    z[...] = VOLUME
    for f, chunks in ((irregular, None), (z, None), (VOLUME, (6, 6, 6))):
        got = gdfast.dask.denoise(f, 0.1, 0.05, max_iter=9, tol=0, store=tmp_path / "run",
                                  sweep=4, chunks=chunks)
        assert np.array_equal(got.x.compute(), want.x)
        assert all(len(set(c[:-1])) <= 1 for c in got.x.chunks)
    assert np.array_equal(z[...], VOLUME)                   # the input is only read


def test_the_threaded_scheduler_gives_the_same_bits(tmp_path):
    want = in_memory(IMAGE, eps=0.02, max_iter=12, tol=0)
    got = gdfast.dask.denoise(da.from_array(IMAGE, chunks=(10, 30)), 0.1, 0.02, max_iter=12,
                              tol=0, store=tmp_path / "run", sweep=5)
    assert np.array_equal(got.x.compute(scheduler="threads"), want.x)


def test_max_iter_zero_returns_f(tmp_path):
    got = gdfast.dask.denoise(IMAGE, 0.1, 0.02, max_iter=0, store=tmp_path / "run",
                              chunks=(20, 20))
    want = in_memory(IMAGE, eps=0.02, max_iter=0)
    assert got.nit == 0 and got.status == "max_iter"
    assert np.array_equal(got.x.compute(), IMAGE)
    assert got.fun_history.size == 1
    np.testing.assert_allclose(got.fun, want.fun, rtol=1e-13)
