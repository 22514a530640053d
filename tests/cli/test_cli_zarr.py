"""`gdfast denoise` on zarr arrays (on a LocalCluster the command starts, on
loopback): the result is gdfast.denoise's in memory, bit for bit; integers
come back in their type; OUTPUT appears whole or not at all; Ctrl-C keeps the
work group and --resume goes on; paths that would destroy data are refused."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

import gdfast

VOLUME = np.random.default_rng(11).random((24, 20, 18))
RUN = ["--lam", "0.1", "--eps", "0.02", "--tol", "0", "--workers", "2", "--sweep", "3"]


def gdfast_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "gdfast", "denoise", *map(str, args)],
                          capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture
def group(tmp_path):
    root = zarr.open_group(str(tmp_path / "scan.zarr"), mode="w")
    root.create_array("raw", data=VOLUME, chunks=(8, 10, 9))
    root.create_array("counts", data=np.round(VOLUME * 65535).astype(np.uint16), chunks=(8, 20, 18))
    return tmp_path / "scan.zarr"


def test_a_dataset_in_a_group_denoised_beside_it_bit_for_bit(group):
    done = gdfast_cli(group / "raw", "-o", group / "tv", *RUN, "--max-iter", "10")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "LocalCluster of 2 workers" in done.stdout
    got = zarr.open_array(str(group / "tv"), mode="r")[...]
    want = gdfast.denoise(VOLUME, lam=0.1, eps=0.02, max_iter=10, tol=0).x
    assert np.array_equal(got, want)
    assert not os.path.exists(str(group / "tv") + ".gdfast-work")     # the work group is gone
    assert np.array_equal(zarr.open_array(str(group / "raw"), mode="r")[...], VOLUME)


def test_integers_are_scaled_and_written_back_in_their_type(group, tmp_path):
    out = tmp_path / "counts_tv.zarr"
    done = gdfast_cli(group / "counts", "-o", out, *RUN, "--max-iter", "6")
    assert done.returncode == 0, done.stderr
    got = zarr.open_array(str(out), mode="r")
    counts = np.round(VOLUME * 65535).astype(np.uint16)
    want = gdfast.denoise(counts / 65535.0, lam=0.1, eps=0.02, max_iter=6, tol=0).x
    assert got.dtype == np.uint16
    assert np.array_equal(got[...], np.clip(np.round(want * 65535), 0, 65535).astype(np.uint16))


def test_ctrl_c_keeps_the_work_group_and_resume_goes_on(group):
    out = group / "tv"
    args = [group / "raw", "-o", out, *RUN[:-1], "1", "--max-iter", "400"]
    run = subprocess.Popen([sys.executable, "-m", "gdfast", "denoise", *map(str, args)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = str(out) + ".gdfast-work"
    deadline = time.monotonic() + 300
    while not _swept(store):
        assert time.monotonic() < deadline and run.poll() is None, run.communicate()
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 130, stderr
    assert "--resume" in stderr and not out.exists() and os.path.isdir(store)
    done = gdfast_cli(*args, "--resume")
    assert done.returncode == 0, done.stderr
    want = gdfast.denoise(VOLUME, lam=0.1, eps=0.02, max_iter=400, tol=0).x
    assert np.array_equal(zarr.open_array(str(out), mode="r")[...], want)


def _swept(store):
    import json
    try:
        with open(os.path.join(store, "gdfast.json")) as fh:
            return json.load(fh)["nit"] >= 3
    except (OSError, ValueError, KeyError):
        return False


@pytest.mark.parametrize("output, extra, message", [
    ("scan.zarr/raw", [], "same folder"),                      # OUTPUT is INPUT
    ("scan.zarr", ["--force"], "same folder"),                 # OUTPUT holds INPUT
    ("out.zarr", ["--store", "{tmp}/scan.zarr/raw/work"], "same folder"),   # store in INPUT
    ("out.zarr", ["--store", "{tmp}/scan.zarr"], "same folder"),            # store holds it
    ("out.zarr", ["--store", "{tmp}/out.zarr/work"], "same folder"),        # in OUTPUT
    ("scan.zarr/counts", [], "exists"),
    ("out.npy", [], "must be a zarr array"),
    ("out.zarr", ["--workers", "0"], "--workers"),
    ("out.zarr", ["--memory-limit", "lots"], "--memory-limit"),
])
def test_paths_that_would_destroy_data_are_refused(group, tmp_path, output, extra, message):
    before = {p: os.path.getmtime(p) for p in map(str, group.rglob("*"))}
    extra = [e.format(tmp=tmp_path) for e in extra]
    done = gdfast_cli(group / "raw", "-o", tmp_path / output, *RUN[:-4], *extra,
                      "--max-iter", "2")
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert {p: os.path.getmtime(p) for p in map(str, group.rglob("*"))} == before
    assert not (tmp_path / "out.zarr").exists()


def test_a_group_as_input_names_its_datasets(group, tmp_path):
    done = gdfast_cli(group, "-o", tmp_path / "out.zarr", *RUN)
    assert done.returncode == 1 and "scan.zarr/counts" in done.stderr
