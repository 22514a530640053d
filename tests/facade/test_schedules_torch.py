"""gdfast.schedules against live torch.optim.lr_scheduler: every class.

torch's rate after k calls of ``scheduler.step()`` (its last_epoch = k) is the
rate gdfast's optimizers use at step t = k + 1 (Optimizer.step calls
``lr(state.t + 1)``; torch's optimizer takes its first step with the rate the
scheduler set at construction). Each sequence: the rate at construction and
after each of 1,000 ``step()`` calls, against ``schedule(t)`` for t = 1 ...
1,001, within 1e-14 relative, entry by entry.
"""
import math
import pickle
import warnings

import numpy as np
import pytest
from numba import njit

import gdfast
from gdfast import schedules as S
from kernel_helpers import plateau_losses

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler
SWALR = torch.optim.swa_utils.SWALR

STEPS = 1000
LR = 0.1
REL = 1e-14


def torch_rates(make, steps=STEPS, optimizer="sgd"):
    """get_last_lr() at construction and after each scheduler.step()."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = (torch.optim.SGD([p], lr=LR, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam([p], lr=LR))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the epoch / step-order notices
        sched = make(opt)
        rates = [sched.get_last_lr()[0]]
        for _ in range(steps):
            opt.step()
            sched.step()
            rates.append(sched.get_last_lr()[0])
    return np.array(rates, dtype=float)


def gdfast_rates(schedule, steps=STEPS):
    return np.array([schedule(t) for t in range(1, steps + 2)])


def worst_relative(got, want):
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(got == want, 0.0, np.abs(got - want) / np.abs(want))
    return float(rel.max())


@njit
def _decay_wave(epoch):
    # no float ** int: numba multiplies that out where Python calls pow
    return math.exp(-0.03 * epoch) * (1.0 + 0.5 * math.sin(epoch))


@njit
def _up_down(epoch):
    return 0.999 if epoch % 3 else 1.001


CASES = {
    # id: (torch scheduler on an optimizer, gdfast schedule)
    "ConstantLR": (lambda o: L.ConstantLR(o, factor=0.5, total_iters=7),
                   S.constant_lr(LR, 0.5, 7)),
    "ConstantLR-total_iters=0": (lambda o: L.ConstantLR(o, factor=0.3, total_iters=0),
                                 S.constant_lr(LR, 0.3, 0)),
    "LinearLR": (lambda o: L.LinearLR(o, 0.25, 1.0, 100), S.linear_lr(LR, 0.25, 1.0, 100)),
    "LinearLR-down": (lambda o: L.LinearLR(o, 1.0, 0.05, 700), S.linear_lr(LR, 1.0, 0.05, 700)),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, 500, 2.0), S.polynomial_lr(LR, 500, 2.0)),
    "PolynomialLR-sqrt": (lambda o: L.PolynomialLR(o, 999, 0.5), S.polynomial_lr(LR, 999, 0.5)),
    "StepLR": (lambda o: L.StepLR(o, 30, 0.5), S.step_decay(LR, 30, 0.5)),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, [400, 3, 0, 50, 3, 999], 0.7),
                    S.multistep_lr(LR, [400, 3, 0, 50, 3, 999], 0.7)),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, 0.995), S.exponential_decay(LR, 0.995)),
    "CosineAnnealingLR-periodic": (lambda o: L.CosineAnnealingLR(o, 100, 1e-3),
                                   S.cosine_annealing(LR, 100, 1e-3)),
    "CosineAnnealingLR-T37": (lambda o: L.CosineAnnealingLR(o, 37), S.cosine_annealing(LR, 37)),
    "CosineAnnealingLR-T1": (lambda o: L.CosineAnnealingLR(o, 1, 0.01),
                             S.cosine_annealing(LR, 1, 0.01)),
    "CosineAnnealingWarmRestarts": (lambda o: L.CosineAnnealingWarmRestarts(o, 10, 1, 1e-4),
                                    S.cosine_warm_restarts(LR, 10, 1, 1e-4)),
    "CosineAnnealingWarmRestarts-T_mult=2": (
        lambda o: L.CosineAnnealingWarmRestarts(o, 7, 2, 1e-4),
        S.cosine_warm_restarts(LR, 7, 2, 1e-4)),
    "CyclicLR-triangular": (lambda o: L.CyclicLR(o, 0.01, 0.1, 37, 23),
                            S.cyclic_lr(0.01, 0.1, 37, 23)),
    "CyclicLR-triangular2": (lambda o: L.CyclicLR(o, 0.01, 0.1, 50, mode="triangular2"),
                             S.cyclic_lr(0.01, 0.1, 50, mode="triangular2")),
    "CyclicLR-exp_range": (
        lambda o: L.CyclicLR(o, 0.01, 0.1, 37, 23, mode="exp_range", gamma=0.999),
        S.cyclic_lr(0.01, 0.1, 37, 23, mode="exp_range", gamma=0.999)),
    "OneCycleLR-cos": (lambda o: L.OneCycleLR(o, LR, total_steps=STEPS),
                       S.one_cycle_lr(LR, STEPS)),
    "OneCycleLR-linear": (
        lambda o: L.OneCycleLR(o, LR, total_steps=STEPS, anneal_strategy="linear"),
        S.one_cycle_lr(LR, STEPS, anneal_strategy="linear")),
    "OneCycleLR-cos-three_phase": (
        lambda o: L.OneCycleLR(o, LR, epochs=10, steps_per_epoch=100, pct_start=0.25,
                               div_factor=10.0, final_div_factor=100.0, three_phase=True),
        S.one_cycle_lr(LR, epochs=10, steps_per_epoch=100, pct_start=0.25, div_factor=10.0,
                       final_div_factor=100.0, three_phase=True)),
    "OneCycleLR-linear-three_phase": (
        lambda o: L.OneCycleLR(o, LR, total_steps=STEPS, anneal_strategy="linear",
                               three_phase=True),
        S.one_cycle_lr(LR, STEPS, anneal_strategy="linear", three_phase=True)),
    "SWALR-cos": (lambda o: SWALR(o, 0.01, 17), S.swa_lr(LR, 0.01, 17)),
    "SWALR-linear": (lambda o: SWALR(o, 0.01, 17, "linear"), S.swa_lr(LR, 0.01, 17, "linear")),
    "SWALR-anneal_epochs=0": (lambda o: SWALR(o, 0.01, 0), S.swa_lr(LR, 0.01, 0)),
    "LambdaLR": (lambda o: L.LambdaLR(o, _decay_wave.py_func), S.lambda_lr(LR, _decay_wave)),
    "MultiplicativeLR": (lambda o: L.MultiplicativeLR(o, _up_down.py_func),
                         S.multiplicative_lr(LR, _up_down)),
    "SequentialLR-warmup-cosine": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 20),
                                     L.CosineAnnealingLR(o, 200, 1e-4)], [20]),
        S.sequential_lr([S.linear_lr(LR, 0.1, 1.0, 20), S.cosine_annealing(LR, 200, 1e-4)],
                        [20])),
    "SequentialLR-four": (
        lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.2, 10), L.ExponentialLR(o, 0.99),
                                     L.MultiStepLR(o, [5, 50, 50], 0.5),
                                     L.CosineAnnealingWarmRestarts(o, 30, 2)],
                                 [10, 300, 600]),
        S.sequential_lr([S.constant_lr(LR, 0.2, 10), S.exponential_decay(LR, 0.99),
                         S.multistep_lr(LR, [5, 50, 50], 0.5), S.cosine_warm_restarts(LR, 30, 2)],
                        [10, 300, 600])),
    "SequentialLR-cyclic-polynomial": (
        lambda o: L.SequentialLR(o, [L.PolynomialLR(o, 100, 3.0), L.CyclicLR(o, 0.01, 0.1, 40)],
                                 [150]),
        S.sequential_lr([S.polynomial_lr(LR, 100, 3.0), S.cyclic_lr(0.01, 0.1, 40)], [150])),
    "ChainedScheduler-constant-exponential": (
        lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.1, 2), L.ExponentialLR(o, 0.99)]),
        S.chained_lr([S.constant_lr(LR, 0.1, 2), S.exponential_decay(LR, 0.99)])),
    "ChainedScheduler-four": (
        lambda o: L.ChainedScheduler([L.LinearLR(o, 0.5, 1.0, 40), L.MultiStepLR(o, [300, 700]),
                                      L.StepLR(o, 100, 0.9), L.PolynomialLR(o, 1200, 1.5)]),
        S.chained_lr([S.linear_lr(LR, 0.5, 1.0, 40), S.multistep_lr(LR, [300, 700]),
                      S.step_decay(LR, 100, 0.9), S.polynomial_lr(LR, 1200, 1.5)])),
    "ChainedScheduler-cosine": (
        lambda o: L.ChainedScheduler([L.CosineAnnealingLR(o, 1000), L.ExponentialLR(o, 0.999)]),
        S.chained_lr([S.cosine_annealing(LR, 1000), S.exponential_decay(LR, 0.999)])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rates_equal_torchs_over_1000_steps(case):
    make, schedule = CASES[case]
    want, got = torch_rates(make), gdfast_rates(schedule)
    assert worst_relative(got, want) <= REL


def test_one_cycle_past_total_steps_holds_the_final_rate():
    lr = S.one_cycle_lr(LR, 100)
    assert lr(102) == lr(5000) == LR / 25.0 / 1e4     # torch raises there


def test_cosine_annealing_is_periodic_and_cosine_decay_stays_at_the_floor():
    periodic, floor = S.cosine_annealing(LR, 10, 0.01), S.cosine_decay(LR, 10, 0.01)
    assert periodic(11) == floor(11) == pytest.approx(0.01, abs=1e-17)
    assert periodic(21) == pytest.approx(LR, rel=1e-14)     # s = 2 T_max: back at the top
    assert floor(21) == 0.01


def test_a_schedule_drives_an_optimizer_as_torchs_scheduler_does():
    """Optimizer.step's t convention: parameters of a 50-step SGD run equal torch's."""
    g = np.linspace(-1.0, 2.0, 7)
    p = torch.nn.Parameter(torch.zeros(7, dtype=torch.float64))
    opt_t = torch.optim.SGD([p], lr=LR, momentum=0.9)
    sched = L.SequentialLR(opt_t, [L.LinearLR(opt_t, 0.1, 1.0, 5),
                                   L.CyclicLR(opt_t, 0.01, 0.1, 7, cycle_momentum=False)], [9])
    opt = gdfast.SGD(lr=S.sequential_lr([S.linear_lr(LR, 0.1, 1.0, 5), S.cyclic_lr(0.01, 0.1, 7)],
                                        [9]), momentum=0.9)
    x = np.zeros(7)
    state = opt.init(x)
    for k in range(50):
        gk = g * (1 + k % 3)
        p.grad = torch.from_numpy(gk.copy())
        opt_t.step()
        sched.step()
        opt.step(x, gk, state)
    np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-12, atol=0)


def test_schedules_run_inside_a_users_njit_code():
    seq = S.sequential_lr([S.linear_lr(LR, 0.1, 1.0, 5), S.cosine_annealing(LR, 50)], [5])
    lam = S.lambda_lr(LR, _decay_wave)
    seq_kernel, seq_params, lam_kernel, lam_params = seq.kernel, seq.params, lam.kernel, lam.params

    @njit
    def rates(out):
        for t in range(1, out.shape[1] + 1):
            out[0, t - 1] = seq_kernel(t, LR, seq_params)
            out[1, t - 1] = lam_kernel(t, LR, lam_params)

    out = np.empty((2, 60))
    rates(out)
    np.testing.assert_array_equal(out[0], [seq(t) for t in range(1, 61)])
    np.testing.assert_array_equal(out[1], [LR * _decay_wave.py_func(t - 1) for t in range(1, 61)])


@pytest.mark.slow
@pytest.mark.parametrize("which", ["sequential", "lambda"])
def test_minimize_nopython_driver_takes_the_schedule(which):
    """The compiled loop and the Python loop give the same bits."""
    from minimize_runs import ROUGH_PYTHON, args_of, rough
    lr = (S.sequential_lr([S.linear_lr(0.05, 0.1, 1.0, 5), S.cosine_annealing(0.05, 30)], [5])
          if which == "sequential" else S.lambda_lr(0.05, _decay_wave))
    res = [gdfast.minimize(f, np.zeros(48), gdfast.Adam(lr=lr), jac="inplace", args=args_of(),
                           max_iter=40, gtol=0.0) for f in (rough, ROUGH_PYTHON)]
    assert res[0].nopython and not res[1].nopython
    np.testing.assert_array_equal(res[0].x, res[1].x)


def test_a_composition_pickles_and_saves_as_numbers():
    lr = S.sequential_lr([S.constant_lr(LR, 0.5, 3), S.multistep_lr(LR, [4, 9])], [6])
    assert pickle.loads(pickle.dumps(lr)) == lr
    opt = gdfast.Adam(lr=lr)
    x = np.zeros(3)
    state = opt.init(x)
    d = opt.state_dict(state)
    opt2 = gdfast.Adam()
    opt2.load_state_dict(d)
    assert opt2.lr == lr


BAD = [
    (lambda: S.constant_lr(LR, factor=0.0), "factor"),
    (lambda: S.linear_lr(LR, start_factor=1.5), "start_factor"),
    (lambda: S.polynomial_lr(LR, total_iters=-1), "total_iters"),
    (lambda: S.multistep_lr(LR, [3, -1]), r"milestones\[1\]"),
    (lambda: S.multistep_lr(LR, 5), "milestones"),
    (lambda: S.cosine_annealing(LR, 0), "T_max"),
    (lambda: S.cosine_warm_restarts(LR, 10, T_mult=0), "T_mult"),
    (lambda: S.cyclic_lr(0.01, 0.1, mode="sawtooth"), "mode"),
    (lambda: S.one_cycle_lr(LR), "total_steps"),
    (lambda: S.one_cycle_lr(LR, 10, pct_start=0.1), "pct_start"),
    (lambda: S.one_cycle_lr(LR, 10, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: S.swa_lr(LR, 0.01, anneal_epochs=-2), "anneal_epochs"),
    (lambda: S.lambda_lr(LR, lambda e: 1.0), "lr_lambda"),
    (lambda: S.sequential_lr([S.constant_lr(LR)], [3]), "milestones"),
    (lambda: S.sequential_lr([S.constant_lr(LR), S.constant_lr(LR), S.constant_lr(LR)], [5, 2]),
     "non-decreasing"),
    (lambda: S.sequential_lr([S.swa_lr(LR, 0.01)], []), r"schedules\[0\]"),
    (lambda: S.chained_lr([S.constant_lr(LR), S.cyclic_lr(0.01, 0.1)]), r"schedules\[1\]"),
    (lambda: S.chained_lr([S.constant_lr(LR), S.cosine_annealing(LR, 9, 0.01)]),
     r"schedules\[1\]"),
    (lambda: S.chained_lr([S.constant_lr(LR), S.exponential_decay(0.2, 0.9)]),
     r"schedules\[1\]\.lr0"),
]


@pytest.mark.parametrize("make,name", BAD, ids=[n for _, n in BAD])
def test_bad_arguments_name_the_argument(make, name):
    with pytest.raises((ValueError, TypeError), match=name):
        make()


# --- ReduceLROnPlateau --------------------------------------------------------

PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=3, threshold=1e-3, threshold_mode="abs"),
    dict(factor=0.5, patience=2, cooldown=4, min_lr=1e-3, threshold_mode="abs"),
    dict(factor=0.3, patience=0, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAU, ids=["defaults", "max-abs", "cooldown-min_lr", "eps"])
def test_reduce_on_plateau_sets_the_rates_torch_sets(kw):
    losses = plateau_losses()
    if kw.get("mode") == "max":
        losses = [-v for v in losses]
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt_t = torch.optim.SGD([p], lr=LR)
    sched_t = L.ReduceLROnPlateau(opt_t, **kw)
    opt = gdfast.SGD(lr=LR)
    sched = S.ReduceLROnPlateau(opt, **kw)
    want, got = [], []
    for v in losses:
        sched_t.step(v)
        sched.step(v)
        want.append(sched_t.get_last_lr()[0])
        got.append(sched.get_last_lr()[0])
    assert got == want
    assert len(set(got)) > 2                   # the losses made it reduce, more than once


def test_reduce_on_plateau_as_minimizes_callback_equals_the_hand_written_loop():
    from minimize_runs import ROUGH_PYTHON, args_of
    opt = gdfast.SGD(lr=0.2, momentum=0.9)
    plateau = S.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    res = gdfast.minimize(ROUGH_PYTHON, np.zeros(48), opt, jac="inplace", args=args_of(),
                          callback=plateau, max_iter=60, gtol=0.0, ftol=0.0)
    opt2 = gdfast.SGD(lr=0.2, momentum=0.9)
    plateau2 = S.ReduceLROnPlateau(opt2, factor=0.5, patience=2)
    x, g, args = np.zeros(48), np.zeros(48), args_of()
    state = opt2.init(x)
    ROUGH_PYTHON(x, g, *args)
    for _ in range(res.nit):
        opt2.step(x, g, state)
        plateau2.step(ROUGH_PYTHON(x, g, *args))
    assert plateau.get_last_lr() == plateau2.get_last_lr() < [0.2]   # it reduced
    np.testing.assert_array_equal(res.x, x)


def test_reduce_on_plateau_refuses_a_scheduled_lr_and_changes_nothing():
    opt = gdfast.SGD(lr=S.cosine_annealing(LR, 10))
    with pytest.raises(TypeError, match="lr"):
        S.ReduceLROnPlateau(opt)
    opt = gdfast.SGD(lr=LR)
    plateau = S.ReduceLROnPlateau(opt)
    opt.lr = S.cosine_annealing(LR, 10)
    with pytest.raises(TypeError, match="lr"):
        plateau.step(1.0)
    assert plateau.last_epoch == 0 and plateau.best == math.inf
