"""gdfast.minimize's reliability features, on both of its loops.

* on_nonfinite='skip' / max_skips / nskipped (optax.apply_if_finite), and
  'stop' / 'raise';
* checkpoints: checkpoint=, checkpoint_every=, resume=, the fingerprint of a
  run, and every way a checkpoint file can be wrong;
* Ctrl-C (SIGINT): the first stops the run after the iteration in progress,
  the second raises KeyboardInterrupt, the handler comes back;
* the memory the Python loop holds.

One objective serves every test: ``rough`` is a numba @njit function
``fun(x, g, *args) -> f`` (jac='inplace'), so minimize runs it in compiled
code (the nopython loop); ``rough.py_func``, the same body as plain Python,
forces the Python loop. The two loops must give the same bits. One objective
and two optimizers keep the number of compilations of the nopython loop
(about a second or two each) at two.
"""
import gc
import io
import json
import os
import shutil
import signal
import threading
import tracemalloc

import numpy as np
import pytest
from numba import njit

import gdfast
from gdfast.checkpoint import CheckpointError, fingerprint_of, load_checkpoint
from gdfast.schedules import inverse_time_decay

N = 48
C = np.linspace(2.0, -1.5, N)          # c[0] = 2: x[0] climbs from 0 towards 2
INF = float("inf")
NAN_IN_G, NAN_IN_F, INF_IN_G = 0.0, 1.0, 2.0


@njit
def rough(x, g, c, count, bad, p):
    """f = sum_j w_j d_j^2 + d_j^4 / 4 with d = x - c, w_j = 1 + j / n; g = df/dx.

    count[0] counts the evaluations (the first is number 1). Evaluation number
    k in ``bad`` returns a non-finite value of the kind p[2] (0: NaN in g,
    1: NaN in f, 2: +inf in g); every evaluation from number p[0] on has
    f = NaN (a run that breaks for good); f = NaN wherever x[0] > p[1] (a
    region where f is undefined). Otherwise deterministic.
    """
    count[0] += 1
    k = count[0]
    n = x.size
    f = 0.0
    for j in range(n):
        d = x[j] - c[j]
        w = 1.0 + j / n
        d2 = d * d
        f += w * d2 + 0.25 * d2 * d2
        g[j] = 2.0 * w * d + d2 * d
    for b in bad:
        if b == k:
            if p[2] == 0.0:
                g[k % n] = np.nan
            elif p[2] == 1.0:
                f = np.nan
            else:
                g[(3 * k) % n] = np.inf
    if k >= p[0] or x[0] > p[1]:
        f = np.nan
    return f


ROUGH_PYTHON = getattr(rough, "py_func", rough)       # no py_func under NUMBA_DISABLE_JIT
FUNS = {"python": ROUGH_PYTHON, "nopython": rough}
LOOPS = list(FUNS)


def args_of(bad=(), nan_from=INF, x_limit=INF, kind=NAN_IN_G, c=C):
    """The args of rough, with a fresh evaluation counter."""
    return (c, np.zeros(1, np.int64), np.array(bad, dtype=np.int64),
            np.array([nan_from, x_limit, kind]))


def adam():
    """Adam with a schedule, so the step count t matters."""
    return gdfast.Adam(lr=inverse_time_decay(0.05, 10))


def momentum():
    return gdfast.SGD(lr=0.01, momentum=0.9)


OPTIMIZERS = {"adam": adam, "momentum": momentum}


def run(loop, make_opt=adam, x0=None, bad=(), nan_from=INF, x_limit=INF, kind=NAN_IN_G,
        c=C, **kw):
    kw.setdefault("gtol", 0.0)
    x0 = np.zeros(c.size) if x0 is None else x0
    res = gdfast.minimize(FUNS[loop], x0, make_opt(), jac="inplace",
                          args=args_of(bad, nan_from, x_limit, kind, c), **kw)
    assert res.nopython == (loop == "nopython")
    return res


ARRAYS = ("x", "fun", "jac", "fun_history", "grad_norm_history")
TRAJECTORY = ("x", "fun", "jac", "nit", "fun_history", "grad_norm_history")
EVERYTHING = TRAJECTORY + ("status", "nfev", "nskipped")


def assert_same(a, b, keys=EVERYTHING):
    """a[k] and b[k] bit for bit (arrays: same shape and bytes)."""
    for k in keys:
        if k in ARRAYS:
            x, y = np.asarray(a[k], np.float64), np.asarray(b[k], np.float64)
            assert x.shape == y.shape, f"{k}: shape {x.shape} != {y.shape}"
            assert x.tobytes() == y.tobytes(), f"{k}: {a[k]!r} != {b[k]!r}"
        else:
            assert a[k] == b[k], f"{k}: {a[k]!r} != {b[k]!r}"


@pytest.fixture
def ck(tmp_path):
    return tmp_path / "run.npz"


# --- on_nonfinite='skip' ------------------------------------------------------------

@pytest.mark.parametrize("kind", [NAN_IN_G, NAN_IN_F, INF_IN_G], ids=["nan-g", "nan-f", "inf-g"])
@pytest.mark.parametrize("loop", LOOPS)
def test_skipped_evaluations_change_no_number_of_the_run(loop, kind):
    # evaluation 1 is at x0, 9 and 10 are two in a row (at the same x)
    bad = (1, 4, 9, 10, 17)
    clean = run(loop, max_iter=40)
    res = run(loop, bad=bad, kind=kind, on_nonfinite="skip", max_skips=3, max_iter=40)
    assert clean.status == res.status == "max_iter" and clean.nskipped == 0
    assert_same(res, clean, TRAJECTORY)
    assert res.nskipped == len(bad)
    assert res.nfev == clean.nfev + len(bad)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("make_opt", [adam, momentum], ids=["adam", "momentum"])
def test_fewer_than_max_skips_in_a_row_go_on_exactly_max_skips_stop(loop, make_opt):
    clean = run(loop, make_opt, max_iter=30)
    below = run(loop, make_opt, bad=(10, 11), on_nonfinite="skip", max_skips=3, max_iter=30)
    assert_same(below, clean, TRAJECTORY + ("status",))
    assert below.nskipped == 2 and below.nfev == clean.nfev + 2

    # evaluation 10 is at x_9: three NaNs there stop the run at x_8
    res = run(loop, make_opt, bad=(10, 11, 12), on_nonfinite="skip", max_skips=3, max_iter=30)
    ref = run(loop, make_opt, max_iter=8)
    assert res.status == "max_skips" and not res.success
    assert res.nit == 8 and res.nskipped == 3
    assert_same(res, ref, TRAJECTORY)
    # x_0 .. x_8, three failing evaluations at x_9, x_8 once more for its gradient
    assert res.nfev == 9 + 3 + 1


@pytest.mark.parametrize("loop", LOOPS)
def test_max_skips_one_stops_at_the_first_non_finite_value(loop):
    res = run(loop, bad=(6,), on_nonfinite="skip", max_skips=1, max_iter=30)
    assert (res.status, res.nit, res.nskipped) == ("max_skips", 4, 1)
    assert_same(res, run(loop, max_iter=4), TRAJECTORY)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_region_where_f_is_nan_stops_with_max_skips_at_the_last_finite_iterate(loop):
    res = run(loop, x_limit=0.5, on_nonfinite="skip", max_skips=4, max_iter=500)
    assert res.status == "max_skips" and res.nskipped == 4
    assert 0 < res.nit < 500 and res.x[0] <= 0.5
    ref = run(loop, max_iter=res.nit)
    assert ref.status == "max_iter" and ref.x[0] <= 0.5
    assert_same(res, ref, TRAJECTORY)
    assert res.nfev == ref.nfev + 4 + 1


@pytest.mark.parametrize("loop", LOOPS)
def test_an_objective_that_breaks_for_good_returns_the_last_finite_iterate_and_f(loop):
    # evaluations 12, 13, 14 ... are NaN: evaluation 12 is at x_11, so the run
    # stops at x_10, whose f was finite (it is fun_history[-1])
    res = run(loop, nan_from=12, on_nonfinite="skip", max_skips=3, max_iter=100)
    ref = run(loop, max_iter=10)
    # three in a row, and the evaluation at x_10 made to get its gradient back
    assert res.status == "max_skips" and res.nit == 10 and res.nskipped == 4
    assert_same(res, ref, ("x", "nit", "fun_history", "grad_norm_history"))
    # the result's f is f(x) of the last finite iterate, as the message says
    assert np.isfinite(res.fun) and res.fun == res.fun_history[-1] == ref.fun, (
        f"fun = {res.fun!r} after status {res.status!r} ({res.message}); "
        f"f at that x was {ref.fun!r}")


SCENARIOS = {
    "scattered": dict(bad=(1, 4, 9, 10, 17)),
    "three-in-a-row": dict(bad=(10, 11, 12)),
    "at-x0": dict(bad=(1,)),
    "at-x0-for-good": dict(nan_from=1),
    "region": dict(x_limit=0.5),
    "for-good": dict(nan_from=15),
}


@pytest.mark.parametrize("mode", ["skip", "stop"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_both_loops_give_the_same_result_on_non_finite_values(scenario, mode):
    kw = dict(SCENARIOS[scenario], on_nonfinite=mode, max_skips=3, max_iter=60)
    python, compiled = run("python", **kw), run("nopython", **kw)
    assert python.status in {"max_iter", "max_skips", "non-finite"}
    assert_same(compiled, python)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_skips=0), ValueError, "max_skips"),
    (dict(max_skips=-3), ValueError, "max_skips"),
    (dict(max_skips=2.5), TypeError, "max_skips"),
    (dict(max_skips=3.0), TypeError, "max_skips"),
    (dict(max_skips="3"), TypeError, "max_skips"),
    (dict(max_skips=True), TypeError, "max_skips"),
    (dict(max_skips=None), TypeError, "max_skips"),
    (dict(max_skips=0, on_nonfinite="stop"), ValueError, "max_skips"),
    (dict(on_nonfinite="bogus"), ValueError, "on_nonfinite"),
    (dict(on_nonfinite="SKIP"), ValueError, "on_nonfinite"),
    (dict(on_nonfinite=None), ValueError, "on_nonfinite"),
])
def test_bad_on_nonfinite_and_max_skips(kwargs, error, match):
    kwargs.setdefault("on_nonfinite", "skip")
    calls = []
    with pytest.raises(error, match=match):
        gdfast.minimize(lambda x, g: calls.append(1) or 0.0, np.zeros(3), "adam",
                        jac="inplace", **kwargs)
    assert calls == []


# --- on_nonfinite='stop' (the default) and 'raise' --------------------------------------

@pytest.mark.parametrize("loop", LOOPS)
def test_stop_returns_the_last_finite_iterate_and_raise_raises(loop):
    # evaluation 7 is at x_6: the run stops at x_5
    res = run(loop, bad=(7,), max_iter=30)
    assert res.status == "non-finite" and not res.success and res.nit == 5
    assert_same(res, run(loop, max_iter=5), TRAJECTORY)
    assert res.nfev == 6 + 1 + 1
    res = run(loop, bad=(1,), max_iter=30)
    assert res.status == "non-finite" and res.nit == 0 and np.all(res.x == 0.0)
    with pytest.raises(FloatingPointError, match="non-finite"):
        run(loop, bad=(7,), max_iter=30, on_nonfinite="raise")
    with pytest.raises(FloatingPointError, match="non-finite"):
        run(loop, x_limit=0.5, max_iter=500, on_nonfinite="raise")


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
    fun = (lambda x, g, *a: rough.py_func(x.ravel(), g.ravel(), *a)) if x0.ndim > 1 else rough.py_func
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


# --- Ctrl-C ---------------------------------------------------------------------------

def interrupting(at, times=1, fun=ROUGH_PYTHON):
    """fun, but evaluation number ``at`` sends SIGINT to the process ``times`` times."""
    calls = [0]

    def f(x, g, *args):
        calls[0] += 1
        if calls[0] == at:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return fun(x, g, *args)
    return f


@pytest.mark.parametrize("at", [1, 2, 13])
def test_ctrl_c_in_the_python_loop_stops_after_the_step_and_resumes(at, ck):
    before = signal.getsignal(signal.SIGINT)
    full = run("python", max_iter=40)
    res = gdfast.minimize(interrupting(at), np.zeros(N), adam(), jac="inplace",
                          args=args_of(), max_iter=40, gtol=0.0, checkpoint=ck,
                          checkpoint_every=100)
    assert signal.getsignal(signal.SIGINT) is before
    # evaluation ``at`` is at x_(at-1): that iteration is completed
    assert (res.status, res.nit, res.success) == ("interrupted", at - 1, False)
    ref = run("python", max_iter=at - 1)
    assert_same(res, ref, TRAJECTORY + ("nfev", "nskipped"))
    meta, arrays = load_checkpoint(ck)
    assert meta["counters"]["nit"] == at - 1 and arrays["x"].tobytes() == res.x.tobytes()

    res = run("python", max_iter=40, checkpoint=ck, resume=True)
    assert_same(res, full, TRAJECTORY + ("status", "nskipped"))
    assert res.nfev == full.nfev + 1


def test_a_second_ctrl_c_raises_keyboard_interrupt_and_the_handler_comes_back(ck):
    default = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        gdfast.minimize(interrupting(5, times=2), np.zeros(N), adam(), jac="inplace",
                        args=args_of(), max_iter=40, checkpoint=ck)
    assert signal.getsignal(signal.SIGINT) is default

    seen = []

    def mine(signum, frame):
        seen.append(signum)

    signal.signal(signal.SIGINT, mine)
    try:
        res = gdfast.minimize(interrupting(5), np.zeros(N), adam(), jac="inplace",
                              args=args_of(), max_iter=40)
        assert res.status == "interrupted" and res.nit == 4
        assert signal.getsignal(signal.SIGINT) is mine and seen == []
        with pytest.raises(KeyboardInterrupt):
            gdfast.minimize(interrupting(3, times=2), np.zeros(N), adam(), jac="inplace",
                            args=args_of(), max_iter=40)
        assert signal.getsignal(signal.SIGINT) is mine
        signal.raise_signal(signal.SIGINT)
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, default)


def test_ctrl_c_stops_the_compiled_loop_at_a_complete_iterate(tmp_path):
    n = 1000
    c = np.linspace(2.0, -1.5, n)
    ck = tmp_path / "long.npz"

    def slow():                          # far from converging in 10**8 steps
        return gdfast.Adam(lr=inverse_time_decay(1e-9, 1e9))

    run("nopython", slow, c=c, max_iter=2)               # compiled before the clock starts
    before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        res = run("nopython", slow, c=c, max_iter=10**8, checkpoint=ck)
    finally:
        timer.cancel()
        timer.join()
    assert signal.getsignal(signal.SIGINT) is before
    assert res.status == "interrupted" and not res.success and 0 < res.nit < 10**8
    ref = run("nopython", slow, c=c, max_iter=res.nit)
    assert_same(res, ref, TRAJECTORY + ("nfev", "nskipped"))
    assert load_checkpoint(ck)[0]["counters"]["nit"] == res.nit

    more = res.nit + 200
    full = run("nopython", slow, c=c, max_iter=more)
    res = run("nopython", slow, c=c, max_iter=more, checkpoint=ck, resume=True)
    assert_same(res, full, TRAJECTORY + ("status", "nskipped"))
    assert res.nfev == full.nfev + 1


# --- memory -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode,arrays", [("raise", 4), ("stop", 5)])
def test_the_python_loop_allocates_no_full_size_array_per_step(mode, arrays):
    """'raise': x + g + Adam's two state arrays; 'stop': and one copy of x."""
    n = 2_000_000
    c = np.linspace(-1.0, 1.0, n)
    x0 = np.zeros(n)

    def fun(x, g):                    # allocates nothing of size n
        np.subtract(x, c, out=g)
        return float(g @ g)

    gdfast.minimize(fun, x0, "adam", jac="inplace", max_iter=1)     # kernels loaded
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        res = gdfast.minimize(fun, x0, "adam", jac="inplace", max_iter=30, gtol=0.0,
                              on_nonfinite=mode)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert res.nit == 30 and not res.nopython
    limit = arrays * 8 * n + 1e6
    assert peak < limit, (f"peak {peak / 1e6:.1f} MB = {peak / (8 * n):.2f} arrays of n "
                          f"float64, limit {limit / 1e6:.1f} MB")
