"""The library side of issue 19 ("nothing lost, nothing silent"): each test
reproduces one report against gdfast's API, and passes now.

- a checkpoint never overwrites a file that is not a checkpoint, is never
  written with NaN or inf, and a diverging run never replaces a good one;
- resuming denoise with a smaller max_iter returns the checkpoint's result;
- denoise refuses, before any step, parameters that cannot give a finite energy;
- Optimizer.step refuses x or g that share memory with the state;
- minimize_batch names batch_args when fun's arity does not fit, and stops
  on Ctrl-C between chunks of rows, the finished rows bit for bit;
- minimize refuses a bool f and strings in x0;
- gdfast._files: up-front writability, recognisable temporaries, stale ones
  removed, errors naming the user's path; the streamed .npy writer.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from numba import njit

import gdfast
from gdfast._files import (
    STALE_AGE,
    check_can_write,
    check_distinct,
    host_tag,
    remove_stale_temporaries,
    temporary_name,
    write_atomically,
)
from gdfast.checkpoint import load_checkpoint, save_checkpoint
from gdfast.cli.image_files import Picture
from gdfast.images import add_noise, synthetic_image
from gdfast.problems import exp_decay_initial_guess, exp_decay_stack, exp_decay_value_and_grad


@pytest.fixture(scope="module")
def f():
    return add_noise(synthetic_image(40), 0.1, seed=6)


# checkpoints

@pytest.mark.parametrize("run", ["denoise", "minimize"])
def test_a_checkpoint_never_overwrites_another_file(tmp_path, f, run):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG not a checkpoint")
    with pytest.raises(ValueError, match="not a gdfast checkpoint"):
        if run == "denoise":
            gdfast.denoise(f, 0.1, max_iter=3, tol=0.0, checkpoint=photo)
        else:
            gdfast.minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), max_iter=3,
                            checkpoint=photo)
    assert photo.read_bytes() == b"\x89PNG not a checkpoint"


def test_a_checkpoint_is_never_written_with_nan_or_inf(tmp_path):
    path = tmp_path / "run.npz"
    opt = gdfast.Adam()
    x = np.ones(4)
    state = opt.init(x)
    hist = dict(fun_history=np.zeros(1), grad_norm_history=np.zeros(1))
    assert save_checkpoint(path, "minimize", {}, x, state, dict(nit=0, nfev=1, nskipped=0), hist)
    good = path.read_bytes()
    for where in ("x", "exp_avg_sq"):
        bad_x, bad_state = x.copy(), opt.init(x)
        (bad_x if where == "x" else bad_state["exp_avg_sq"])[2] = np.inf
        assert not save_checkpoint(path, "minimize", {}, bad_x, bad_state,
                                   dict(nit=0, nfev=1, nskipped=0), hist)
        assert path.read_bytes() == good


def test_a_diverging_denoise_never_replaces_a_good_checkpoint(tmp_path, f):
    """Plain descent with a step 1e10 too long: |u| grows ~1e10-fold per
    step, E overflows long before u does, so u_k is finite where E(u_k) is
    not: such an iterate must not become the checkpoint. (Here E(u_15) is
    the last finite energy and u_16 is finite: the checkpoint due at 16 must
    not be written.)"""
    path = tmp_path / "run.npz"
    res = gdfast.denoise(f, 0.1, method=gdfast.SGD(lr=1e10), tol=0.0, max_iter=200,
                         checkpoint=path, checkpoint_every=4)
    assert res.status == "non-finite" and res.nit < 200
    meta, arrays = load_checkpoint(path)
    k = meta["counters"]["nit"]
    assert k % 4 == 0 and 0 < k <= res.nit
    again = gdfast.denoise(f, 0.1, method=gdfast.SGD(lr=1e10), tol=0.0, max_iter=k)
    assert again.status == "max_iter" and np.isfinite(again.fun)     # a good iterate
    assert arrays["x"].tobytes() == again.x.tobytes()


def test_resume_with_a_smaller_max_iter_returns_the_checkpoint(tmp_path, f):
    path = tmp_path / "run.npz"
    full = gdfast.denoise(f, 0.1, tol=0.0, max_iter=40, checkpoint=path)
    calls = []

    def watchdog(r):                  # before the fix the run went on for ever
        calls.append(r.nit)
        if len(calls) > 3:
            raise RuntimeError(f"ran on past max_iter: iteration {r.nit}")
    res = gdfast.denoise(f, 0.1, tol=0.0, max_iter=20, checkpoint=path, resume=True,
                         callback=watchdog)
    assert res.status == "max_iter" and res.nit == 40
    assert res.x.tobytes() == full.x.tobytes() and res.fun == full.fun
    assert np.array_equal(res.fun_history, full.fun_history)
    meta, arrays = load_checkpoint(path)
    assert meta["counters"]["nit"] == 40 and arrays["x"].tobytes() == full.x.tobytes()
    with_clean = gdfast.denoise(f, 0.1, tol=0.0, max_iter=40, clean=f, checkpoint=path)
    res = gdfast.denoise(f, 0.1, tol=0.0, max_iter=10, clean=f, checkpoint=path, resume=True)
    assert res.nit == 40 and np.array_equal(res.psnr_history, with_clean.psnr_history)


# energies that cannot be finite

@pytest.mark.parametrize("lam,eps,scale,match", [
    (1e308, 0.03, 1.0, "overflows float64"),
    (0.1, 0.03, 1e160, "rescale f"),
    (0.1, 1e308, 1.0, "eps must be in"),
    (0.1, 1e-200, 1.0, "eps must be in"),
])
def test_denoise_refuses_what_cannot_give_a_finite_energy(f, lam, eps, scale, match):
    g = f * scale
    before = g.copy()
    with pytest.raises(ValueError, match=match):
        gdfast.denoise(g, lam, eps, max_iter=5)
    assert np.array_equal(g, before)


def test_the_eps_range_is_where_eps_squared_is_normal():
    from gdfast._denoise import EPS_MAX, EPS_MIN
    assert EPS_MIN * EPS_MIN >= sys.float_info.min and np.isfinite(EPS_MAX * EPS_MAX)
    assert (EPS_MIN / 2) * (EPS_MIN / 2) < sys.float_info.min
    assert not np.isfinite((EPS_MAX * 2) * (EPS_MAX * 2))


# Optimizer.step and shared memory

@pytest.mark.parametrize("make", [lambda: gdfast.SGD(lr=0.1, momentum=0.9), gdfast.Adam,
                                  gdfast.Adagrad])
@pytest.mark.parametrize("which", ["x is a state array", "x views a state array",
                                   "g is a state array", "g views a state array"])
def test_step_refuses_x_or_g_sharing_memory_with_the_state(make, which):
    opt = make()
    x, g = np.linspace(-1, 1, 8), np.full(8, 0.5)
    state = opt.init(x)
    opt.step(x, g, state)
    a = state.arrays[-1]
    bad = a if "is a" in which else a.reshape(2, 4).ravel()
    args = (bad, g) if which.startswith("x") else (x, bad)
    snapshot = [b.copy() for b in (x, g, *state.arrays)]
    with pytest.raises(ValueError, match=f"{which[0]} shares memory with state"):
        opt.step(*args, state)
    assert state.t == 1
    assert all(np.array_equal(b, s) for b, s in zip((x, g, *state.arrays), snapshot))


def test_step_takes_arrays_apart_from_the_state_as_before():
    opt = gdfast.Adam()
    parts = np.zeros((3, 8))
    x, g = parts[0], parts[1]                # views of one buffer, apart from the state
    state = opt.init(x)
    g[:] = 1.0
    opt.step(x, g, state)
    ref, ref_state = np.zeros(8), opt.init(np.zeros(8))
    opt.step(ref, np.ones(8), ref_state)
    assert x.tobytes() == ref.tobytes()


# minimize_batch

def test_minimize_batch_names_batch_args_when_fun_wants_more():
    t, Y, _ = exp_decay_stack((4, 4))
    with pytest.raises(TypeError, match="batch_args") as err:
        gdfast.minimize_batch(exp_decay_value_and_grad, exp_decay_initial_guess(Y), args=(t,),
                              max_iter=10)
    assert "TypingError" not in str(err.value) and "4 parameters" in str(err.value)


@njit
def _takes_a_scalar_row(x, g, y):
    g[:] = 2.0 * x
    return float(np.sum(x * x)) + y.shape[3]        # y is 1-D: no 4th axis


def test_minimize_batch_reports_other_compile_errors_in_one_sentence():
    with pytest.raises(TypeError, match="fun could not be compiled") as err:
        gdfast.minimize_batch(_takes_a_scalar_row, np.ones((3, 2)), batch_args=(np.ones((3, 2)),))
    assert "numba says" in str(err.value)


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_minimize_batch_in_chunks_is_bit_for_bit_one_call(monkeypatch, method):
    import gdfast._batch as batch
    t, Y, _ = exp_decay_stack((16, 16), seed=2)
    X0 = exp_decay_initial_guess(Y)
    kw = dict(method=method, batch_args=(Y,), args=(t,), max_iter=200)
    whole = gdfast.minimize_batch(exp_decay_value_and_grad, X0, **kw)
    monkeypatch.setattr(batch, "CHUNK_SECONDS", 1e-9)     # chunks of the least size,
    monkeypatch.setattr(batch, "FIRST_STEPS", 1)          # of one iteration at first
    chunked = gdfast.minimize_batch(exp_decay_value_and_grad, X0, **kw)
    for k in ("x", "fun", "nit", "status"):
        assert np.array_equal(whole[k], chunked[k]), k


def test_minimize_batch_stops_on_ctrl_c_between_chunks(tmp_path):
    """A real SIGINT to a process running a long batch: it returns soon, the
    problems not finished are 'interrupted' where they are (x their start for
    those not begun), and the rest are bit for bit those of an uninterrupted
    call."""
    out = tmp_path / "res.npz"
    script = textwrap.dedent(f"""
        import sys, numpy as np, gdfast
        from gdfast.problems import (exp_decay_stack, exp_decay_initial_guess,
                                     exp_decay_value_and_grad)
        t, Y, _ = exp_decay_stack((256, 256), seed=3)
        X0 = exp_decay_initial_guess(Y)
        gdfast.minimize_batch(exp_decay_value_and_grad, X0[:8], "adam", batch_args=(Y[:8],),
                              args=(t,), max_iter=5)           # compile first
        print("ready", flush=True)
        r = gdfast.minimize_batch(exp_decay_value_and_grad, X0, "adam", batch_args=(Y,),
                                  args=(t,), max_iter=100000, gtol=0.0)
        np.savez({str(out)!r}, x=r.x, fun=r.fun, nit=r.nit, status=r.status.astype(str))
        print("done", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    import time
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("minimize_batch did not stop within 60 s of Ctrl-C")
    assert proc.returncode == 0, stderr
    r = np.load(out)
    stopped = r["status"] == "interrupted"
    assert stopped.any() and (~stopped).any()
    t, Y, _ = exp_decay_stack((256, 256), seed=3)
    X0 = exp_decay_initial_guess(Y)
    begun = stopped & (r["nit"] > 0)                  # the chunk in progress
    waiting = stopped & ~begun
    assert waiting.any()
    assert np.array_equal(r["x"][waiting], X0[waiting]) and np.isnan(r["fun"][waiting]).all()
    for i in np.flatnonzero(begun)[:4]:               # where they were: max_iter=nit's x
        ref = gdfast.minimize_batch(exp_decay_value_and_grad, X0[i:i + 1], "adam",
                                    batch_args=(Y[i:i + 1],), args=(t,),
                                    max_iter=int(r["nit"][i]), gtol=0.0)
        assert np.array_equal(ref.x[0], r["x"][i]) and ref.fun[0] == r["fun"][i]
    done = np.flatnonzero(~stopped)[:64]              # rows are independent problems
    ref = gdfast.minimize_batch(exp_decay_value_and_grad, X0[done], "adam",
                                batch_args=(Y[done],), args=(t,), max_iter=100000, gtol=0.0)
    assert np.array_equal(ref.x, r["x"][done]) and np.array_equal(ref.nit, r["nit"][done])


def test_minimize_batch_answers_ctrl_c_inside_long_rows():
    """issue 27 item 13: a few rows of millions of iterations each: Ctrl-C
    was answered only once a whole chunk of rows had finished (23 s here)."""
    script = textwrap.dedent("""
        import json, os, signal, threading, time, gdfast
        from gdfast.problems import (exp_decay_stack, exp_decay_initial_guess,
                                     exp_decay_value_and_grad)
        t, Y, _ = exp_decay_stack((2, 2), seed=3)
        X0 = exp_decay_initial_guess(Y)
        kw = dict(method="adam", batch_args=(Y,), args=(t,), gtol=0.0)
        gdfast.minimize_batch(exp_decay_value_and_grad, X0, max_iter=3, **kw)
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        start = time.perf_counter()
        r = gdfast.minimize_batch(exp_decay_value_and_grad, X0,
                                  max_iter=3_000_000, **kw)
        print(json.dumps([time.perf_counter() - start, r.status.tolist(), r.nit.tolist()]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    seconds, status, nit = json.loads(done.stdout)
    assert seconds < 5.0, done.stdout                   # about 1 s: the signal, then 0.1 s
    assert status == ["interrupted"] * 4 and 0 < min(nit) and max(nit) < 3_000_000


# minimize's input

def test_minimize_refuses_a_bool_f():
    for jac in (True, "3-point"):
        fun = (lambda x: (True, 2 * x)) if jac is True else (lambda x: True)
        with pytest.raises(TypeError, match="fun must return a real number, got the bool"):
            gdfast.minimize(fun, [1.0, 2.0], jac=jac, max_iter=2)


@pytest.mark.parametrize("x0", [["1", "2"], [True, False], np.array([True]), [b"1"]])
def test_minimize_refuses_x0_that_is_not_numbers(x0):
    with pytest.raises(TypeError, match="x0 must"):
        gdfast.minimize(lambda x: (float(x @ x), 2 * x), x0, max_iter=2)


def test_minimize_still_takes_python_ints_of_any_size_that_fit():
    res = gdfast.minimize(lambda x: (float(x @ x), 2 * x), [1, 2**70], max_iter=0)
    assert res.x.tolist() == [1.0, 2.0**70]
    with pytest.raises(ValueError, match="x0 must hold only finite"):
        gdfast.minimize(lambda x: (float(x @ x), 2 * x), [1, 10**400], max_iter=0)


# gdfast._files

def test_write_errors_name_the_users_path(tmp_path):
    target = tmp_path / "missing" / "out.npy"
    with pytest.raises(FileNotFoundError) as err:
        write_atomically(target, lambda fh: fh.write(b"x"), overwrite=False)
    assert err.value.filename == str(target) and "gdfast-tmp" not in str(err.value)


def test_a_failed_write_leaves_nothing(tmp_path):
    def broken(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space"):
        write_atomically(tmp_path / "out.npy", broken, overwrite=False)
    assert os.listdir(tmp_path) == []


def test_check_can_write_leaves_nothing_behind(tmp_path):
    check_can_write(tmp_path / "out.png", "OUTPUT", overwrite=False)
    assert os.listdir(tmp_path) == []
    (tmp_path / "out.png").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        check_can_write(tmp_path / "out.png", "OUTPUT", overwrite=False)


def _dead_pid():
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()


def test_stale_temporaries_only_of_dead_writers_and_older_than_the_run(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".a.npy.gdfast-tmp-h{host_tag()}-{dead}-deadbeef"
    mine = tmp_path / f".b.npy.gdfast-tmp-h{host_tag()}-{os.getpid()}-deadbeef"
    for p in (stale, mine):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path, older_than=0.0) == []      # all newer than that
    assert remove_stale_temporaries(tmp_path) == [stale.name]
    assert mine.exists() and not stale.exists()


def test_another_hosts_temporaries_are_kept_on_a_shared_folder(tmp_path):
    # issue 27 item 2: a pid of another machine says nothing here
    dead = _dead_pid()
    other = "0" * 8 if host_tag() != "0" * 8 else "1" * 8
    theirs = tmp_path / f".out.npy.gdfast-tmp-h{other}-{dead}-deadbeef"
    unnamed = tmp_path / f".old.npy.gdfast-tmp-{dead}-deadbeef"          # no host: older gdfast
    for p in (theirs, unnamed):
        p.write_bytes(b"in progress")
    assert remove_stale_temporaries(tmp_path) == []
    later = time.time() + STALE_AGE + 60                                # a week on
    assert set(remove_stale_temporaries(tmp_path, older_than=later)) == {theirs.name, unnamed.name}


def test_a_dead_writers_temporary_folder_is_removed(tmp_path):
    # issue 27 item 19: a zarr OUTPUT's temporary is a folder
    left = tmp_path / f".out.zarr.gdfast-tmp-h{host_tag()}-{_dead_pid()}-0123abcd"
    (left / "c" / "0").mkdir(parents=True)
    (left / "c" / "0" / "0").write_bytes(b"x" * 100)
    os.utime(left, (time.time() - 10,) * 2)
    assert remove_stale_temporaries(tmp_path) == [left.name]
    assert not left.exists()


def test_temporary_names_fit_in_name_max(tmp_path):
    # issue 27 item 16: a legal name of 255 bytes
    for name in ("a" * 255, "é" * 127 + "b"):
        tmp = os.path.basename(temporary_name(tmp_path / name))
        assert len(os.fsencode(tmp)) <= 255
        open(tmp_path / tmp, "wb").close()
        assert remove_stale_temporaries(tmp_path, older_than=time.time() + 1) == []  # mine: alive


def test_check_distinct_sees_through_links(tmp_path):
    a = tmp_path / "a.npy"
    a.write_bytes(b"x")
    (tmp_path / "s.npz").symlink_to(a)
    os.link(a, tmp_path / "h.npz")
    for other in ("s.npz", "h.npz", "./a.npy"):
        with pytest.raises(ValueError, match="same file"):
            check_distinct([("INPUT", a), ("--checkpoint", tmp_path / other)])
    check_distinct([("INPUT", a), ("OUTPUT", tmp_path / "b.npy"), ("--checkpoint", None)])


PICTURES = {
    "gray float64": lambda r: Picture([r.random((5, 6))], np.dtype(np.float64), "gray"),
    "gray uint16": lambda r: Picture([r.random((5, 6))], np.dtype(np.uint16), "gray"),
    "rgb uint8 + alpha": lambda r: Picture([r.random((5, 6)) for _ in range(3)],
                                           np.dtype(np.uint8), "rgb",
                                           r.integers(0, 255, (5, 6), dtype=np.uint8)),
    "volume float32": lambda r: Picture([r.random((3, 5, 6))], np.dtype(np.float32), "volume"),
    "pages uint8": lambda r: Picture([r.random((5, 6)) for _ in range(4)], np.dtype(np.uint8),
                                     "pages"),
}


@pytest.mark.parametrize("kind", PICTURES)
def test_the_streamed_npy_is_the_file_np_save_writes(tmp_path, kind, monkeypatch):
    import gdfast.cli.image_files as image_files
    monkeypatch.setattr(image_files, "_CHUNK_ELEMENTS", 7)       # many small chunks
    pic = PICTURES[kind](np.random.default_rng(1))
    write_atomically(tmp_path / "a.npy", pic.write_npy, overwrite=False)
    np.save(tmp_path / "b.npy", pic.stored_array())
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    stored = np.load(tmp_path / "a.npy")
    assert stored.shape == pic.shape and stored.dtype == pic.dtype
    if pic.layout == "pages":
        expected = np.stack([np.rint(p * 255).astype(np.uint8) for p in pic.planes])
        assert np.array_equal(stored, expected)


# issue 27 items 20-22: checkpoints read only what they need, hold only finite numbers,
# are saved at every end, and stay where their symbolic link points

def _small_checkpoint(path):
    opt = gdfast.Adam()
    x = np.ones(4)
    state = opt.init(x)
    hist = dict(fun_history=np.zeros(1), grad_norm_history=np.zeros(1))
    fingerprint = dict(shape=[4])
    assert save_checkpoint(path, "minimize", fingerprint, x, state,
                           dict(nit=0, nfev=1, nskipped=0), hist)
    return fingerprint


def test_a_member_the_run_does_not_need_is_never_read(tmp_path):
    import tracemalloc
    import zipfile
    path = tmp_path / "run.npz"
    _small_checkpoint(path)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (1 << 27,)                  # claims 1 GiB of float64
    with zipfile.ZipFile(path, "a") as archive, archive.open("extra.npy", "w") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)
    tracemalloc.start()
    meta, arrays = load_checkpoint(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "extra" not in arrays and peak < 16 << 20
    assert arrays["x"].tolist() == [1.0] * 4


def test_a_needed_member_larger_than_the_run_is_refused(tmp_path):
    import zipfile
    path = tmp_path / "run.npz"
    _small_checkpoint(path)
    meta, arrays = load_checkpoint(path)
    big = tmp_path / "big.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(big, "w") as dst:
        for info in src.infolist():
            if info.filename == "x.npy":
                with dst.open("x.npy", "w") as fh:
                    np.lib.format.write_array(fh, np.ones(1 << 10))
            else:
                dst.writestr(info, src.read(info))
    with pytest.raises(gdfast.checkpoint.CheckpointError,
                       match="member x holds .* more than the 4"):
        load_checkpoint(big)


@pytest.mark.parametrize("where", ["x", "state.exp_avg"])
def test_a_crafted_checkpoint_with_nan_is_refused(tmp_path, where):
    path = tmp_path / "run.npz"
    _small_checkpoint(path)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays[where] = arrays[where].copy()
    arrays[where][1] = np.nan
    np.savez(path, **arrays)
    with pytest.raises(gdfast.checkpoint.CheckpointError, match=f"{where} holds NaN or inf"):
        load_checkpoint(path)


def test_a_run_stopped_by_tol_saves_its_end_and_resumes_with_a_smaller_tol(tmp_path, f):
    path = tmp_path / "run.npz"
    first = gdfast.denoise(f, 0.1, eps=0.01, tol=1e-3, checkpoint=path)
    assert first.status == "ftol"
    meta, _ = load_checkpoint(path)
    assert meta["counters"]["nit"] in (first.nit, first.nit + 1)     # the step taken past it
    went_on = gdfast.denoise(f, 0.1, eps=0.01, tol=1e-6, checkpoint=path, resume=True)
    whole = gdfast.denoise(f, 0.1, eps=0.01, tol=1e-6)
    assert whole.nit > first.nit and went_on.nit == whole.nit
    assert went_on.x.tobytes() == whole.x.tobytes()            # as if run with tol=1e-6 at once


def test_a_symlinked_checkpoint_stays_a_link(tmp_path, f):
    target = tmp_path / "store" / "run.npz"
    target.parent.mkdir()
    gdfast.denoise(f, 0.1, max_iter=2, tol=0.0, checkpoint=target)
    link = tmp_path / "run.npz"
    link.symlink_to(target)
    gdfast.denoise(f, 0.1, max_iter=4, tol=0.0, checkpoint=link)
    assert link.is_symlink() and target.is_file()
    meta, _ = load_checkpoint(link)
    assert meta["counters"]["nit"] == 4


@pytest.mark.parametrize("method", ["nesterov", "momentum"])
def test_a_resume_that_takes_no_step_leaves_its_checkpoint_alone(tmp_path, f, method):
    # issue 28 item 2: every such resume rewrote it with nfev one higher
    path = tmp_path / "c.npz"
    full = gdfast.denoise(f, 0.1, method=method, tol=0, max_iter=30, checkpoint=path)
    saved = path.read_bytes()
    for _ in range(2):
        again = gdfast.denoise(f, 0.1, method=method, tol=0, max_iter=10, checkpoint=path,
                               resume=True)
        assert path.read_bytes() == saved
        assert (again.nit, again.nfev) == (full.nit, full.nfev)
        assert again.x.tobytes() == full.x.tobytes()
