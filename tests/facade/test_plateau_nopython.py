"""ReduceLROnPlateau inside the compiled loops (issue 31 item 6): the kernel
(kernels.schedules.plateau_step) against live torch's lr sequence, minimize's
nopython mode with it against the Python-callback run (bits, and the state the
plateau object and opt.lr end with), its chunks and checkpoints against one
call, and minimize_batch's per-problem plateaus against minimize on one row.

One rule (SGD with momentum) and two objectives keep the compilations few.
"""
import math

import numba
import numpy as np
import pytest
import torch
from minimize_runs import ROUGH_PYTHON, args_of, rough
from numba import njit

import gdfast
import gdfast._batch
import gdfast._minimize
import gdfast.schedules as S
from gdfast.kernels import schedules as K
from kernel_helpers import plateau_losses

# (ReduceLROnPlateau's keywords, minimize's max_iter) for the runs below
SETTINGS = dict(factor=0.5, patience=2, cooldown=1, min_lr=1e-3)


KERNEL_CASES = [
    dict(),
    dict(mode="max", factor=0.5, patience=3, threshold=1e-3, threshold_mode="abs"),
    dict(factor=0.5, patience=2, cooldown=4, min_lr=1e-3, threshold_mode="abs"),
    dict(factor=0.3, patience=0, eps=1e-3),
    dict(mode="max", factor=0.7, patience=1, threshold=0.01, cooldown=2),
]


def _kernel_state(lr, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                  cooldown=0, min_lr=0.0, eps=1e-8):
    return K.plateau_state(lr, mode == "max", threshold_mode == "abs", factor, patience,
                           threshold, cooldown, min_lr, eps)


@pytest.mark.parametrize("kw", KERNEL_CASES,
                         ids=["defaults", "max-abs", "cooldown-min_lr", "eps", "max-rel-cooldown"])
def test_the_plateau_kernel_gives_torchs_rates_and_counters(kw):
    losses = plateau_losses()
    if kw.get("mode") == "max":
        losses = [-v for v in losses]
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.nn.Parameter(torch.zeros(1))
        opt_t = torch.optim.SGD([p], lr=0.3)
        sched_t = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_t, **kw)
    finally:
        torch.set_default_dtype(torch.float32)
    state = _kernel_state(0.3, **kw)
    want, got = [], []
    for v in losses:
        sched_t.step(v)
        K.plateau_step(state, v)
        want.append(opt_t.param_groups[0]["lr"])
        got.append(K.plateau_lr(1, 0.0, state))
    assert got == want
    assert len(set(got)) > 2                     # it reduced, more than once
    assert state[K.PLATEAU_BEST] == sched_t.best
    assert state[K.PLATEAU_BAD] == sched_t.num_bad_epochs
    assert state[K.PLATEAU_COOLDOWN_COUNTER] == sched_t.cooldown_counter
    assert state[K.PLATEAU_EPOCH] == sched_t.last_epoch


def test_the_plateau_kernel_state_round_trips_the_object():
    opt = gdfast.SGD(lr=0.3)
    plateau = S.ReduceLROnPlateau(opt, mode="max", **SETTINGS)
    for v in plateau_losses(120):
        plateau.step(-v)
    state = plateau.kernel_state()
    twin_opt = gdfast.SGD(lr=0.3)
    twin = S.ReduceLROnPlateau(twin_opt, mode="max", **SETTINGS)
    twin.load_kernel_state(state)
    assert twin.state_dict() == plateau.state_dict()
    assert twin.get_last_lr() == plateau.get_last_lr() < [0.3]


# --- minimize's nopython loop ------------------------------------------------

def _minimize(fun, bad=(), **kw):
    opt = gdfast.SGD(lr=0.2, momentum=0.9)
    plateau = S.ReduceLROnPlateau(opt, **SETTINGS)
    res = gdfast.minimize(fun, np.zeros(48), opt, jac="inplace", args=args_of(bad=bad),
                          callback=plateau, max_iter=kw.pop("max_iter", 150), gtol=0.0, **kw)
    return res, plateau, opt


def _assert_same_run(a, b):
    (ra, pa, oa), (rb, pb, ob) = a, b
    assert (ra.nit, ra.nfev, ra.nskipped, ra.status) == (rb.nit, rb.nfev, rb.nskipped, rb.status)
    np.testing.assert_array_equal(ra.x, rb.x)
    np.testing.assert_array_equal(ra.jac, rb.jac)
    np.testing.assert_array_equal(ra.fun_history, rb.fun_history)
    np.testing.assert_array_equal(ra.grad_norm_history, rb.grad_norm_history)
    assert ra.fun == rb.fun or (math.isnan(ra.fun) and math.isnan(rb.fun))
    assert pa.state_dict() == pb.state_dict()
    assert pa.get_last_lr() == pb.get_last_lr()
    assert oa.lr == ob.lr


@pytest.mark.parametrize("kw", [dict(), dict(on_nonfinite="skip", bad=(7, 30, 31)),
                                dict(ftol=1e-9, max_iter=2000)],
                         ids=["plain", "skip", "ftol"])
def test_nopython_with_a_plateau_is_the_python_callback_run_bit_for_bit(kw):
    python = _minimize(ROUGH_PYTHON, **dict(kw))
    compiled = _minimize(rough, **dict(kw))
    assert compiled[0].nopython and not python[0].nopython
    _assert_same_run(compiled, python)
    if "bad" in kw:
        assert compiled[0].nskipped == 3
    assert compiled[1].get_last_lr() < [0.2]     # it reduced


def test_the_plateau_carries_over_calls_of_minimize_as_in_python():
    runs = []
    for fun in (ROUGH_PYTHON, rough):
        opt = gdfast.SGD(lr=0.2, momentum=0.9)
        plateau = S.ReduceLROnPlateau(opt, **SETTINGS)
        x = np.zeros(48)
        for _ in range(3):                   # a used plateau, a lowered lr: going on from there
            res = gdfast.minimize(fun, x, opt, jac="inplace", args=args_of(), callback=plateau,
                                  max_iter=40, gtol=0.0)
            x = res.x
        runs.append((res, plateau, opt))
    _assert_same_run(runs[1], runs[0])


def test_nopython_chunks_and_checkpoints_give_the_bits_of_one_call(monkeypatch, tmp_path):
    one = _minimize(rough)
    monkeypatch.setattr(gdfast._minimize, "NOPYTHON_CHUNK_SECONDS", 0.0)   # one step a chunk
    _assert_same_run(_minimize(rough), one)
    monkeypatch.undo()
    saved = _minimize(rough, checkpoint=tmp_path / "run.npz", checkpoint_every=7)
    _assert_same_run(saved, one)


def test_nopython_with_a_plateau_refuses_resume(tmp_path):
    with pytest.raises(ValueError, match="resume"):
        _minimize(rough, checkpoint=tmp_path / "run.npz", resume=True)


def test_a_plateau_of_another_optimizer_or_a_scheduled_lr_stays_in_python():
    opt = gdfast.SGD(lr=0.2, momentum=0.9)
    other = S.ReduceLROnPlateau(gdfast.SGD(lr=0.2), **SETTINGS)
    res = gdfast.minimize(rough, np.zeros(48), opt, jac="inplace", args=args_of(),
                          callback=other, max_iter=30, gtol=0.0)
    assert not res.nopython and other.last_epoch == 30       # it read the losses, in Python
    plateau = S.ReduceLROnPlateau(opt)
    opt.lr = S.cosine_annealing(0.2, 10)
    with pytest.raises(TypeError, match="lr"):               # as the callback always did
        gdfast.minimize(rough, np.zeros(48), opt, jac="inplace", args=args_of(),
                        callback=plateau, max_iter=30)


# --- minimize_batch ----------------------------------------------------------

@njit
def quartic(x, g, c):
    """f = sum_j w_j d_j^2 + d_j^4 / 4 with d = x - c (rough without its counters)."""
    n = x.size
    f = 0.0
    for j in range(n):
        d = x[j] - c[j]
        w = 1.0 + j / n
        d2 = d * d
        f += w * d2 + 0.25 * d2 * d2
        g[j] = 2.0 * w * d + d2 * d
    return f


M, N = 6, 8
CS = np.linspace(-2.0, 3.0, M * N).reshape(M, N) ** 3 / 4


def _batch(**kw):
    opt = gdfast.SGD(lr=0.05, momentum=0.9)
    plateau = S.ReduceLROnPlateau(opt, **SETTINGS)
    res = gdfast.minimize_batch(quartic, np.zeros((M, N)), opt, batch_args=(CS,),
                                plateau=plateau, max_iter=300, gtol=1e-10, **kw)
    assert opt.lr.lr0 == 0.05 and plateau.last_epoch == 0          # both untouched
    return res


def test_each_problem_of_a_batch_has_its_own_plateau_as_minimize_on_its_row():
    res = _batch()
    assert len(set(res.lr.tolist())) > 1       # the rows reduced differently
    for i in range(M):
        opt = gdfast.SGD(lr=0.05, momentum=0.9)
        plateau = S.ReduceLROnPlateau(opt, **SETTINGS)
        r = gdfast.minimize(quartic, np.zeros(N), opt, jac="inplace", args=(CS[i],),
                            callback=plateau, max_iter=300, gtol=1e-10)
        assert r.nopython
        np.testing.assert_array_equal(res.x[i], r.x)
        assert (res.fun[i], res.nit[i], res.status[i]) == (r.fun, r.nit, r.status)
        assert res.lr[i] == plateau.get_last_lr()[0]


def test_a_batchs_plateaus_do_not_depend_on_chunks_or_threads(monkeypatch):
    one = _batch()
    monkeypatch.setattr(gdfast._batch, "FIRST_STEPS", 3)      # rows paused every few steps
    monkeypatch.setattr(gdfast._batch, "CHUNK_SECONDS", 0.0)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        chunked = _batch()
    finally:
        numba.set_num_threads(threads)
    for key in ("x", "fun", "nit", "lr"):
        np.testing.assert_array_equal(chunked[key], one[key])
    assert list(chunked.status) == list(one.status)


def test_minimize_batch_refuses_a_bad_plateau_by_name():
    opt = gdfast.SGD(lr=0.05)
    X0 = np.zeros((M, N))
    with pytest.raises(TypeError, match="plateau"):
        gdfast.minimize_batch(quartic, X0, opt, batch_args=(CS,), plateau={"factor": 0.5})
    with pytest.raises(ValueError, match="plateau"):
        gdfast.minimize_batch(quartic, X0, opt, batch_args=(CS,),
                              plateau=S.ReduceLROnPlateau(gdfast.SGD(lr=0.05)))
    with pytest.raises(ValueError, match="plateau"):
        gdfast.minimize_batch(quartic, X0, "lbfgs", batch_args=(CS,),
                              plateau=S.ReduceLROnPlateau(opt))
    plateau = S.ReduceLROnPlateau(opt)
    opt.lr = S.cosine_annealing(0.05, 10)
    with pytest.raises(TypeError, match="lr"):
        gdfast.minimize_batch(quartic, X0, opt, batch_args=(CS,), plateau=plateau)


def test_the_plateau_loop_of_a_registered_objective_can_be_cached_on_disk():
    # a kernel given as a value inside the loop (not as a FunctionRef) would
    # keep the loop from the disk cache: numba's "dynamic globals"
    from gdfast.kernels.driver import first_order_plateau_descend
    from gdfast.problems import exp_decay_initial_guess, exp_decay_stack, exp_decay_value_and_grad
    t, Y, _ = exp_decay_stack((1, 2), n_times=16)
    opt = gdfast.Adam(lr=0.05)
    res = gdfast.minimize(exp_decay_value_and_grad, exp_decay_initial_guess(Y)[0], opt,
                          jac="inplace", args=(Y[0], t), callback=S.ReduceLROnPlateau(opt),
                          max_iter=5)
    assert res.nopython
    libraries = [c.library for c in first_order_plateau_descend.overloads.values()]
    assert libraries and not any(lib.has_dynamic_globals for lib in libraries)
