"""Out of core: f, the iterate and the state together several times the
workers' memory limits, every worker's peak memory under its limit, and the
result the in-memory run's to the bit."""
import logging
import os
import pathlib
import shutil
import tempfile

import dask.array as da
import distributed
import numpy as np
import pytest
import zarr

import gdfast
import gdfast.dask

LIMIT = 500 * 2**20          # per worker; 2 workers
SHAPE = (512, 512, 512)      # 1 GiB a float64 array


def peak_rss():
    """The worker process's peak resident memory in bytes: Linux's VmHWM
    (ru_maxrss would carry the spawning process's peak across exec)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))


@pytest.fixture
def store_folder(tmp_path):
    """A folder for f and the work group: in /dev/shm when it has room (the
    claim is about the workers' memory, not the disk: on tmpfs the 4 GiB of
    writes do not wait for the disk's synced writes), else tmp_path."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and shutil.disk_usage(shm).free > 8 * 2**30:
        folder = tempfile.mkdtemp(prefix="gdfast-out-of-core-", dir=shm)
        try:
            yield pathlib.Path(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path


@pytest.mark.slow
def test_a_volume_three_times_the_workers_memory_is_denoised_under_their_limits(store_folder):
    tmp_path = store_folder
    source = zarr.create_array(str(tmp_path / "f.zarr"), shape=SHAPE, chunks=(64, 64, 64),
                               dtype="f8", compressors=None)
    for k in range(0, SHAPE[0], 64):
        source[k:k + 64] = np.random.default_rng(k).random((64, *SHAPE[1:]))
    working_set = 3 * np.prod(SHAPE) * 8            # f, the iterate, the momentum buffer
    assert working_set >= 3 * 2 * LIMIT
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  memory_limit=LIMIT, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        got = gdfast.dask.denoise(da.from_zarr(source), 0.1, 0.02, max_iter=4, tol=0,
                                  store=tmp_path / "run", sweep=2)
        peaks = client.run(peak_rss)
        assert client.run(os.getpid) == pids                   # no worker was restarted
    assert max(peaks.values()) < LIMIT, peaks
    result = got.x.compute(scheduler="threads")       # read back from the store here
    want = gdfast.denoise(source[...], lam=0.1, eps=0.02, max_iter=4, tol=0)
    assert np.array_equal(result, want.x)
