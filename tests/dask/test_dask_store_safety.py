"""The work group cannot be shared or damaged into a wrong result (issue 27,
items 1, 7, 8): one run at a time, missing chunks and edited records refused,
a symbolic link into the store seen through. Dask's threads, small images."""
import json
import os
import subprocess
import sys

import dask.array as da
import numpy as np
import pytest

import gdfast
import gdfast.dask
from gdfast.checkpoint import CheckpointError
from gdfast.dask import workdir

IMAGE = np.random.default_rng(3).random((32, 24))
RUN = dict(lam=0.1, eps=0.02, tol=0, sweep=3, chunks=(16, 24))


def _holder(store):
    """A process that holds the store's lock until killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from gdfast.dask import workdir\n"
         "with workdir.locked(sys.argv[1]):\n    print('held', flush=True); time.sleep(600)",
         str(store)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_store_in_use_by_another_run_is_refused_and_untouched(tmp_path):
    store = tmp_path / "run"
    gdfast.dask.denoise(IMAGE, store=store, max_iter=3, **RUN)
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*")}
    child = _holder(store)
    try:
        with pytest.raises(workdir.StoreInUse, match=rf"in use by another gdfast run \(pid "
                                                     rf"{child.pid} on host"):
            gdfast.dask.denoise(IMAGE[::-1].copy(), store=store, max_iter=3, **RUN)
        assert {p: p.stat().st_mtime_ns for p in store.rglob("*")} == before
    finally:
        child.kill()
        child.wait()
    # its holder killed, the lock is stale on this machine: the next run takes it over
    res = gdfast.dask.denoise(IMAGE, store=store, max_iter=3, **RUN)
    assert res.nit == 3 and not os.path.exists(workdir.lock_path(store))


def test_another_hosts_lock_is_never_taken(tmp_path):
    store = tmp_path / "run"
    with open(workdir.lock_path(store), "w") as fh:
        json.dump(dict(host="elsewhere", host_tag="00000000" if workdir.host_tag() != "0" * 8
                       else "11111111", pid=1, since="then"), fh)
    with pytest.raises(workdir.StoreInUse, match=r"host elsewhere .*remove .*gdfast-lock"):
        gdfast.dask.denoise(IMAGE, store=store, max_iter=3, **RUN)
    assert not store.exists()


def test_a_run_whose_store_was_taken_over_stops_without_writing(tmp_path):
    store = tmp_path / "run"
    gdfast.dask.denoise(IMAGE, store=store, max_iter=3, **RUN)
    record = workdir.read(str(store))
    with open(store / "gdfast.json", "w") as fh:        # another run's create()
        json.dump(dict(record, run="another"), fh)
    with pytest.raises(CheckpointError, match="now holds another run"):
        workdir.save(str(store), record)
    with open(store / "gdfast.json") as fh:
        assert json.load(fh)["run"] == "another"


def _paused(tmp_path):
    """A run stopped at max_iter=6, to resume."""
    store = tmp_path / "run"
    gdfast.dask.denoise(IMAGE, store=store, max_iter=6, **RUN)
    return store, workdir.read(str(store))


def _chunk_files(store, name):
    return sorted(p for p in (store / name).rglob("*") if p.is_file() and p.name != "zarr.json")


@pytest.mark.parametrize("array", ["u", "state", "f"])
def test_a_missing_chunk_is_never_resumed_from(tmp_path, array):
    store, record = _paused(tmp_path)
    name = {"u": f"u.{record['buffer']}", "state": f"momentum_buffer.{record['buffer']}",
            "f": "f"}[array]
    files = _chunk_files(store, name)
    files[1].unlink()                       # a scratch purge, a partial copy
    with pytest.raises(CheckpointError, match=rf"1 of the {len(files)} chunks of its array "
                                              rf"{name} are missing"):
        gdfast.dask.denoise(IMAGE, store=store, max_iter=9, resume=True, **RUN)


def test_a_missing_chunk_reads_as_nan_not_as_numbers(tmp_path):
    store, record = _paused(tmp_path)
    name = f"u.{record['buffer']}"
    (store / name / "c" / "0" / "0").unlink()
    import zarr
    array = zarr.open_group(str(store), mode="r")[name]
    rows, cols = array.chunks
    u = array[:]
    assert np.isnan(u[:rows, :cols]).all()
    assert np.isfinite(u[rows:]).all() and np.isfinite(u[:, cols:]).all()


@pytest.mark.parametrize("edit", [
    lambda r: r.update(nit=r["nit"] + 5),
    lambda r: r.update(buffer=1 - r["buffer"]),
    lambda r: r.update(fun_history=r["fun_history"][:-1]),
])
def test_a_hand_edited_record_is_refused(tmp_path, edit):
    store, record = _paused(tmp_path)
    edit(record)
    with open(store / "gdfast.json", "w") as fh:
        json.dump(record, fh)
    with pytest.raises(CheckpointError, match="was changed since gdfast wrote it"):
        gdfast.dask.denoise(IMAGE, store=store, max_iter=9, resume=True, **RUN)


@pytest.mark.parametrize("field, value", [
    ("nit", "six"), ("nit", -1), ("buffer", 7), ("chunk", None), ("fun_history", {}),
    ("ready", 1), ("run", 3),
])
def test_a_malformed_record_is_a_checkpoint_error(tmp_path, field, value):
    # a record with its digest made anew (as a careful forger would): still checked field by field
    store, record = _paused(tmp_path)
    record[field] = value
    record["sha256"] = workdir.record_digest(record)
    with open(store / "gdfast.json", "w") as fh:
        json.dump(record, fh)
    with pytest.raises(CheckpointError, match=f"the record's {field} must be"):
        gdfast.dask.denoise(IMAGE, store=store, max_iter=9, resume=True, **RUN)


def test_f_read_through_a_symlink_into_the_store_is_refused(tmp_path):
    store, record = _paused(tmp_path)
    alias = tmp_path / "alias"
    alias.symlink_to(store)
    f = da.from_zarr(str(alias / f"u.{record['buffer']}"))
    with pytest.raises(ValueError, match="inside .*the store"):
        gdfast.dask.denoise(f, store=store, max_iter=3, **RUN)
    assert workdir.read(str(store)) == record            # the store untouched


def test_the_lock_is_reentrant_and_released(tmp_path):
    store = tmp_path / "run"
    with workdir.locked(store):
        with workdir.locked(store):
            assert os.path.exists(workdir.lock_path(store))
        assert os.path.exists(workdir.lock_path(store))
        gdfast.dask.denoise(IMAGE, store=store, max_iter=3, **RUN)   # the holder's own run
    assert not os.path.exists(workdir.lock_path(store))


def test_a_cluster_without_workers_stops_the_run(tmp_path, monkeypatch):
    # issue 27 items 11-12: workers that all died were waited for forever
    import logging

    import distributed

    from gdfast.dask import denoising
    monkeypatch.setattr(denoising, "NO_WORKER_TIMEOUT", 1.0)
    monkeypatch.setattr(denoising, "WORKER_POLL", 0.2)
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as lc, \
            distributed.Client(lc):
        with pytest.raises(denoising.NoWorkers, match="no worker for 1 s"):
            gdfast.dask.denoise(IMAGE, store=tmp_path / "run", max_iter=3, **RUN)
