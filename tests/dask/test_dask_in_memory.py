"""gdfast.dask.denoise with the work in the workers' memory (gdfast.dask.resident).
The oracles: the in-memory gdfast.denoise (the iterate, bit for bit) and the
on-disk Dask path (in_memory=False: iterate, energies, counters and status,
bit for bit); on the LocalCluster of worker processes."""
import os
import signal
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest
import zarr

import gdfast
import gdfast.dask
from dask_records import killing_a_worker, progress_of, wait_for
from gdfast.checkpoint import CheckpointError
from gdfast.dask import denoising, resident, workdir

RNG = np.random.default_rng(20261207)
VOLUME = RNG.random((24, 20, 16))
IMAGE = RNG.random((30, 26))


def both_paths(f, chunks, store, **kw):
    """(in memory, on disk) runs of gdfast.dask.denoise on the same chunks."""
    runs = []
    for in_memory in (True, False):
        runs.append(gdfast.dask.denoise(da.from_array(f, chunks=chunks), chunks=None,
                                        store=os.path.join(store, f"run-{in_memory}"),
                                        in_memory=in_memory, **kw))
    return runs


def assert_same_run(got, want):
    assert np.array_equal(got.x.compute(), want.x.compute())
    for field in ("fun_history", "grad_norm_history"):
        assert np.array_equal(got[field], want[field]), field
    for field in ("nit", "nfev", "status", "sweeps", "sweep", "fun"):
        assert got[field] == want[field], field


@pytest.mark.parametrize("f, chunks, sweep, method", [
    (VOLUME, (7, 20, 16), 4, "momentum"),      # slabs: two faces
    (VOLUME, (12, 10, 16), 3, "adam"),         # pencils: edges' and corners' pieces too
    (IMAGE, (8, 6), 7, "nesterov"),            # halo deeper than a chunk: neighbours' neighbours
])
def test_the_in_memory_sweeps_are_the_on_disk_ones_bit_for_bit(client, tmp_path, f, chunks,
                                                               sweep, method):
    # 23 iterations: eps=None switches stage at 20, not at a sweep's end
    kw = dict(lam=0.1, eps=None, method=method, max_iter=23, tol=0, sweep=sweep)
    memory, disk = both_paths(f, chunks, str(tmp_path), **kw)
    assert memory.in_memory and not disk.in_memory
    assert_same_run(memory, disk)
    want = gdfast.denoise(f, lam=0.1, method=method, max_iter=23, tol=0)
    assert np.array_equal(memory.x.compute(), want.x)


def test_a_stopping_rule_inside_a_sweep_stops_where_the_on_disk_run_does(client, tmp_path):
    memory, disk = both_paths(IMAGE, (15, 26), str(tmp_path), lam=0.1, eps=0.02, tol=1e-4,
                              sweep=7)
    assert memory.status == "ftol" and memory.nit % 7 != 0
    assert_same_run(memory, disk)


def test_max_iter_0_is_f_and_the_first_energy(client, tmp_path):
    memory, disk = both_paths(VOLUME, (12, 20, 16), str(tmp_path), lam=0.1, eps=0.02,
                              max_iter=0)
    assert memory.nit == 0 and np.array_equal(memory.x.compute(), VOLUME)
    assert_same_run(memory, disk)


def test_checkpoints_every_n_sweeps_and_at_the_end_then_resume(client, tmp_path, monkeypatch):
    saved = []
    save = workdir.save

    def recording(path, record):
        if record.get("ready"):
            saved.append((record["nit"], record["buffer"]))
        save(path, record)

    monkeypatch.setattr(workdir, "save", recording)
    store = str(tmp_path / "run")
    kw = dict(lam=0.1, eps=0.02, tol=0, sweep=3, chunks=None)
    part = gdfast.dask.denoise(da.from_array(VOLUME, chunks=(12, 20, 16)), max_iter=15,
                               store=store, in_memory=True, checkpoint_every=2, **kw)
    # the start (f), sweeps 2 and 4 (iterates 6, 12), the end (15), buffers alternating
    assert saved == [(0, None), (6, 0), (12, 1), (15, 0)]
    assert part.nit == 15
    got = gdfast.dask.denoise(VOLUME, max_iter=27, store=store, resume=True, in_memory=True,
                              **kw)
    want = gdfast.dask.denoise(da.from_array(VOLUME, chunks=(12, 20, 16)), max_iter=27,
                               store=str(tmp_path / "disk"), in_memory=False, **kw)
    assert got.nit == 27 and np.array_equal(got.x.compute(), want.x.compute())
    assert np.array_equal(got.fun_history, want.fun_history)


RUN = dict(lam=0.1, eps=0.02, max_iter=60, tol=0, sweep=2, chunks=None)


@pytest.mark.slow
def test_a_worker_killed_changes_no_bit(client, tmp_path):
    store = str(tmp_path / "run")
    want = gdfast.denoise(VOLUME, **{k: v for k, v in RUN.items() if k not in ("sweep",
                                                                               "chunks")})
    with killing_a_worker(client, store, 8) as killed:
        got = gdfast.dask.denoise(da.from_array(VOLUME, chunks=(6, 20, 16)), store=store,
                                  in_memory=True, checkpoint_every=4, **RUN)
    assert killed and killed[0] < RUN["max_iter"]
    assert got.in_memory and np.array_equal(got.x.compute(), want.x)
    assert killed[1] not in client.run(os.getpid).values()


CLIENT = textwrap.dedent("""
    import sys, numpy as np, distributed, gdfast.dask
    volume = np.random.default_rng(20261207).random((24, 20, 16))
    with distributed.Client(sys.argv[2]):
        res = gdfast.dask.denoise(volume, 0.1, 0.02, max_iter=60, tol=0, store=sys.argv[1],
                                  sweep=2, chunks=(12, 20, 16), in_memory=True,
                                  checkpoint_every=2)
    print(res.status, res.nit, res.in_memory)
""")


def test_a_client_killed_or_interrupted_resumes_bit_for_bit(client, tmp_path):
    want = gdfast.dask.denoise(da.from_array(VOLUME, chunks=(12, 20, 16)),
                               store=str(tmp_path / "disk"), in_memory=False, **RUN)
    for how in (signal.SIGKILL, signal.SIGINT):
        store = str(tmp_path / f"run-{how.name}")
        other = subprocess.Popen([sys.executable, "-c", CLIENT, store, client.scheduler.address],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(store, 4)
        other.send_signal(how)
        out, err = other.communicate(timeout=120)
        if how == signal.SIGINT:                # stops after the sweep, checkpointed
            assert other.returncode == 0, err
            status, nit, in_memory = out.split()
            assert status == "interrupted" and in_memory == "True"
            assert progress_of(store) == int(nit) < RUN["max_iter"]
        else:
            assert other.returncode == -signal.SIGKILL
        assert 4 <= progress_of(store) < RUN["max_iter"]
        got = gdfast.dask.denoise(VOLUME, store=store, resume=True, in_memory=True,
                                  **{**RUN, "chunks": None})
        assert got.nit == RUN["max_iter"]
        assert np.array_equal(got.x.compute(), want.x.compute()), how
        assert np.array_equal(got.fun_history, want.fun_history)


def test_auto_follows_the_workers_memory_limits(client, tmp_path):
    def workers(*limits):
        return [dict(memory_limit=m, nthreads=1) for m in limits]

    # 64^3, momentum: f's tiles, the iterate and momentum twice, two tasks' tiles
    shape, chunk, halo = (64,) * 3, (32, 64, 64), 9
    tile = (32 + 2 * halo) * 64 * 64
    need = 8 * (64 ** 3 * tile / (32 * 64 * 64) * 5 + 2 * tile * 5)
    room = 1.001 * need / denoising.IN_MEMORY_SHARE / 2 + denoising.WORKER_BASELINE
    assert denoising.holds_in_memory(workers(room, room), shape, chunk, halo, 1)
    assert not denoising.holds_in_memory(workers(room, 0.9 * room), shape, chunk, halo, 1)
    assert not denoising.holds_in_memory(workers(room, 0), shape, chunk, halo, 1)
    assert not denoising.holds_in_memory([], shape, chunk, halo, 1)
    got = gdfast.dask.denoise(VOLUME, 0.1, 0.02, max_iter=2, store=tmp_path / "run",
                              in_memory="auto")
    assert got.in_memory                    # the cluster's limits: a share of this machine's RAM
    got = gdfast.dask.denoise(VOLUME, 0.1, 0.02, max_iter=2, store=tmp_path / "default")
    assert not got.in_memory                # not the default yet (gdfast.dask.denoise)


def test_without_a_client_the_on_disk_path(tmp_path):
    got = gdfast.dask.denoise(VOLUME, 0.1, 0.02, max_iter=2, store=tmp_path / "run",
                              in_memory="auto")
    assert not got.in_memory
    with pytest.raises(ValueError, match="in_memory=True needs a distributed Client"):
        gdfast.dask.denoise(VOLUME, 0.1, 0.02, store=tmp_path / "other", in_memory=True)
    assert not os.path.exists(tmp_path / "other")


@pytest.mark.parametrize("kw, name", [(dict(in_memory="yes"), "in_memory"),
                                      (dict(checkpoint_every=0), "checkpoint_every"),
                                      (dict(checkpoint_every=2.5), "checkpoint_every")])
def test_bad_arguments_name_themselves_and_create_nothing(tmp_path, kw, name):
    with pytest.raises((ValueError, TypeError), match=name):
        gdfast.dask.denoise(VOLUME, 0.1, 0.02, store=tmp_path / "run", **kw)
    assert not os.path.exists(tmp_path / "run")


def test_a_load_from_a_replaced_checkpoint_is_a_checkpoint_error(tmp_path):
    store = str(tmp_path / "run")
    gdfast.dask.denoise(VOLUME, 0.1, 0.02, max_iter=3, sweep=3, store=store,
                        chunks=(12, 20, 16))           # on disk (no client): buffer 0
    record = workdir.read(store)
    place = resident.place_of(store, record["run"])
    zarr.open_array(store, path="u.0", mode="r+").attrs[resident.TOKEN] = "a"
    part = resident.load_part(place, VOLUME.shape, (12, 20, 16), (1, 0, 0), 0,
                              ["momentum_buffer"], "a")
    assert np.array_equal(part.u, zarr.open_array(store, path="u.0")[12:])
    zarr.open_array(store, path="u.0", mode="r+").attrs[resident.TOKEN] = "b"
    with pytest.raises(CheckpointError, match="no longer holds the checkpoint"):
        resident.load_part(place, VOLUME.shape, (12, 20, 16), (1, 0, 0), 0,
                           ["momentum_buffer"], "a")
