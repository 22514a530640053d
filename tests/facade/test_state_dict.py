"""state_dict / load_state_dict and the conversion from and to torch.optim's
state_dict (issue 31 item 3).

gdfast's own form: a run stopped, its state_dict pickled and restored into a
new optimizer, continues with the same bits as the run never stopped (the
uninterrupted run is the oracle). torch's: a run moved into live torch (or
from it) continues with torch's numbers (the run torch makes uninterrupted
is the oracle), within 1e-12.
"""
import pickle

import numpy as np
import pytest

import gdfast
from gdfast import schedules
from kernel_helpers import assert_rel_close

BEFORE, AFTER = 4, 4

RUNS = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2)),
    ("SGD", dict(lr=schedules.step_decay(0.05, 2, 0.5), nesterov=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, lr_decay=0.01)),
    ("RMSprop", dict(centered=True, momentum=0.5)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=schedules.cosine_decay(0.01, 5))),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adadelta", dict(rho=0.5)),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5))),
    ("Lion", dict(lr=0.01)),
]
IDS = [f"{c}({','.join(kw)})" for c, kw in RUNS]


def _grads(n, steps, seed=7):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((steps, n))
    g[:, 0] = [(-1) ** k for k in range(steps)]
    return rng.standard_normal(n), g


@pytest.mark.parametrize("cls,kw", RUNS, ids=IDS)
def test_a_restored_run_continues_with_the_same_bits(cls, kw):
    x0, grads = _grads(6, BEFORE + AFTER)
    whole = getattr(gdfast, cls)(**kw)
    x = x0.copy()
    state = whole.init(x)
    for g in grads:
        whole.step(x, g, state)

    first = getattr(gdfast, cls)(**kw)
    y = x0.copy()
    s1 = first.init(y)
    for g in grads[:BEFORE]:
        first.step(y, g, s1)
    saved = pickle.loads(pickle.dumps(first.state_dict(s1)))
    second = getattr(gdfast, cls)()                       # defaults: load sets them
    s2 = second.load_state_dict(saved)
    for g in grads[BEFORE:]:
        second.step(y, g, s2)
    assert second.hyperparameters() == whole.hyperparameters()
    assert y.tobytes() == x.tobytes() and s2.t == state.t
    for a, b in zip(s2.arrays, state.arrays):
        assert a.tobytes() == b.tobytes()


def test_a_state_dict_saved_between_a_live_change_and_its_step_keeps_its_meaning():
    # SGD's momentum turned on mid-run: its buffer starts as the next step's d
    x0, grads = _grads(3, 4)
    ends = []
    for stop in (False, True):
        opt = gdfast.SGD(lr=0.1, dampening=0.5)
        x = x0.copy()
        state = opt.init(x)
        for k, g in enumerate(grads):
            if k == 2:
                opt.momentum = 0.9
                if stop:
                    saved = pickle.loads(pickle.dumps(opt.state_dict(state)))
                    opt = gdfast.SGD()
                    state = opt.load_state_dict(saved)
            opt.step(x, g, state)
        ends.append(x)
    assert ends[0].tobytes() == ends[1].tobytes()


def test_a_bad_state_dict_changes_nothing():
    opt = gdfast.Adam(lr=0.01)
    x = np.ones(3)
    state = opt.init(x)
    opt.step(x, np.ones(3), state)
    sd = opt.state_dict(state)
    target = gdfast.Adam(lr=0.5)
    before = target.hyperparameters()
    bad_array = dict(sd, state=dict(sd["state"], exp_avg=np.zeros(2)))
    with pytest.raises(ValueError, match=r"state\['exp_avg'\] must be a float64 array of shape"):
        target.load_state_dict(dict(bad_array, hyperparameters=dict(sd["hyperparameters"],
                                                                    lr=0.1)))
    with pytest.raises(ValueError, match="was made by a Adam, not a RMSprop"):
        gdfast.RMSprop().load_state_dict(sd)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in"):
        target.load_state_dict(dict(sd, hyperparameters=dict(sd["hyperparameters"],
                                                             betas=(0.9, 1.0))))
    assert target.hyperparameters() == before


# --- torch.optim's state_dict ----------------------------------------------------

TORCH_RUNS = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2)),
    ("SGD", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, lr_decay=0.01)),
    ("RMSprop", dict(centered=True, momentum=0.5)),
    ("RMSprop", dict(alpha=0.9)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adadelta", dict(rho=0.5)),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5))),
]
TORCH_IDS = [f"{c}({','.join(kw)})" for c, kw in TORCH_RUNS]
SHAPE = (2, 3)


def _torch_optimizer(cls, kw, p):
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    return getattr(torch.optim, cls)([p], foreach=False, **kw)


def _torch_steps(topt, p, grads):
    import torch
    for g in grads:
        p.grad = torch.tensor(g.reshape(SHAPE))
        topt.step()


def _compare_with_torch(x, state, p, topt, what):
    assert_rel_close(x, p.detach().numpy().ravel(), what=f"{what}: x")
    for k, v in topt.state[p].items():
        if k not in ("step", "mu_product"):
            assert_rel_close(state.arrays_by_name()[k], v.numpy().ravel(), what=f"{what}: {k}")


@pytest.mark.parametrize("before", [0, BEFORE])
@pytest.mark.parametrize("cls,kw", TORCH_RUNS, ids=TORCH_IDS)
def test_a_run_moved_to_torch_continues_with_torchs_numbers(cls, kw, before):
    torch = pytest.importorskip("torch")
    x0, grads = _grads(6, before + AFTER)
    whole = torch.tensor(x0.reshape(SHAPE), requires_grad=True)
    twhole = _torch_optimizer(cls, kw, whole)
    _torch_steps(twhole, whole, grads)

    opt = getattr(gdfast, cls)(**kw)
    x = x0.copy()
    state = opt.init(x)
    for g in grads[:before]:
        opt.step(x, g, state)
    p = torch.tensor(x.reshape(SHAPE), requires_grad=True)
    topt = _torch_optimizer(cls, {}, p)                   # defaults: gdfast's dict sets them
    topt.load_state_dict(opt.to_torch_state_dict(state, shape=SHAPE))
    _torch_steps(topt, p, grads[before:])
    assert_rel_close(p.detach().numpy(), whole.detach().numpy(), what=f"{cls}: x")
    for k, v in twhole.state[whole].items():
        assert_rel_close(topt.state[p][k].numpy(), v.numpy(), what=f"{cls}: {k}")


@pytest.mark.parametrize("before", [0, BEFORE])
@pytest.mark.parametrize("cls,kw", TORCH_RUNS, ids=TORCH_IDS)
def test_a_run_moved_from_torch_continues_with_torchs_numbers(cls, kw, before):
    torch = pytest.importorskip("torch")
    x0, grads = _grads(6, before + AFTER)
    whole = torch.tensor(x0.reshape(SHAPE), requires_grad=True)
    twhole = _torch_optimizer(cls, kw, whole)
    _torch_steps(twhole, whole, grads)

    p = torch.tensor(x0.reshape(SHAPE), requires_grad=True)
    topt = _torch_optimizer(cls, kw, p)
    _torch_steps(topt, p, grads[:before])
    opt = getattr(gdfast, cls)()                          # defaults: torch's dict sets them
    x = p.detach().numpy().ravel().copy()
    state = opt.load_torch_state_dict(topt.state_dict(), x)
    # torch's SGD keeps no step count: 1 once it has a momentum buffer
    assert state.t == (before if cls != "SGD" else int(before > 0 and "momentum" in kw))
    for g in grads[before:]:
        opt.step(x, g, state)
    _compare_with_torch(x, state, whole, twhole, cls)


def test_lion_has_no_torch_counterpart():
    opt = gdfast.Lion()
    with pytest.raises(ValueError, match="Lion has no torch.optim counterpart"):
        opt.to_torch_state_dict(opt.init(np.zeros(2)))


def test_a_torch_dict_of_several_parameters_is_refused():
    torch = pytest.importorskip("torch")
    topt = torch.optim.Adam([torch.zeros(2, requires_grad=True),
                             torch.zeros(2, requires_grad=True)])
    opt = gdfast.Adam(lr=0.5)
    with pytest.raises(ValueError, match="one param group with one parameter"):
        opt.load_torch_state_dict(topt.state_dict(), np.zeros(2))
    assert opt.lr(1) == 0.5


def test_a_nadam_mu_product_of_other_factors_is_refused():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    p = torch.zeros(2, requires_grad=True)
    topt = torch.optim.NAdam([p])
    for k in range(3):
        if k == 2:
            topt.param_groups[0]["momentum_decay"] = 0.1      # torch keeps the old factors
        p.grad = torch.ones(2)
        topt.step()
    with pytest.raises(ValueError, match="mu_product"):
        gdfast.NAdam().load_torch_state_dict(topt.state_dict(), np.zeros(2))


def test_a_schedule_with_a_users_function_is_refused_by_name_not_with_a_float_error():
    from numba import njit

    @njit
    def half(t):
        return 0.5

    opt = gdfast.SGD(lr=gdfast.schedules.lambda_lr(0.1, half))
    state = opt.init(np.zeros(3))
    with pytest.raises(TypeError, match="holds a user's function"):
        opt.state_dict(state)
