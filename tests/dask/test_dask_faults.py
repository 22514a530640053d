"""Faults of a distributed run: a worker killed during a sweep, the client
killed or interrupted. The oracle: the in-memory gdfast.denoise, bit for bit."""
import os
import signal
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest

import gdfast
import gdfast.dask
from dask_records import killing_a_worker, progress_of, wait_for

VOLUME = np.random.default_rng(7).random((40, 36, 30))
RUN = dict(lam=0.1, eps=0.02, max_iter=60, tol=0)


@pytest.mark.slow
def test_a_worker_killed_during_a_sweep_changes_no_bit(client, tmp_path):
    store = str(tmp_path / "run")
    want = gdfast.denoise(VOLUME, **RUN)
    with killing_a_worker(client, store, 9) as killed:
        got = gdfast.dask.denoise(da.from_array(VOLUME, chunks=(10, 12, 30)), store=store,
                                  sweep=3, chunks=None, in_memory=False, **RUN)
    assert killed and killed[0] < RUN["max_iter"]      # killed while the run went on
    assert np.array_equal(got.x.compute(), want.x)
    assert killed[1] not in client.run(os.getpid).values()


CLIENT = textwrap.dedent("""
    import sys, numpy as np, gdfast.dask
    volume = np.random.default_rng(7).random((40, 36, 30))
    res = gdfast.dask.denoise(volume, 0.1, 0.02, max_iter=60, tol=0, store=sys.argv[1],
                              sweep=2, chunks=(10, 36, 30))
    print(res.status, res.nit)
""")


def test_a_client_killed_or_interrupted_resumes_bit_for_bit(tmp_path):
    want = gdfast.denoise(VOLUME, **RUN)
    for how in (signal.SIGKILL, signal.SIGINT):
        store = str(tmp_path / f"run-{how.name}")
        client = subprocess.Popen([sys.executable, "-c", CLIENT, store], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        wait_for(store, 6)
        client.send_signal(how)
        out, err = client.communicate(timeout=120)
        if how == signal.SIGINT:                # stops after the sweep in progress
            assert client.returncode == 0, err
            status, nit = out.split()
            assert status == "interrupted" and int(nit) < RUN["max_iter"]
        else:
            assert client.returncode == -signal.SIGKILL
        stopped_at = progress_of(store)
        assert 6 <= stopped_at < RUN["max_iter"]
        got = gdfast.dask.denoise(VOLUME, store=store, resume=True, chunks=None, **RUN)
        assert got.nit == RUN["max_iter"]
        assert np.array_equal(got.x.compute(), want.x), how
        np.testing.assert_allclose(got.fun_history, want.fun_history, rtol=1e-13)
