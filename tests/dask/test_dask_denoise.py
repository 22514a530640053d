"""gdfast.dask.denoise against the in-memory gdfast.denoise, the oracle: the
same iterate to the bit for any chunks, sweep length, 2-D and 3-D, every
named method, eps stages; on a LocalCluster of worker processes."""
import dask.array as da
import numpy as np
import pytest
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
@pytest.mark.slow
def test_equals_the_in_memory_run_bit_for_bit(client, tmp_path, method, f, chunks, sweep):
    # 27 iterations: not a multiple of the sweep; eps=None switches stage at 20
    for eps in (None, 0.02):
        want = in_memory(f, eps=eps, method=method, max_iter=27, tol=0)
        got = gdfast.dask.denoise(da.from_array(f, chunks=chunks), 0.1, eps, method,
                                  max_iter=27, tol=0, store=tmp_path / "run", sweep=sweep,
                                  chunks=None)
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
                              store=tmp_path / "run", sweep=7, chunks=None)
    assert want.nit % 7 != 0
    assert got.status == "ftol" and got.nit == want.nit
    assert np.array_equal(got.x.compute(), want.x)


@pytest.mark.slow
def test_irregular_chunks_zarr_and_numpy_inputs(client, tmp_path):
    want = in_memory(VOLUME, eps=0.05, max_iter=9, tol=0)
    irregular = da.from_array(VOLUME, chunks=((3, 8, 3), (17,), (5, 7)))
    z = zarr.open_array(tmp_path / "in.zarr", mode="w", shape=VOLUME.shape, chunks=(7, 7, 7),
                        dtype="f8")
    z[...] = VOLUME
    for f, chunks in ((irregular, None), (z, None), (VOLUME, (6, 6, 6)), (VOLUME, "auto")):
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


def test_resume_goes_on_bit_for_bit_and_refuses_another_run(client, tmp_path):
    store = tmp_path / "run"
    f = da.from_array(VOLUME, chunks=(5, 17, 12))
    first = gdfast.dask.denoise(f, 0.1, None, max_iter=13, tol=0, store=store, sweep=4)
    assert first.nit == 13
    want = in_memory(VOLUME, max_iter=31, tol=0)      # across the eps stage at 20
    got = gdfast.dask.denoise(f, 0.1, None, max_iter=31, tol=0, store=store, sweep=6,
                              resume=True)
    assert got.nit == 31 and np.array_equal(got.x.compute(), want.x)
    np.testing.assert_allclose(got.fun_history, want.fun_history, rtol=1e-13)
    # at or past the stored iterate: returned as stored
    again = gdfast.dask.denoise(f, 0.1, None, max_iter=20, tol=0, store=store, resume=True)
    assert again.nit == 31 and again.status == "max_iter"
    assert np.array_equal(again.x.compute(), want.x)
    other = VOLUME.copy()
    other[3, 4, 5] += 1e-9
    for kw in (dict(f=da.from_array(other, chunks=(5, 17, 12))), dict(lam=0.11),
               dict(method="nesterov"), dict(eps=0.01), dict(anisotropic=True)):
        args = dict(f=f, lam=0.1, eps=None, method="momentum", anisotropic=False, **{})
        args.update(kw)
        with pytest.raises(CheckpointError, match="different run"):
            gdfast.dask.denoise(args.pop("f"), args.pop("lam"), store=store, resume=True,
                                max_iter=40, **args)
    with pytest.raises(CheckpointError, match="shape"):
        gdfast.dask.denoise(VOLUME[:, :, :11], 0.1, store=store, resume=True, chunks=None)
    # the refused resumes changed nothing
    assert np.array_equal(gdfast.dask.denoise(f, 0.1, max_iter=31, store=store,
                                              resume=True).x.compute(), want.x)


def test_resume_without_a_run_is_an_error(tmp_path):
    with pytest.raises(CheckpointError, match="no gdfast run"):
        gdfast.dask.denoise(IMAGE, 0.1, store=tmp_path / "none", resume=True)
    assert not (tmp_path / "none").exists()


def test_a_folder_that_is_not_a_work_group_is_never_written(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a gdfast work group"):
        gdfast.dask.denoise(IMAGE, 0.1, store=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        gdfast.dask.denoise(IMAGE, 0.1, store=file)
    assert file.read_text() == "x"


def test_an_input_inside_the_store_is_refused_before_anything_is_written(tmp_path):
    store = tmp_path / "run"
    gdfast.dask.denoise(IMAGE, 0.1, 0.02, max_iter=3, store=store)
    before = zarr.open_group(store, mode="r")["u.1"][...]
    inside = da.from_zarr(str(store), component="u.1")
    with pytest.raises(ValueError, match="overwrite its own input"):
        gdfast.dask.denoise(inside, 0.1, 0.02, max_iter=3, store=store)
    assert np.array_equal(zarr.open_group(store, mode="r")["u.1"][...], before, equal_nan=True)


@pytest.mark.parametrize("bad, match", [
    (dict(f=np.full((8, 8), np.nan)), "finite"),
    (dict(f=np.zeros((8, 8), dtype=complex)), "real numbers"),
    (dict(f=np.zeros(8)), "2-D image"),
    (dict(lam=-1.0), "lam"),
    (dict(lam="best"), "lam"),
    (dict(lam=0.1, sigma=0.1), "sigma"),
    (dict(eps=0.0), "eps"),
    (dict(sweep=0), "sweep"),
    (dict(sweep="long"), "sweep"),
    (dict(sigma=-1.0), "sigma"),
    (dict(max_iter=-1), "max_iter"),
    (dict(method=3), "method"),
    (dict(chunks="big"), "chunks"),
])
def test_bad_input_is_refused_naming_the_argument(tmp_path, bad, match):
    args = {**dict(f=IMAGE, lam=0.1), **bad}
    with pytest.raises((TypeError, ValueError), match=match):
        gdfast.dask.denoise(args.pop("f"), args.pop("lam"), store=tmp_path / "run", **args)
    assert not (tmp_path / "run").exists()        # a refused start leaves no store


def test_lam_auto_is_chosen_on_the_central_crop(tmp_path):
    big = np.clip(gdfast.images.photo("camera", 200) + np.random.default_rng(3).normal(
        0, 0.05, (200, 200)), 0, 1)
    got = gdfast.dask.denoise(big, store=tmp_path / "run", max_iter=15, tol=0)
    assert got.auto_crop == ((0, 200), (0, 200))     # smaller than the crop: all of it
    choice = gdfast.denoise(big, max_iter=15, tol=0)
    assert got.lam == choice.lam and got.sigma == choice.sigma
    assert np.array_equal(got.x.compute(), choice.x)
    given = gdfast.dask.denoise(big, store=tmp_path / "run", max_iter=0, sigma=0.05)
    assert given.lam == gdfast.denoise(big, max_iter=0, sigma=0.05).lam


@pytest.mark.parametrize("rest,sweep,lengths", [
    (64, 50, [32, 32]), (20, 8, [7, 7, 6]), (10, 8, [5, 5]), (7, 8, [7]), (9, 1, [1] * 9),
    (300, 50, [50] * 6), (101, 50, [34, 34, 33])])
def test_a_stage_is_cut_into_equal_sweeps_of_at_most_sweep(rest, sweep, lengths):
    from gdfast.dask.denoising import sweep_length
    got = []
    while rest:
        got.append(sweep_length(rest, sweep))
        rest -= got[-1]
    assert got == lengths
    assert sweep_length(0, 8) == 0
