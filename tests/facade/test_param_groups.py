"""Several arrays in one optimizer, in groups of their own settings (issue 31
item 4): ``Optimizer.grouped([{"params": count, name: value}, ...], **defaults)``,
``init([w, b, c])``, ``step([w, b, c], [gw, gb, gc], state)``.

Oracles: live torch.optim over the same parameters in the same groups (float64,
within 1e-12 relative, entry by entry), gdfast's own single-array runs (the
same bits), and the uninterrupted run for a restored one (the same bits).
"""
import pickle

import numpy as np
import pytest

import gdfast
from gdfast import schedules
from gdfast.optimizers import make_optimizer
from kernel_helpers import assert_rel_close

SHAPES = [(3,), (2, 4), (5,)]
STEPS = 20
# torch's groups: the first two parameters at lr 1e-3, the third without decay
GROUPS = [{"params": 2, "lr": 1e-3}, {"params": 1, "weight_decay": 0.0}]
DEFAULTS = dict(lr=1e-2, weight_decay=0.1)
CASES = [
    ("Adam", {}),
    ("AdamW", {}),
    ("SGD", dict(momentum=0.9)),
    ("RMSprop", dict(centered=True)),
]


def _problem(seed=3, steps=STEPS):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return xs, grads


def _torch_run(cls, kw, xs, grads, change=None):
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    ps = [torch.tensor(x, requires_grad=True) for x in xs]
    groups = [{"params": ps[:2], "lr": 1e-3}, {"params": ps[2:], "weight_decay": 0.0}]
    topt = getattr(torch.optim, cls)(groups, foreach=False, **DEFAULTS, **kw)
    for k, gs in enumerate(grads):
        if change is not None and k == change[0]:
            topt.param_groups[change[1]]["lr"] = change[2]
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g)
        topt.step()
    return ps, topt


def _gdfast_run(cls, kw, xs, grads, change=None):
    opt = getattr(gdfast, cls).grouped(GROUPS, **DEFAULTS, **kw)
    xs = [x.copy() for x in xs]
    state = opt.init(xs)
    for k, gs in enumerate(grads):
        if change is not None and k == change[0]:
            opt.param_groups[change[1]]["lr"] = change[2]
        opt.step(xs, gs, state)
    return xs, state, opt


def _compare(xs, state, ps, topt):
    for i, (x, p) in enumerate(zip(xs, ps)):
        assert_rel_close(x.ravel(), p.detach().numpy().ravel(), what=f"x[{i}]")
        for name, a in state[i].arrays_by_name().items():
            assert_rel_close(a, topt.state[p][name].numpy().ravel(),
                             what=f"state[{i}][{name!r}]")


@pytest.mark.parametrize("cls,kw", CASES, ids=[c for c, _ in CASES])
def test_two_groups_over_three_arrays_match_torch(cls, kw):
    xs, grads = _problem()
    ps, topt = _torch_run(cls, kw, xs, grads)
    ys, state, _ = _gdfast_run(cls, kw, xs, grads)
    assert state.t == STEPS
    _compare(ys, state, ps, topt)


def test_a_groups_lr_changed_mid_run_matches_torch():
    xs, grads = _problem()
    change = (10, 1, 0.05)                  # before step 11, group 1's lr to 0.05
    ps, topt = _torch_run("Adam", {}, xs, grads, change)
    ys, state, opt = _gdfast_run("Adam", {}, xs, grads, change)
    _compare(ys, state, ps, topt)
    assert opt.param_groups[1]["lr"] == 0.05 and opt.param_groups[0]["lr"] == 1e-3


def test_the_groups_are_distinct_in_the_result():
    # the claim above could hold with the groups' settings ignored only if the
    # groups made no difference: they do (lr 1e-3 against 1e-2)
    xs, grads = _problem(steps=2)
    grouped, _, _ = _gdfast_run("Adam", {}, xs, grads)
    opt = gdfast.Adam(**DEFAULTS)
    plain = [x.copy() for x in xs]
    state = opt.init(plain)
    for gs in grads:
        opt.step(plain, gs, state)
    assert not np.array_equal(grouped[0], plain[0])
    np.testing.assert_array_equal(grouped[2], _one_array("Adam", dict(DEFAULTS, weight_decay=0.0),
                                                         xs[2], [gs[2] for gs in grads]))


def _one_array(cls, kw, x, grads):
    opt = getattr(gdfast, cls)(**kw)
    x = x.copy()
    state = opt.init(x)
    for g in grads:
        opt.step(x, g, state)
    return x


def test_one_group_over_several_arrays_is_each_arrays_own_run():
    xs, grads = _problem(steps=5)
    opt = gdfast.SGD(lr=0.1, momentum=0.9)
    ys = [x.copy() for x in xs]
    state = opt.init(ys)
    for gs in grads:
        opt.step(ys, gs, state)
    for i in range(3):
        np.testing.assert_array_equal(
            ys[i], _one_array("SGD", dict(lr=0.1, momentum=0.9), xs[i], [gs[i] for gs in grads]))


def test_a_groups_schedule_is_that_of_a_single_array_run():
    xs, grads = _problem(steps=6)
    lr = schedules.step_decay(0.1, 2, 0.5)
    opt = gdfast.Adam.grouped([{"params": 1, "lr": lr}, {"params": 2}], lr=1e-2)
    ys = [x.copy() for x in xs]
    state = opt.init(ys)
    for gs in grads:
        opt.step(ys, gs, state)
    np.testing.assert_array_equal(ys[0], _one_array("Adam", dict(lr=lr), xs[0],
                                                    [gs[0] for gs in grads]))
    np.testing.assert_array_equal(ys[1], _one_array("Adam", dict(lr=1e-2), xs[1],
                                                    [gs[1] for gs in grads]))


def test_an_attribute_set_on_the_optimizer_sets_every_group():
    opt = gdfast.Adam.grouped(GROUPS, **DEFAULTS)
    opt.lr = 0.5
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.5]
    with pytest.raises(ValueError, match="weight_decay"):
        opt.weight_decay = -1.0
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]


def test_the_groups_spec_is_checked_and_named():
    with pytest.raises(ValueError, match=r"groups\[1\]\['params'\]"):
        gdfast.Adam.grouped([{"params": 1}, {"params": 0}])
    with pytest.raises(TypeError, match=r"groups\[0\] has no hyperparameter.*'momentum'"):
        gdfast.Adam.grouped([{"params": 1, "momentum": 0.9}])
    with pytest.raises(ValueError, match=r"groups\[1\].*betas"):
        gdfast.Adam.grouped([{"params": 1}, {"params": 1, "betas": (0.9, 1.5)}])
    with pytest.raises(TypeError, match="SparseAdam takes one array"):
        gdfast.SparseAdam.grouped([{"params": 1}])


# --- bad input: named, and nothing changes --------------------------------------

def _started():
    opt = gdfast.Adam.grouped(GROUPS, **DEFAULTS)
    xs, grads = _problem(steps=1)
    state = opt.init(xs)
    opt.step(xs, grads[0], state)
    return opt, xs, grads[0], state


def _snapshot(xs, state):
    return ([x.copy() for x in xs], state.t,
            [{k: a.copy() for k, a in s.arrays_by_name().items()} for s in state.states])


def _assert_unchanged(before, xs, state):
    xs0, t0, arrays0 = before
    for x, x0 in zip(xs, xs0):
        np.testing.assert_array_equal(x, x0)
    assert state.t == t0
    for s, a0 in zip(state.states, arrays0):
        for k, a in s.arrays_by_name().items():
            np.testing.assert_array_equal(a, a0[k])


def test_init_with_a_count_other_than_the_groups_is_refused():
    opt = gdfast.Adam.grouped(GROUPS)
    with pytest.raises(ValueError, match=r"x holds 2 array\(s\).*cover 3 \(2 \+ 1"):
        opt.init([np.zeros(3), np.zeros(8)])
    with pytest.raises(TypeError, match="list or tuple of the 3 arrays"):
        opt.init(np.zeros(3))


def test_step_with_a_count_other_than_the_groups_changes_nothing():
    opt, xs, gs, state = _started()
    before = _snapshot(xs, state)
    with pytest.raises(ValueError, match=r"x holds 2 array\(s\).*cover 3"):
        opt.step(xs[:2], gs[:2], state)
    with pytest.raises(ValueError, match="x holds 3 array.* and g 2"):
        opt.step(xs, gs[:2], state)
    _assert_unchanged(before, xs, state)


def test_a_state_made_for_other_arrays_is_refused_and_nothing_changes():
    opt, xs, gs, state = _started()
    other = opt.init([np.zeros(3), np.zeros((2, 4)), np.zeros(4)])     # x[2] of 4, not 5
    before = _snapshot(xs, state)
    with pytest.raises(ValueError, match=r"x\[2\] has shape \(5,\).*made for shape \(4,\)"):
        opt.step(xs, gs, other)
    with pytest.raises(TypeError, match="made by this Adam's init"):
        gdfast.Adam.grouped(GROUPS).step(xs, gs, state)
    with pytest.raises(TypeError, match="OptimizerStates"):
        opt.step(xs, gs, state[0])
    _assert_unchanged(before, xs, state)


def test_a_bad_last_array_leaves_the_first_ones_unchanged():
    opt, xs, gs, state = _started()
    before = _snapshot(xs, state)
    with pytest.raises(ValueError, match=r"x\[2\], g\[2\]: g must have length 5"):
        opt.step(xs, [gs[0], gs[1], np.zeros(4)], state)
    _assert_unchanged(before, xs, state)


def test_a_gradient_sharing_memory_with_another_array_is_refused():
    opt, xs, gs, state = _started()
    before = _snapshot(xs, state)
    with pytest.raises(ValueError, match=r"x\[1\] shares memory with g\[0\]"):
        opt.step(xs, [xs[1].reshape(-1)[:3], gs[1], gs[2]], state)
    _assert_unchanged(before, xs, state)


def test_step_if_finite_skips_every_array_for_one_nan():
    opt, xs, gs, state = _started()
    before = _snapshot(xs, state)
    bad = gs[2].copy()
    bad[1] = np.nan
    assert opt.step_if_finite(xs, [gs[0], gs[1], bad], state) is False
    assert (state.skipped, state.skipped_in_a_row) == (1, 1)
    _assert_unchanged(before, xs, state)
    assert opt.step_if_finite(xs, gs, state) is True
    assert state.t == 2 and state.skipped_in_a_row == 0


def test_a_grouped_optimizer_cannot_drive_minimize():
    with pytest.raises(TypeError, match="several groups"):
        make_optimizer(gdfast.Adam.grouped(GROUPS))


# --- state_dict: gdfast's own form, and torch's ---------------------------------

def test_a_restored_grouped_run_continues_with_the_same_bits():
    xs, grads = _problem(steps=10)
    whole, _, _ = _gdfast_run("Adam", dict(amsgrad=True), xs, grads)
    first = gdfast.Adam.grouped(GROUPS, **DEFAULTS, amsgrad=True)
    ys = [x.copy() for x in xs]
    s1 = first.init(ys)
    for gs in grads[:5]:
        first.step(ys, gs, s1)
    saved = pickle.loads(pickle.dumps(first.state_dict(s1)))
    second = gdfast.Adam()                        # one group: load gives it the saved ones
    s2 = second.load_state_dict(saved)
    assert second.group_sizes == (2, 1) and second.param_groups[0]["lr"] == 1e-3
    for gs in grads[5:]:
        second.step(ys, gs, s2)
    for y, w in zip(ys, whole):
        np.testing.assert_array_equal(y, w)


def test_a_bad_grouped_state_dict_changes_nothing():
    opt, xs, gs, state = _started()
    saved = opt.state_dict(state)
    saved["arrays"][2]["state"]["exp_avg"] = np.zeros(4)
    fresh = gdfast.Adam(lr=0.3)
    with pytest.raises(ValueError, match=r"state_dict\['arrays'\]\[2\]"):
        fresh.load_state_dict(saved)
    assert fresh.group_sizes is None and fresh.param_groups[0]["lr"] == 0.3


def test_a_grouped_run_moves_to_torch_and_continues_there():
    torch = pytest.importorskip("torch")
    xs, grads = _problem(steps=10)
    ps, topt_whole = _torch_run("Adam", {}, xs, grads)
    opt = gdfast.Adam.grouped(GROUPS, **DEFAULTS)
    ys = [x.copy() for x in xs]
    state = opt.init(ys)
    for gs in grads[:5]:
        opt.step(ys, gs, state)
    qs = [torch.tensor(y, requires_grad=True) for y in ys]
    topt = torch.optim.Adam([{"params": qs[:2]}, {"params": qs[2:]}], foreach=False)
    topt.load_state_dict(opt.to_torch_state_dict(state))
    assert [g["lr"] for g in topt.param_groups] == [1e-3, 1e-2]
    for gs in grads[5:]:
        for q, g in zip(qs, gs):
            q.grad = torch.tensor(g)
        topt.step()
    for i, (q, p) in enumerate(zip(qs, ps)):
        assert_rel_close(q.detach().numpy().ravel(), p.detach().numpy().ravel(), what=f"x[{i}]")


def test_a_torch_run_in_groups_continues_in_gdfast():
    xs, grads = _problem(steps=10)
    ps, topt = _torch_run("Adam", {}, xs, grads[:5])
    opt = gdfast.Adam.grouped([{"params": 2}, {"params": 1}])    # settings come from torch's
    ys = [p.detach().numpy().copy() for p in ps]
    state = opt.load_torch_state_dict(topt.state_dict(), ys)
    assert state.t == 5 and [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    for gs in grads[5:]:
        opt.step(ys, gs, state)
    whole, _, _ = _gdfast_run("Adam", {}, xs, grads)
    for i, (y, w) in enumerate(zip(ys, whole)):
        assert_rel_close(y.ravel(), w.ravel(), what=f"x[{i}]")


def test_torch_groups_other_than_the_optimizers_are_refused():
    xs, grads = _problem(steps=1)
    _, topt = _torch_run("Adam", {}, xs, grads)
    opt = gdfast.Adam.grouped([{"params": 1, "lr": 0.5}, {"params": 2}])
    with pytest.raises(ValueError, match=r"groups of \[2, 1\].*cover \[1, 2\]"):
        opt.load_torch_state_dict(topt.state_dict(), xs)
    assert opt.param_groups[0]["lr"] == 0.5


def test_a_shaped_rule_in_groups_is_each_arrays_own_run():
    # Adafactor's state depends on the parameters' shape: (2, 4) factored
    xs, grads = _problem(steps=4)
    opt = gdfast.Adafactor.grouped([{"params": 1}, {"params": 2, "lr": 0.1}])
    ys = [x.copy() for x in xs]
    state = opt.init(ys)
    for gs in grads:
        opt.step(ys, gs, state)
    assert state[1].shape == (2, 4)
    np.testing.assert_array_equal(ys[1], _one_array("Adafactor", dict(lr=0.1), xs[1],
                                                    [gs[1] for gs in grads]))
