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


@pytest.mark.slow
def test_a_dataset_in_a_group_denoised_beside_it_bit_for_bit(group):
    done = gdfast_cli(group / "raw", "-o", group / "tv", *RUN, "--max-iter", "10")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "LocalCluster of 2 workers" in done.stdout
    got = zarr.open_array(str(group / "tv"), mode="r")[...]
    want = gdfast.denoise(VOLUME, lam=0.1, eps=0.02, max_iter=10, tol=0).x
    assert np.array_equal(got, want)
    assert not os.path.exists(str(group / "tv") + ".gdfast-work")     # the work group is gone
    assert np.array_equal(zarr.open_array(str(group / "raw"), mode="r")[...], VOLUME)


@pytest.mark.slow
def test_integers_are_scaled_and_written_back_in_their_type(group, tmp_path):
    out = tmp_path / "counts_tv.zarr"
    done = gdfast_cli(group / "counts", "-o", out, *RUN, "--max-iter", "6")
    assert done.returncode == 0, done.stderr
    got = zarr.open_array(str(out), mode="r")
    counts = np.round(VOLUME * 65535).astype(np.uint16)
    want = gdfast.denoise(counts / 65535.0, lam=0.1, eps=0.02, max_iter=6, tol=0).x
    assert got.dtype == np.uint16
    assert np.array_equal(got[...], np.clip(np.round(want * 65535), 0, 65535).astype(np.uint16))


@pytest.mark.slow
def test_ctrl_c_keeps_the_work_group_and_resume_goes_on(group):
    # 100 sweeps of one iteration: Ctrl-C lands after the third, long before
    # the last (400 made the resumed run 4x as long for nothing more)
    out = group / "tv"
    args = [group / "raw", "-o", out, *RUN[:-1], "1", "--max-iter", "100"]
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
    want = gdfast.denoise(VOLUME, lam=0.1, eps=0.02, max_iter=100, tol=0).x
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
    ("out.zarr", ["--memory-limit", "100MB"], "--memory-limit must be at least"),  # 27.12
    ("out.zarr", ["--memory-limit", "1kB"], "--memory-limit must be at least"),
    ("out.zarr", ["--checkpoint", "{tmp}/run.npz"], "--checkpoint is for image files"),  # 27.22
])
@pytest.mark.slow
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


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_stops_after_the_sweep_with_the_resume_hint(group):
    # issue 27 item 11: a terminal's Ctrl-C reaches the whole process group,
    # the LocalCluster's workers too; they died and the client waited forever
    out = group / "tv"
    args = [group / "raw", "-o", out, *RUN[:-1], "1", "--max-iter", "400"]
    run = subprocess.Popen([sys.executable, "-m", "gdfast", "denoise", *map(str, args)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)            # its own process group
    store = str(out) + ".gdfast-work"
    deadline = time.monotonic() + 300
    while not _swept(store):
        assert time.monotonic() < deadline and run.poll() is None, run.communicate()
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)
    try:
        stdout, stderr = run.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        raise AssertionError("no exit 120 s after Ctrl-C") from None
    assert run.returncode == 130, stderr
    assert "--resume" in stderr and not out.exists() and os.path.isdir(store)


@pytest.mark.parametrize("dtype", [bool, np.complex128, np.int64])
@pytest.mark.slow
def test_types_it_cannot_take_are_refused_before_the_cluster_starts(group, tmp_path, dtype):
    # issue 27 item 18
    zarr.open_group(str(group), mode="r+").create_array("odd", data=np.zeros((8, 8), dtype))
    done = gdfast_cli(group / "odd", "-o", tmp_path / "out.zarr", *RUN)
    assert done.returncode == 1, done.stderr
    assert "expected integers of up to 32 bits or floats" in done.stderr
    assert "Traceback" not in done.stderr and "LocalCluster" not in done.stdout


@pytest.mark.slow
def test_a_store_in_use_is_refused_in_one_line(group, tmp_path):
    # issue 27 item 1: a second run on the same work group
    from gdfast.dask import workdir
    store = str(tmp_path / "out.zarr") + ".gdfast-work"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from gdfast.dask import workdir\n"
         "with workdir.locked(sys.argv[1]):\n    print('held', flush=True); time.sleep(600)",
         store], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = gdfast_cli(group / "raw", "-o", tmp_path / "out.zarr", *RUN)
        assert done.returncode == 1 and "in use by another gdfast run" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert os.path.exists(workdir.lock_path(store)) and not (tmp_path / "out.zarr").exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_float32_comes_back_as_float32(group):
    # issue 27 item 22: image files keep their type, zarr arrays too
    zarr.open_group(str(group), mode="r+").create_array("f32", data=VOLUME.astype(np.float32),
                                                       chunks=(8, 10, 9))
    done = gdfast_cli(group / "f32", "-o", group / "tv32", *RUN, "--max-iter", "4")
    assert done.returncode == 0, done.stderr
    got = zarr.open_array(str(group / "tv32"), mode="r")[...]
    want = gdfast.denoise(VOLUME.astype(np.float32).astype(np.float64), lam=0.1, eps=0.02,
                          max_iter=4, tol=0).x
    assert got.dtype == np.float32 and np.array_equal(got, want.astype(np.float32))


@pytest.mark.parametrize("consolidated", [False, True])
@pytest.mark.slow
def test_output_in_a_zarr_v2_group_is_written_in_v2(tmp_path, consolidated):
    # issue 27 item 5: OME-Zarr 0.4 is zarr v2; a v3 array there is invisible to v2 readers
    path = str(tmp_path / "v2group.zarr")
    root = zarr.open_group(path, mode="w", zarr_format=2)
    root.create_array("raw", data=VOLUME, chunks=(8, 10, 9))
    if consolidated:
        zarr.consolidate_metadata(path, zarr_format=2)
    done = gdfast_cli(f"{path}/raw", "-o", f"{path}/tv", *RUN, "--max-iter", "4")
    assert done.returncode == 0, done.stderr
    assert os.path.isfile(f"{path}/tv/.zarray") and not os.path.exists(f"{path}/tv/zarr.json")
    group = zarr.open_group(path, mode="r", zarr_format=2, use_consolidated=consolidated)
    assert sorted(group.array_keys()) == ["raw", "tv"]
    want = gdfast.denoise(VOLUME, lam=0.1, eps=0.02, max_iter=4, tol=0).x
    assert np.array_equal(group["tv"][...], want)


def test_an_output_folder_that_cannot_be_written_is_found_before_the_run(group,
                                                                        unwritable_folder):
    # issue 27 item 16: found only after the whole run
    done = gdfast_cli(group / "raw", "-o", os.path.join(unwritable_folder, "out.zarr"), *RUN)
    assert done.returncode == 1 and "cannot write OUTPUT" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "LocalCluster" not in done.stdout


def test_an_unreachable_scheduler_is_one_line(group, tmp_path, capsys, monkeypatch):
    # issue 27 item 16: a traceback after 30 s
    from gdfast.cli import main, zarr_denoise
    monkeypatch.setattr(zarr_denoise, "SCHEDULER_TIMEOUT", 1)
    code = main(["denoise", str(group / "raw"), "-o", str(tmp_path / "out.zarr"), *RUN[:-4],
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("gdfast denoise: error: Timed out trying to connect")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out.zarr").exists()
