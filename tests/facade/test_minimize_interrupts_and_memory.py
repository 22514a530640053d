"""gdfast.minimize and Ctrl-C (SIGINT: the first stops the run after the
iteration in progress, the second raises KeyboardInterrupt, the handler
comes back), and the memory the Python loop holds.
The objective and the helpers are in minimize_runs.py."""
import gc
import os
import signal
import threading
import tracemalloc

import numpy as np
import pytest
from minimize_runs import ROUGH_PYTHON, TRAJECTORY, N, adam, args_of, assert_same, run

import gdfast
from gdfast.checkpoint import load_checkpoint
from gdfast.schedules import inverse_time_decay

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
