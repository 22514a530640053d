"""gdfast.ScheduleFreeSGD, ScheduleFreeAdamW (optax.contrib.schedule_free_sgd,
schedule_free_adamw) and PolyakSGD (optax.polyak_sgd) as optimizer objects.

Their trajectories against optax (the fixtures of tests/optax_cases.py,
recorded by tests/make_optax_fixtures.py, and live optax when importable);
the kernels themselves are checked in test_optax_parity.py. Schedule-free's
x is optax's params (the point y); eval_params is optax's
schedule_free_eval_params. PolyakSGD's steps are checked one at a time from
optax's own path (optax_cases.RESTARTED says why). Then optax's defaults,
live hyperparameters, state_dict, bad values and the calls refused.
"""
import inspect
import pathlib
import pickle

import numpy as np
import pytest

import gdfast
from gdfast import reference, schedules
from gdfast.kernels import NORM_WORK
from kernel_helpers import assert_rel_close
from optax_cases import (
    CASES,
    OPTAX_STATE,
    RESTARTED,
    RULE_OF,
    STEPS,
    inputs,
    run_gdfast,
    run_kernel,
    run_optax,
)

FIXTURES = pathlib.Path(__file__).parents[1] / "fixtures" / "optax"
NEW = {"ScheduleFreeSGD", "ScheduleFreeAdamW", "PolyakSGD"}
NEW_CASES = [c for c in CASES if c[1] in NEW]
NEW_IDS = [c[0] for c in NEW_CASES]
SCHEDULE_FREE = ["ScheduleFreeSGD", "ScheduleFreeAdamW"]


def _stored(case):
    data = np.load(FIXTURES / f"{case[0]}.npz")
    assert data["x"].shape == (STEPS, *case[5])
    return data["x"], {name: data[name] for name in OPTAX_STATE[case[3]][1]}


def _from(case, want):
    return want[0] if RULE_OF[case[1]] in RESTARTED else None


def _compare(got, want, case_id):
    (path, state), (want_path, want_state) = got, want
    assert set(state) == set(want_state), case_id
    for what, a, b in [("x", path, want_path),
                       *((name, state[name], want_state[name]) for name in want_state)]:
        assert a.shape == b.shape, what
        assert_rel_close(a.ravel(), b.ravel(), rtol=1e-12, what=f"{case_id}: {what}")


def test_the_cases_cover_the_three_classes():
    assert {c[1] for c in NEW_CASES} == NEW
    assert all((FIXTURES / f"{c[0]}.npz").exists() for c in NEW_CASES)


@pytest.mark.parametrize("case", NEW_CASES, ids=NEW_IDS)
def test_matches_stored_optax_trajectory(case):
    want = _stored(case)
    _compare(run_gdfast(case, _from(case, want)), want, case[0])


@pytest.mark.parametrize("case", [c for c in NEW_CASES if RULE_OF[c[1]] not in RESTARTED],
                         ids=[c[0] for c in NEW_CASES if RULE_OF[c[1]] not in RESTARTED])
def test_schedule_free_gives_optaxs_bits(case):
    """x and every state array of schedule-free are optax's bits at every step
    (its float32 warmup included): held here, as measured when recorded."""
    (path, state), (want_path, want_state) = run_gdfast(case), _stored(case)
    assert path.tobytes() == want_path.tobytes(), case[0]
    for name, a in want_state.items():
        assert state[name].tobytes() == a.tobytes(), (case[0], name)


@pytest.mark.parametrize("case", NEW_CASES, ids=NEW_IDS)
def test_the_facade_gives_the_kernels_bits(case):
    want = _stored(case)
    (path, state) = run_gdfast(case, _from(case, want))
    (k_path, k_state) = run_kernel(case, path_from=_from(case, want))
    assert path.tobytes() == k_path.tobytes(), case[0]
    assert {k: a.tobytes() for k, a in state.items()} == \
        {k: a.tobytes() for k, a in k_state.items()}, case[0]


@pytest.mark.parametrize("case", NEW_CASES, ids=NEW_IDS)
def test_matches_live_optax(case):
    pytest.importorskip("optax")
    want = run_optax(case)
    _compare(run_gdfast(case, _from(case, want)), want, case[0])


@pytest.mark.parametrize("cls", SCHEDULE_FREE)
def test_eval_params_is_optaxs(cls):
    """eval_params(y, state) = optax.contrib.schedule_free_eval_params(state, y)."""
    optax = pytest.importorskip("optax")
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    x0, c, noise = inputs(f"eval-{cls}", (3, 4))
    kw = dict(b1=0.8, warmup_steps=3)
    opt = getattr(gdfast, cls)(lr=0.05, **kw)
    oopt = getattr(optax.contrib, RULE_OF[cls])(learning_rate=0.05, **kw)
    y, params = x0.copy(), jnp.asarray(x0)
    state, ostate = opt.init(y), oopt.init(params)
    for k in range(10):
        opt.step(y, c * y + noise[k], state)
        updates, ostate = oopt.update(jnp.asarray(c * np.asarray(params) + noise[k]), ostate,
                                      params)
        params = optax.apply_updates(params, updates)
    want = np.asarray(optax.contrib.schedule_free_eval_params(ostate, params))
    got = opt.eval_params(y, state)
    assert got.shape == (3, 4)
    assert_rel_close(got.ravel(), want.ravel(), rtol=1e-12, what="eval_params")


@pytest.mark.parametrize("cls", SCHEDULE_FREE)
def test_eval_params_is_the_average_of_the_equations(cls):
    """(y - (1 - b1) z) / b1 (gdfast.reference), x and the state only read; and
    before the first step x_avg is the start (z is a copy of it), to rounding."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3))
    opt = getattr(gdfast, cls)(lr=0.1, b1=0.7)
    state = opt.init(x)
    assert np.array_equal(state["z"], x.ravel())
    assert_rel_close(opt.eval_params(x, state).ravel(), x.ravel(), rtol=1e-15, what="x0")
    for g in rng.standard_normal((4, 2, 3)):
        opt.step(x, g, state)
    before = x.copy(), state["z"].copy()
    want = reference.schedule_free_eval_params(x.ravel().tolist(), state["z"].tolist(), 0.7)
    assert_rel_close(opt.eval_params(x, state).ravel(), want, rtol=1e-15, what="eval")
    assert np.array_equal(x, before[0]) and np.array_equal(state["z"], before[1])
    with pytest.raises(TypeError, match="state"):
        opt.eval_params(np.ones(5), state)


# optax 0.2.8's defaults (schedule_free_sgd's learning_rate 1.0, weight_decay
# None; schedule_free_adamw's learning_rate 0.0025) and positional order
OPTAX_DEFAULTS = {
    "ScheduleFreeSGD": (dict(lr=1.0, warmup_steps=None, b1=0.9, weight_decay=0.0,
                             weight_lr_power=2.0, maximize=False),
                        ["lr", "warmup_steps", "b1", "weight_decay", "weight_lr_power"]),
    "ScheduleFreeAdamW": (dict(lr=0.0025, warmup_steps=None, b1=0.9, b2=0.999, eps=1e-8,
                               weight_decay=0.0, weight_lr_power=2.0, maximize=False),
                          ["lr", "warmup_steps", "b1", "b2", "eps", "weight_decay",
                           "weight_lr_power"]),
    "PolyakSGD": (dict(lr=1.0, max_learning_rate=1.0, f_min=0.0, eps=0.0, variant="sps"), []),
}


@pytest.mark.parametrize("cls", sorted(OPTAX_DEFAULTS))
def test_the_defaults_are_optaxs(cls):
    defaults, positional = OPTAX_DEFAULTS[cls]
    opt = getattr(gdfast, cls)()
    assert opt.hyperparameters() == defaults
    params = inspect.signature(getattr(gdfast, cls)).parameters.values()
    assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    assert opt.rule.defaults["lr"] == defaults["lr"]


@pytest.mark.parametrize("cls,lengths", [
    ("ScheduleFreeSGD", dict(z=6, weight_sum=1, max_lr=1)),
    ("ScheduleFreeAdamW", dict(z=6, nu=6, weight_sum=1, max_lr=1)),
    ("PolyakSGD", dict(work=NORM_WORK)),
])
def test_the_state_arrays(cls, lengths):
    x = np.arange(6.0).reshape(2, 3)
    state = getattr(gdfast, cls)().init(x)
    assert {k: a.shape[0] for k, a in zip(state.names, state.arrays)} == lengths
    for name, a in zip(state.names, state.arrays):
        assert np.array_equal(a, x.ravel()) if name == "z" else not a.any()


N, BEFORE, AFTER = 5, 3, 4
CHANGES = [
    ("ScheduleFreeSGD", "lr", 0.02),
    ("ScheduleFreeSGD", "lr", schedules.exponential_decay(0.2, 0.9)),
    ("ScheduleFreeSGD", "warmup_steps", 10), ("ScheduleFreeSGD", "b1", 0.5),
    ("ScheduleFreeSGD", "weight_decay", 0.1), ("ScheduleFreeSGD", "weight_lr_power", 1.0),
    ("ScheduleFreeSGD", "maximize", True),
    ("ScheduleFreeAdamW", "lr", 0.02), ("ScheduleFreeAdamW", "warmup_steps", 4),
    ("ScheduleFreeAdamW", "b1", 0.5), ("ScheduleFreeAdamW", "b2", 0.9),
    ("ScheduleFreeAdamW", "eps", 1e-3), ("ScheduleFreeAdamW", "weight_decay", 0.1),
    ("ScheduleFreeAdamW", "weight_lr_power", 0.5), ("ScheduleFreeAdamW", "maximize", True),
    ("PolyakSGD", "lr", 0.5), ("PolyakSGD", "lr", schedules.exponential_decay(0.5, 0.9)),
    ("PolyakSGD", "max_learning_rate", 0.1), ("PolyakSGD", "f_min", 0.7),
    ("PolyakSGD", "eps", 0.5), ("PolyakSGD", "variant", "sps+"),
]


def test_the_changes_cover_every_attribute():
    covered = {(c, a) for c, a, _ in CHANGES}
    for cls in NEW:
        for name in getattr(gdfast, cls)().hyperparameters():
            assert (cls, name) in covered, (cls, name)


def _value(x, g):
    return float(0.5 * np.sum((x + g) ** 2))


@pytest.mark.parametrize("cls,name,value", CHANGES,
                         ids=[f"{c}.{a}={getattr(v, 'name', v)}" for c, a, v in CHANGES])
def test_a_live_change_is_used_from_the_next_step(cls, name, value):
    """After ``opt.name = value`` the steps are gdfast.reference's for a fresh
    optimizer with that value, from the run's state."""
    rng = np.random.default_rng(8)
    x, grads = rng.standard_normal(N), rng.standard_normal((BEFORE + AFTER, N))
    polyak = cls == "PolyakSGD"
    opt = getattr(gdfast, cls)(lr=0.3 if polyak else 0.01)
    state = opt.init(x)

    def step(o, x, g, s):
        o.step(x, g, s, _value(x, g)) if polyak else o.step(x, g, s)

    for g in grads[:BEFORE]:
        step(opt, x, g, state)
    ref_x, ref_state = x.tolist(), [a.tolist() for a in state.arrays]
    setattr(opt, name, value)
    assert getattr(opt, name) == value or name == "lr"
    fresh = getattr(gdfast, cls)(**{"lr": 0.3 if polyak else 0.01, name: value})
    rule_ref = getattr(reference, f"{fresh.rule.name}_step")
    for t, g in enumerate(grads[BEFORE:], start=BEFORE + 1):
        if polyak:
            v = _value(np.array(ref_x), g)
            opt.step(x, g, state, _value(x, g))
            rule_ref(ref_x, g.tolist(), v, ref_state, t, float(fresh.lr(t)), fresh.hyper)
        else:
            opt.step(x, g, state)
            rule_ref(ref_x, g.tolist(), ref_state, t, float(fresh.lr(t)), fresh.hyper)
    assert_rel_close(x, ref_x, rtol=1e-12, what="x")


@pytest.mark.parametrize("cls", sorted(NEW))
def test_a_restored_run_continues_with_the_same_bits(cls):
    rng = np.random.default_rng(9)
    x0, grads = rng.standard_normal(6), rng.standard_normal((8, 6))
    polyak = cls == "PolyakSGD"
    options = dict(lr=0.5, variant="sps+") if polyak else dict(lr=0.05, b1=0.8, warmup_steps=3)

    def run(opt, x, state, gs):
        for g in gs:
            opt.step(x, g, state, _value(x, g)) if polyak else opt.step(x, g, state)

    whole = getattr(gdfast, cls)(**options)
    x = x0.copy()
    state = whole.init(x)
    run(whole, x, state, grads)
    first = getattr(gdfast, cls)(**options)
    y = x0.copy()
    s1 = first.init(y)
    run(first, y, s1, grads[:4])
    saved = pickle.loads(pickle.dumps(first.state_dict(s1)))
    assert "work" not in saved["state"]
    second = getattr(gdfast, cls)()
    s2 = second.load_state_dict(saved)
    run(second, y, s2, grads[4:])
    assert second.hyperparameters() == whole.hyperparameters()
    assert y.tobytes() == x.tobytes() and s2.t == state.t and s2.names == state.names
    for name, a, b in zip(state.names, s2.arrays, state.arrays):
        if name != "work":
            assert a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize("cls", SCHEDULE_FREE)
def test_several_arrays_are_each_its_own_run(cls):
    """init([w, b]) and groups: each array's run is its own optimizer's, bit for
    bit (optax's weight_sum and max_lr depend on the rate only, so they are the
    same for every leaf); eval_params takes the list."""
    rng = np.random.default_rng(10)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(4)
    gw, gb = rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 4))
    opt = getattr(gdfast, cls).grouped([{"params": 1, "b1": 0.5}, {"params": 1}], lr=1e-2)
    state = opt.init([w, b])
    alone = [getattr(gdfast, cls)(lr=1e-2, b1=0.5), getattr(gdfast, cls)(lr=1e-2)]
    one_w, one_b = w.copy(), b.copy()
    alone_states = [alone[0].init(one_w), alone[1].init(one_b)]
    for k in range(3):
        opt.step([w, b], [gw[k], gb[k]], state)
        alone[0].step(one_w, gw[k], alone_states[0])
        alone[1].step(one_b, gb[k], alone_states[1])
    assert w.tobytes() == one_w.tobytes() and b.tobytes() == one_b.tobytes()
    ev = opt.eval_params([w, b], state)
    assert ev[0].tobytes() == alone[0].eval_params(one_w, alone_states[0]).tobytes()
    assert ev[1].tobytes() == alone[1].eval_params(one_b, alone_states[1]).tobytes()


@pytest.mark.parametrize("cls", sorted(NEW))
def test_they_have_no_torch_counterpart(cls):
    opt = getattr(gdfast, cls)()
    with pytest.raises(ValueError, match=f"{cls} has no torch.optim counterpart"):
        opt.to_torch_state_dict(opt.init(np.zeros(2)))
    with pytest.raises(ValueError, match=f"{cls} has no torch.optim counterpart"):
        opt.load_torch_state_dict({"state": {}, "param_groups": []}, np.zeros(2))


@pytest.mark.parametrize("cls,name,value,error", [
    ("ScheduleFreeSGD", "b1", 0.0, ValueError), ("ScheduleFreeSGD", "b1", 1.0, ValueError),
    ("ScheduleFreeSGD", "warmup_steps", 2.5, TypeError),
    ("ScheduleFreeSGD", "warmup_steps", -1, ValueError),
    ("ScheduleFreeSGD", "weight_decay", -1e-3, ValueError),
    ("ScheduleFreeSGD", "weight_lr_power", float("nan"), ValueError),
    ("ScheduleFreeSGD", "lr", -1.0, ValueError),
    ("ScheduleFreeAdamW", "b2", 1.0, ValueError), ("ScheduleFreeAdamW", "eps", -1.0, ValueError),
    ("ScheduleFreeAdamW", "maximize", 2, TypeError),
    ("PolyakSGD", "variant", "sps-", ValueError), ("PolyakSGD", "f_min", float("inf"), ValueError),
    ("PolyakSGD", "max_learning_rate", -0.1, ValueError), ("PolyakSGD", "eps", "0", TypeError),
])
def test_bad_values_are_refused_by_name_and_change_nothing(cls, name, value, error):
    with pytest.raises(error, match=name):
        getattr(gdfast, cls)(**{name: value})
    opt = getattr(gdfast, cls)()
    before = opt.hyperparameters()
    with pytest.raises(error, match=name):
        setattr(opt, name, value)
    assert opt.hyperparameters() == before


def test_polyak_needs_the_value_and_one_array():
    opt = gdfast.PolyakSGD()
    x = np.array([1.0, -2.0])
    state = opt.init(x)
    with pytest.raises(TypeError):
        opt.step(x, 2 * x, state)
    with pytest.raises(TypeError, match="value"):
        opt.step(x, 2 * x, state, "1.0")
    assert np.array_equal(x, [1.0, -2.0]) and state.t == 0
    with pytest.raises(TypeError, match="one array"):
        opt.init([x, x.copy()])
    with pytest.raises(TypeError, match="f\\(x\\)"):
        gdfast.minimize(lambda v: float(v @ v), x, opt, jac=lambda v: 2 * v)
    # f = x.x: g = 2x, ||g||^2 = 20, f = 5: step 1/4, x <- x / 2 (optax's docstring example)
    opt.step(x, 2 * x, state, 5.0)
    assert np.array_equal(x, [0.5, -1.0])
    assert not opt.step_if_finite(x, 2 * x, state, float("nan"))
    assert state.skipped == 1 and np.array_equal(x, [0.5, -1.0])
    with pytest.raises(FloatingPointError, match="PolyakSGD"):
        opt.step(x, np.array([np.inf, 0.0]), state, 1.0)


@pytest.mark.parametrize("method", ["schedule_free_sgd", "schedule_free_adamw"])
def test_minimize_runs_schedule_free_by_name(method):
    """minimize's x is y; the averaged x converges as well."""
    res = gdfast.minimize(lambda x: float(x @ x), np.array([2.0, -1.0]), method,
                          jac=lambda x: 2 * x, options={"lr": 0.1}, max_iter=3000)
    assert np.max(np.abs(res.x)) < 1e-2, res
