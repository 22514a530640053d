"""gdfast.minimize's checkpoints, on both loops: checkpoint=, checkpoint_every=,
resume=, the fingerprint of a run, and every way a checkpoint file can be wrong.
The objective and the helpers are in minimize_runs.py."""
import io
import json
import os
import shutil

import numpy as np
import pytest
from minimize_runs import (
    LOOPS,
    OPTIMIZERS,
    ROUGH_PYTHON,
    TRAJECTORY,
    N,
    adam,
    args_of,
    assert_same,
    momentum,
    rough,
    run,
)

import gdfast
from gdfast.checkpoint import CheckpointError, fingerprint_of, load_checkpoint
from gdfast.schedules import inverse_time_decay

# --- checkpoints ----------------------------------------------------------------------

def dying(after, fun=ROUGH_PYTHON):
    """fun, but evaluation number ``after`` raises RuntimeError (a killed run)."""
    calls = [0]

    def f(x, g, *args):
        calls[0] += 1
        if calls[0] == after:
            raise RuntimeError("killed")
        return fun(x, g, *args)
    return f


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.slow
def test_a_killed_run_resumes_bit_for_bit(opt, ck, tmp_path):
    make_opt = OPTIMIZERS[opt]
    bad = (3, 4) if opt == "momentum" else ()     # skipped steps before the kill are kept
    kw = dict(on_nonfinite="skip", max_skips=3, max_iter=60, gtol=0.0)
    full = run("python", make_opt, bad=bad, **kw)
    assert full.status == "max_iter" and full.nskipped == len(bad)

    # evaluation 40 + len(bad) is at x_39, so it dies with 38 iterations
    # complete; the last checkpoint is the one at nit = 30
    with pytest.raises(RuntimeError, match="killed"):
        gdfast.minimize(dying(40 + len(bad)), np.zeros(N), make_opt(), jac="inplace",
                        args=args_of(bad), checkpoint=ck, checkpoint_every=10, **kw)
    meta, arrays = load_checkpoint(ck)
    assert meta["counters"] == dict(nit=30, nfev=31 + len(bad), nskipped=len(bad))
    assert meta["t"] == 30
    assert np.array_equal(arrays["fun_history"], full.fun_history[:31])
    copy = tmp_path / "copy.npz"
    shutil.copyfile(ck, copy)

    res = run("python", make_opt, checkpoint=ck, checkpoint_every=10, resume=True, **kw)
    assert_same(res, full, TRAJECTORY + ("status", "nskipped"))
    assert res.nfev == full.nfev + 1          # the evaluation at x_30 made to resume

    # the nopython loop goes on from the Python loop's checkpoint with the same bits
    res = run("nopython", make_opt, checkpoint=copy, resume=True, **kw)
    assert_same(res, full, TRAJECTORY + ("status", "nskipped"))
    assert res.nfev == full.nfev + 1


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_a_run_stopped_by_max_iter_goes_on_with_a_larger_max_iter(loop, opt, ck):
    make_opt = OPTIMIZERS[opt]
    full = run(loop, make_opt, max_iter=60)
    part = run(loop, make_opt, max_iter=23, checkpoint=ck)
    assert part.nit == 23 and load_checkpoint(ck)[0]["counters"]["nit"] == 23
    res = run(loop, make_opt, max_iter=60, checkpoint=ck, resume=True)
    assert_same(res, full, TRAJECTORY + ("status", "nskipped"))
    assert res.nfev == full.nfev + 1

    # in several legs
    ck.unlink()
    for max_iter in (10, 25, 41, 60):
        res = run(loop, make_opt, max_iter=max_iter, checkpoint=ck, resume=ck.exists())
    assert_same(res, full, TRAJECTORY + ("status", "nskipped"))
    assert res.nfev == full.nfev + 3


@pytest.mark.parametrize("loop", LOOPS)
def test_resuming_with_a_smaller_max_iter_takes_no_step(loop, ck):
    # max_iter is "the most optimizer steps": a run that already took 30
    # must not go on when resumed with max_iter=10 (this one would run until
    # gtol fires, a few hundred steps later)
    first = run(loop, momentum, max_iter=30, checkpoint=ck)
    for max_iter in (30, 10):
        res = run(loop, momentum, max_iter=max_iter, gtol=1e-8, checkpoint=ck, resume=True)
        assert (res.status, res.nit) == ("max_iter", 30), f"resumed with max_iter={max_iter}"
        assert_same(res, first, TRAJECTORY)


@pytest.mark.parametrize("loop", LOOPS)
def test_checkpoint_pauses_change_no_number(loop, ck):
    plain = run(loop, on_nonfinite="skip", bad=(5, 12), max_iter=50)
    saved = run(loop, on_nonfinite="skip", bad=(5, 12), max_iter=50, checkpoint=ck,
                checkpoint_every=7)
    assert_same(saved, plain)
    meta, arrays = load_checkpoint(ck)
    assert meta["kind"] == "minimize" and meta["t"] == 50
    assert meta["counters"] == dict(nit=50, nfev=saved.nfev, nskipped=2)
    assert arrays["x"].tobytes() == saved.x.tobytes()
    assert arrays["fun_history"].tobytes() == saved.fun_history.tobytes()
    assert arrays["grad_norm_history"].tobytes() == saved.grad_norm_history.tobytes()


@pytest.fixture
def saved_run(ck):
    """A checkpoint of 5 steps of Adam with a schedule (Python loop) and its bytes."""
    run("python", max_iter=5, checkpoint=ck)
    return ck, ck.read_bytes()


@pytest.mark.parametrize("what,change", [
    ("lr", dict(opt=lambda: gdfast.Adam(lr=inverse_time_decay(0.04, 10)))),
    ("lr", dict(opt=lambda: gdfast.Adam(lr=inverse_time_decay(0.05, 11)))),
    ("lr", dict(opt=lambda: gdfast.Adam(lr=0.05))),
    ("hyper", dict(opt=lambda: gdfast.Adam(lr=inverse_time_decay(0.05, 10), betas=(0.8, 0.999)))),
    ("hyper", dict(opt=lambda: gdfast.Adam(lr=inverse_time_decay(0.05, 10), eps=1e-7))),
    ("rule", dict(opt=lambda: gdfast.Adam(lr=inverse_time_decay(0.05, 10), amsgrad=True))),
    ("optimizer", dict(opt=lambda: gdfast.SGD(lr=inverse_time_decay(0.05, 10), momentum=0.9))),
    ("optimizer", dict(opt=lambda: gdfast.NAdam(lr=inverse_time_decay(0.05, 10)))),
    ("start_sha256", dict(x0=np.full(N, 0.25))),
    ("start_sha256", dict(x0=np.r_[np.zeros(N - 1), 1e-300])),
    ("shape", dict(x0=np.zeros((6, 8)))),
])
def test_resuming_another_run_is_an_error_naming_what_differs(saved_run, what, change):
    ck, before = saved_run
    x0 = change.get("x0", np.zeros(N))
    opt = change.get("opt", adam)()
    fun = ((lambda x, g, *a: rough.py_func(x.ravel(), g.ravel(), *a)) if x0.ndim > 1
           else rough.py_func)
    with pytest.raises(CheckpointError, match=what) as err:
        gdfast.minimize(fun, x0, opt, jac="inplace", args=args_of(), max_iter=10,
                        checkpoint=ck, resume=True)
    assert "different run" in str(err.value)
    assert ck.read_bytes() == before          # the checkpoint is left as it was


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _rewritten(data, meta=None, drop=(), raw_meta=None, **replace):
    """The checkpoint bytes ``data`` with meta changed (a dict update, or
    raw_meta: another string), members dropped or replaced."""
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: z[k] for k in z.files}
    m = json.loads(str(arrays["meta"]))
    m.update(meta or {})
    arrays["meta"] = np.array(json.dumps(m) if raw_meta is None else raw_meta)
    arrays.update(replace)
    for k in drop:
        del arrays[k]
    return _npz(**arrays)


def _flip(data, i, mask=0xFF):
    b = bytearray(data)
    b[i] ^= mask
    return bytes(b)


def _npz_to_npy():
    buf = io.BytesIO()
    np.save(buf, np.zeros(N))
    return buf.getvalue()


BROKEN = {
    "truncated-half": lambda d: d[:len(d) // 2],
    "truncated-tail": lambda d: d[:-7],
    "truncated-to-one-byte": lambda d: d[:1],
    "byte-flipped-in-the-middle": lambda d: _flip(d, len(d) // 2),
    "bit-flipped-in-the-middle": lambda d: _flip(d, len(d) // 2 + 3, 0x10),
    "empty": lambda d: b"",
    "text": lambda d: b"these are not the arrays you are looking for\n" * 20,
    "zeros": lambda d: bytes(len(d)),
    "npy-not-npz": lambda d: _npz_to_npy(),
    "npz-of-other-arrays": lambda d: _npz(a=np.arange(5.0)),
    "npz-without-meta": lambda d: _rewritten(d, drop=("meta",)),
    "npz-without-x": lambda d: _rewritten(d, drop=("x",)),
    "npz-without-state": lambda d: _rewritten(d, drop=("state.exp_avg_sq",)),
    "meta-not-json": lambda d: _rewritten(d, raw_meta="{not json"),
    "meta-other-format": lambda d: _rewritten(d, meta=dict(format="something-else")),
    "meta-other-version": lambda d: _rewritten(d, meta=dict(version=2)),
    "meta-other-kind": lambda d: _rewritten(d, meta=dict(kind="denoise")),
    "x-of-another-shape": lambda d: _rewritten(d, x=np.array([7.0])),
    "x-of-another-dtype": lambda d: _rewritten(d, x=np.zeros(N, np.float32)),
    "state-of-another-shape": lambda d: _rewritten(d, **{"state.exp_avg": np.zeros(N + 1)}),
    "history-too-short": lambda d: _rewritten(d, fun_history=np.zeros(2),
                                              grad_norm_history=np.zeros(2)),
}


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_broken_checkpoint_is_a_checkpoint_error_never_a_silent_restart(saved_run, broken,
                                                                           loop):
    ck, good = saved_run
    bad = BROKEN[broken](good)
    ck.write_bytes(bad)
    with pytest.raises(CheckpointError):
        run(loop, max_iter=10, checkpoint=ck, resume=True)
    assert ck.read_bytes() == bad             # nothing written over it


@pytest.mark.slow
def test_every_flipped_byte_is_caught_or_harmless(saved_run, tmp_path):
    """Each byte of a checkpoint XOR 0x01 and XOR 0xFF: resuming either raises
    CheckpointError or reads back exactly what was saved (a flip in a field
    nobody reads, e.g. a zip timestamp)."""
    ck, good = saved_run
    meta0, arrays0 = load_checkpoint(ck)
    fingerprint = fingerprint_of(adam(), np.zeros(N))
    bad = tmp_path / "flipped.npz"
    failures = []
    for i in range(len(good)):
        for mask in (0x01, 0xFF):
            bad.write_bytes(_flip(good, i, mask))
            try:
                # what minimize(resume=True) reads first; a CheckpointError
                # here is one there
                meta, arrays = load_checkpoint(bad, "minimize", fingerprint)
            except CheckpointError:
                continue
            except Exception as err:        # noqa: BLE001 - this is what is looked for
                failures.append(f"byte {i} ^ {mask:#04x}: {type(err).__name__}: {err}")
                continue
            same = meta == meta0 and arrays.keys() == arrays0.keys() and all(
                arrays[k].dtype == arrays0[k].dtype and arrays[k].shape == arrays0[k].shape
                and arrays[k].tobytes() == arrays0[k].tobytes() for k in arrays0)
            if not same:
                try:
                    run("python", max_iter=10, checkpoint=bad, resume=True)
                    failures.append(f"byte {i} ^ {mask:#04x}: resumed from changed data")
                except CheckpointError:
                    pass
                except Exception as err:    # noqa: BLE001
                    failures.append(f"byte {i} ^ {mask:#04x}: {type(err).__name__}: {err}")
    assert not failures, (f"{len(failures)} of {2 * len(good)} flips not reported as "
                          "CheckpointError:\n" + "\n".join(failures[:12]))


def test_a_flipped_bit_in_the_header_of_a_large_member_is_caught(tmp_path):
    """Members over 4 KiB are read in parts: a flip in a member's .npy header
    is met before zip's CRC is checked (at the member's end, which a header
    that says "shorter" never reaches). Each must still be a CheckpointError."""
    n = 1000
    ck = tmp_path / "big.npz"

    def fun(x, g):
        np.subtract(x, 1.0, out=g)
        return float(g @ g)

    kw = dict(jac="inplace", max_iter=3, checkpoint=ck)
    gdfast.minimize(fun, np.zeros(n), "adam", **kw)
    good = ck.read_bytes()
    header = good.index(b"{'descr': '<f8'", good.index(b"x.npy"))
    shape = good.index(b"(1000,)", header) + 1
    flips = {"shape (0000,)": (shape, 0x01), "shape (100 ,)": (shape + 3, 0x10),
             "'{' -> 'z'": (header, 0x01), "'<f8' -> ',f8'": (header + 11, 0x10)}
    failures = []
    for name, (i, mask) in flips.items():
        ck.write_bytes(_flip(good, i, mask))
        try:
            gdfast.minimize(fun, np.zeros(n), "adam", resume=True, **kw)
            failures.append(f"{name}: resumed")
        except CheckpointError:
            pass
        except Exception as err:            # noqa: BLE001 - this is what is looked for
            failures.append(f"{name}: {type(err).__name__}: {err}")
    assert not failures, "\n".join(failures)


def test_missing_checkpoint_and_resume_without_one(ck):
    with pytest.raises(FileNotFoundError, match="run.npz"):
        run("python", max_iter=5, checkpoint=ck, resume=True)
    assert not ck.exists()
    with pytest.raises(ValueError, match="checkpoint"):
        run("python", max_iter=5, resume=True)
    with pytest.raises(TypeError, match="checkpoint"):
        run("python", max_iter=5, checkpoint=3)
    with pytest.raises(ValueError, match="checkpoint_every"):
        run("python", max_iter=5, checkpoint=ck, checkpoint_every=-1)


@pytest.mark.parametrize("loop", LOOPS)
def test_checkpoints_are_written_atomically_and_replace_an_older_one(loop, tmp_path,
                                                                    monkeypatch):
    folder = tmp_path / "runs"
    folder.mkdir()
    ck = folder / "run.npz"
    # a file that is not a gdfast checkpoint is never replaced (issue 19), and
    # the refusal comes before any work
    ck.write_bytes(b"somebody's file, not a checkpoint")
    with pytest.raises(ValueError, match="is not a gdfast checkpoint"):
        run(loop, max_iter=20, checkpoint=ck, checkpoint_every=3)
    assert ck.read_bytes() == b"somebody's file, not a checkpoint"
    ck.unlink()
    run(loop, x0=np.full(N, 0.25), max_iter=2, checkpoint=ck)      # an older checkpoint
    res = run(loop, max_iter=20, checkpoint=ck, checkpoint_every=3)
    assert os.listdir(folder) == ["run.npz"]
    meta, arrays = load_checkpoint(ck)
    assert meta["counters"]["nit"] == 20 and arrays["x"].tobytes() == res.x.tobytes()

    # a checkpoint of another run is replaced too (resume=False starts afresh)
    res = run(loop, x0=np.full(N, 0.5), max_iter=4, checkpoint=ck)
    meta, arrays = load_checkpoint(ck)
    assert meta["counters"]["nit"] == 4 and arrays["x"].tobytes() == res.x.tobytes()
    assert os.listdir(folder) == ["run.npz"]

    # a write that fails on the way leaves the previous checkpoint and no debris
    before = ck.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        run(loop, max_iter=6, checkpoint=ck)
    monkeypatch.undo()
    assert ck.read_bytes() == before
    assert os.listdir(folder) == ["run.npz"]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("mode", ["stop", "skip", "raise"])
def test_a_non_finite_stop_keeps_the_last_good_checkpoint(loop, mode, ck):
    kw = dict(x_limit=0.5, on_nonfinite=mode, max_skips=2, max_iter=500, checkpoint=ck,
              checkpoint_every=5)
    if mode == "raise":
        with pytest.raises(FloatingPointError):
            run(loop, **kw)
        nit = run(loop, x_limit=0.5, max_iter=500).nit
    else:
        res = run(loop, **kw)
        assert res.status == {"stop": "non-finite", "skip": "max_skips"}[mode]
        nit = res.nit
    last = 5 * (nit // 5)
    assert last > 0
    meta, arrays = load_checkpoint(ck)
    assert meta["counters"] == dict(nit=last, nfev=last + 1, nskipped=0)
    ref = run(loop, max_iter=last)
    assert arrays["x"].tobytes() == ref.x.tobytes()
    assert arrays["fun_history"].tobytes() == ref.fun_history.tobytes()
    # and it goes on as the run did
    res = run(loop, x_limit=0.5, on_nonfinite="stop", max_iter=500, checkpoint=ck, resume=True)
    assert res.status == "non-finite" and res.nit == nit
