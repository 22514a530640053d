"""gdfast.dask.minimize_batch against the in-memory gdfast.minimize_batch: every
problem's x, fun, nit and status bit for bit, for any row chunks."""
import dask
import dask.array as da
import numpy as np
import pytest
import zarr

import gdfast
import gdfast.dask
from gdfast.problems import (
    exp_decay_initial_guess,
    exp_decay_jacobian,
    exp_decay_residuals,
    exp_decay_residuals_and_jacobian,
    exp_decay_stack,
    exp_decay_value_and_grad,
)

T, Y, _ = exp_decay_stack((30, 41), n_times=12, seed=4)
X0 = exp_decay_initial_guess(Y)
SETTINGS = dict(args=(T,), max_iter=400, gtol=1e-9)


@pytest.mark.parametrize("method", ["lbfgs", "adam", gdfast.SGD(lr=0.01, momentum=0.9)])
@pytest.mark.parametrize("rows", [1230, 100, 37])
@pytest.mark.slow
def test_every_problem_bit_for_bit_for_any_row_chunks(client, method, rows):
    want = gdfast.minimize_batch(exp_decay_value_and_grad, X0, method, batch_args=(Y,),
                                 **SETTINGS)
    got = gdfast.dask.minimize_batch(exp_decay_value_and_grad,
                                     da.from_array(X0, chunks=(rows, 3)), method,
                                     batch_args=(da.from_array(Y, chunks=(50, 5)),), **SETTINGS)
    x, fun, nit, status, success = dask.compute(got.x, got.fun, got.nit, got.status,
                                                got.success)
    assert np.array_equal(x, want.x) and np.array_equal(fun, want.fun)
    assert np.array_equal(nit, want.nit) and nit.dtype == np.int64
    assert np.array_equal(status, want.status) and np.array_equal(success, want.success)
    assert got.x.chunks[0] == da.from_array(X0, chunks=(rows, 3)).chunks[0]
    assert set(np.unique(status)) <= set(got.messages)


def test_a_plateau_per_problem_bit_for_bit_for_row_chunks(client):
    opt = gdfast.SGD(lr=0.01, momentum=0.9)
    plateau = gdfast.schedules.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    settings = dict(SETTINGS, max_iter=120)
    want = gdfast.minimize_batch(exp_decay_value_and_grad, X0, opt, batch_args=(Y,),
                                 plateau=plateau, **settings)
    got = gdfast.dask.minimize_batch(exp_decay_value_and_grad, da.from_array(X0, chunks=(37, 3)),
                                     opt, batch_args=(Y,), plateau=plateau, **settings)
    x, fun, nit, status, lr = dask.compute(got.x, got.fun, got.nit, got.status, got.lr)
    assert np.array_equal(x, want.x) and np.array_equal(fun, want.fun)
    assert np.array_equal(nit, want.nit) and np.array_equal(status, want.status)
    assert np.array_equal(lr, want.lr) and (lr < 0.01).any()       # some rows were reduced
    with pytest.raises(ValueError, match="plateau"):                # another optimizer's: at once
        gdfast.dask.minimize_batch(exp_decay_value_and_grad, da.from_array(X0, chunks=(37, 3)),
                                   gdfast.SGD(lr=0.01), batch_args=(Y,), plateau=plateau)


def test_results_go_to_zarr(tmp_path):
    got = gdfast.dask.minimize_batch(exp_decay_value_and_grad, da.from_array(X0, chunks=200),
                                     batch_args=(Y,), **SETTINGS)
    da.to_zarr(got.x, str(tmp_path / "x.zarr"))
    want = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), **SETTINGS)
    assert np.array_equal(zarr.open_array(str(tmp_path / "x.zarr"), mode="r")[...], want.x)


@pytest.mark.parametrize("bad, match", [
    (dict(X0=np.zeros(5)), "2-D"),
    (dict(X0=np.zeros((5, 3), dtype=complex)), "real numbers"),
    (dict(batch_args=(np.zeros((4, 12)),)), "first axis of length"),
    (dict(batch_args=[Y]), "tuple"),
])
def test_bad_input_is_refused_naming_the_argument(bad, match):
    kw = {**dict(X0=X0, batch_args=(Y,)), **bad}
    with pytest.raises((TypeError, ValueError), match=match):
        gdfast.dask.minimize_batch(exp_decay_value_and_grad, kw.pop("X0"), **kw, **SETTINGS)


def test_an_empty_chunk_of_rows_and_a_bad_row_named_in_x0s_numbering():
    # issue 27 item 22: an empty chunk failed at compute; a NaN was reported by a
    # chunk-local index
    t, Y, _ = exp_decay_stack((2, 3), seed=5)
    X0 = exp_decay_initial_guess(Y)
    want = gdfast.minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,),
                                 max_iter=5)
    res = gdfast.dask.minimize_batch(exp_decay_value_and_grad,
                                     da.from_array(X0, chunks=((3, 0, 3), 3)),
                                     batch_args=(da.from_array(Y, chunks=((3, 0, 3), 16)),),
                                     args=(t,), max_iter=5)
    assert np.array_equal(res.x.compute(), want.x)
    X0[4, 1] = np.nan
    res = gdfast.dask.minimize_batch(exp_decay_value_and_grad, da.from_array(X0, chunks=(3, 3)),
                                     batch_args=(Y,), args=(t,), max_iter=5)
    with pytest.raises(ValueError, match=r"in rows 3\.\.5 of X0 .*NaN or inf"):
        res.x.compute()


def test_a_registered_objective_goes_to_the_workers_by_name():
    # pickled as itself, numba rebuilds the objective in each worker as a new
    # dispatcher that compiles afresh, with every loop that calls it (10 s a
    # worker here); by name, the worker imports the registered one, whose
    # loops load from the disk cache. The scheduler unpickles the graph on
    # the way, so the name must survive a round trip unresolved.
    import pickle

    from gdfast.dask.batches import ImportedFunction, by_reference
    sent = pickle.loads(pickle.dumps(by_reference(exp_decay_value_and_grad)))
    assert isinstance(sent, ImportedFunction)
    assert sent.resolve() is exp_decay_value_and_grad

    def local(x, g):
        return 0.0
    assert by_reference(local) is local                  # not importable: as itself


@pytest.mark.parametrize("rows, fused", [(100, False), (37, True)])
@pytest.mark.slow
def test_least_squares_every_problem_bit_for_bit_with_per_problem_bounds(client, rows, fused):
    lo = np.tile([0.0, 0.0, -np.inf], (X0.shape[0], 1))
    hi = np.tile([np.inf, np.inf, 0.05], (X0.shape[0], 1))
    kw = dict(n_residuals=T.size, args=(T,), max_iter=50)
    fun, jac = ((exp_decay_residuals_and_jacobian, True) if fused else
                (exp_decay_residuals, exp_decay_jacobian))     # jac=True: r and J in one
    want = gdfast.least_squares_batch(fun, X0, jac, batch_args=(Y,), bounds=(lo, hi), **kw)
    got = gdfast.dask.least_squares_batch(fun, da.from_array(X0, chunks=(rows, 3)), jac,
                                          batch_args=(Y,),
                                          bounds=(da.from_array(lo, chunks=(50, 3)), hi), **kw)
    got = dask.compute(dict(got))[0]
    for k in ("x", "cost", "fun", "nit", "nfev", "njev", "status", "success"):
        assert np.array_equal(got[k], want[k]), k
    assert (want.x[:, 2] == 0.05).any()                # the bounds bind somewhere
