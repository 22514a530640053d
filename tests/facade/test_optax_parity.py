"""optax's rules in gdfast against optax (jax with x64 enabled): the kernels
of all nine (AdaBelief, Yogi, Adan, LAMB, LARS, NovoGrad, schedule-free SGD
and AdamW, Polyak SGD), and the optimizer objects of the first six.

The trajectories (x after each of 100 steps, and optax's final state arrays
by name) of the cases of tests/optax_cases.py -- optax's alias test
configurations and a few more, on shapes (7,) and (3, 4, 5) -- were recorded
by tests/make_optax_fixtures.py with optax 0.2.8 and jax 0.10.2 (CPU) into
tests/fixtures/optax/; gdfast must stay within 1e-12 relative of them, and
of live optax when jax and optax are importable (they are in no extra of
pyproject.toml: too heavy). AdaBelief, Yogi, Adan and schedule-free SGD /
AdamW gave the same bits when the fixtures were made; LAMB, LARS and
NovoGrad differ in the last bits of their norms (XLA's summation order is
its own), at most 8e-13 relative over the 100 steps; Polyak SGD is checked
step by step from optax's own path (optax_cases.RESTARTED says why). The
kernels of every case are checked directly (MORE_RULES, serial and
parallel); the optimizer objects of AdaBelief ... NovoGrad through the
facade here: optax's defaults, live hyperparameters, state_dict, and bad
values refused by name. The objects ScheduleFreeSGD, ScheduleFreeAdamW and
PolyakSGD are tested in test_optax_schedule_free.py."""
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
    run_gdfast,
    run_kernel,
    run_optax,
)

FIXTURES = pathlib.Path(__file__).parents[1] / "fixtures" / "optax"
IDS = [c[0] for c in CASES]
# the rules with an optimizer class in gdfast (any others are run as kernels only)
FACADE = {"AdaBelief", "Yogi", "Adan", "LAMB", "LARS", "NovoGrad"}
CLASSES = sorted(FACADE)
FACADE_CASES = [c for c in CASES if c[1] in FACADE]
FACADE_IDS = [c[0] for c in FACADE_CASES]


def _compare(got, want, case_id):
    (path, state), (want_path, want_state) = got, want
    assert set(state) == set(want_state), case_id
    for what, a, b in [("x", path, want_path),
                       *((name, state[name], want_state[name]) for name in want_state)]:
        assert a.shape == b.shape, what
        assert_rel_close(a.ravel(), b.ravel(), rtol=1e-12, what=f"{case_id}: {what}")


def _stored(case):
    data = np.load(FIXTURES / f"{case[0]}.npz")
    assert data["x"].shape == (STEPS, *case[5])
    return data["x"], {name: data[name] for name in OPTAX_STATE[case[3]][1]}


def path_from(case, want):
    """optax's path, for the rules checked step by step from it (RESTARTED:
    optax_cases.py says why), else None."""
    return want[0] if RULE_OF[case[1]] in RESTARTED else None


@pytest.mark.parametrize("case", FACADE_CASES, ids=FACADE_IDS)
def test_matches_stored_optax_trajectory(case):
    _compare(run_gdfast(case), _stored(case), case[0])


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kernel_matches_stored_optax_trajectory(case, parallel):
    want = _stored(case)
    _compare(run_kernel(case, parallel, path_from(case, want)), want, case[0])


@pytest.mark.parametrize("case", FACADE_CASES, ids=FACADE_IDS)
def test_the_facade_gives_the_kernels_bits(case):
    """The optimizer object steps as its rule's kernel called by hand (state
    allocation, hyperparameter tuple, the kernel chosen by size)."""
    (path, state), (want_path, want_state) = run_gdfast(case), run_kernel(case)
    assert path.tobytes() == want_path.tobytes(), case[0]
    assert {k: a.tobytes() for k, a in state.items()} == \
        {k: a.tobytes() for k, a in want_state.items()}, case[0]


@pytest.mark.parametrize("case", FACADE_CASES, ids=FACADE_IDS)
def test_matches_live_optax(case):
    pytest.importorskip("optax")   # not installed by any extra; the fixtures cover its absence
    _compare(run_gdfast(case), run_optax(case), case[0])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kernel_matches_live_optax(case):
    pytest.importorskip("optax")
    want = run_optax(case)
    _compare(run_kernel(case, path_from=path_from(case, want)), want, case[0])


def test_every_fixture_belongs_to_a_case():
    assert {p.stem for p in FIXTURES.glob("*.npz")} == set(IDS)


def test_the_defaults_are_optaxs():
    """optax.adabelief(b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16),
    optax.yogi(b1=0.9, b2=0.999, eps=1e-3) with scale_by_yogi's eps_root=0 and
    initial_accumulator_value=1e-6 (optax requires a learning rate)."""
    belief = gdfast.AdaBelief().hyperparameters()
    assert {k: belief[k] for k in ("b1", "b2", "eps", "eps_root", "weight_decay")} == dict(
        b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, weight_decay=0.0)
    assert belief["nesterov"] is False or belief["nesterov"] == 0
    yogi = gdfast.Yogi().hyperparameters()
    assert {k: yogi[k] for k in ("b1", "b2", "eps", "eps_root", "initial_accumulator_value")} \
        == dict(b1=0.9, b2=0.999, eps=1e-3, eps_root=0.0, initial_accumulator_value=1e-6)
    state = gdfast.Yogi().init(np.zeros(3))
    assert np.array_equal(state["mu"], np.full(3, 1e-6))
    assert np.array_equal(state["nu"], np.full(3, 1e-6))
    assert list(inspect.signature(gdfast.AdaBelief).parameters)[:5] == \
        ["lr", "b1", "b2", "eps", "eps_root"]
    assert list(inspect.signature(gdfast.Yogi).parameters)[:4] == ["lr", "b1", "b2", "eps"]


# optax 0.2.8's defaults (optax requires a learning rate: MORE_RULES's, the
# papers'), and optax's positional order (LARS's masks have no counterpart,
# so its arguments after weight_decay are keyword only)
OPTAX_DEFAULTS = {
    "Adan": (dict(lr=1e-3, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=1e-8,
                  weight_decay=0.0), ["lr", "b1", "b2", "b3", "eps", "eps_root", "weight_decay"]),
    "LAMB": (dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0),
             ["lr", "b1", "b2", "eps", "eps_root", "weight_decay"]),
    "LARS": (dict(lr=0.1, weight_decay=0.0, trust_coefficient=1e-3, eps=0.0, momentum=0.9,
                  nesterov=False), ["lr", "weight_decay"]),
    "NovoGrad": (dict(lr=1e-2, b1=0.9, b2=0.25, eps=1e-6, eps_root=0.0, weight_decay=0.0),
                 ["lr", "b1", "b2", "eps", "eps_root", "weight_decay"]),
}


@pytest.mark.parametrize("cls", sorted(OPTAX_DEFAULTS))
def test_the_defaults_of_the_new_rules_are_optaxs(cls):
    defaults, positional = OPTAX_DEFAULTS[cls]
    opt = getattr(gdfast, cls)()
    assert opt.hyperparameters() == {**defaults, "maximize": False}
    params = inspect.signature(getattr(gdfast, cls)).parameters.values()
    assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    rule = opt.rule
    assert {k: v for k, v in rule.defaults.items() if k != "maximize"} == \
        {k: float(v) for k, v in defaults.items()}


@pytest.mark.parametrize("cls,lengths", [
    ("Adan", dict(m=6, v=6, n=6, g=6)), ("LAMB", dict(mu=6, nu=6, work=NORM_WORK)),
    ("LARS", dict(trace=6, work=NORM_WORK)), ("NovoGrad", dict(mu=6, nu=1, work=NORM_WORK)),
])
def test_the_state_arrays(cls, lengths):
    """optax's names; the layer-wise rules' scratch 'work' of kernels.NORM_WORK
    entries and NovoGrad's one-number nu, all starting at 0, for x of any shape."""
    state = getattr(gdfast, cls)().init(np.ones((2, 3)))
    assert {k: a.shape[0] for k, a in zip(state.names, state.arrays)} == lengths
    assert all(not a.any() for a in state.arrays)


N, BEFORE, AFTER = 5, 3, 4
CHANGES = [
    ("AdaBelief", "lr", 0.02), ("AdaBelief", "lr", schedules.exponential_decay(0.02, 0.9)),
    ("AdaBelief", "b1", 0.5), ("AdaBelief", "b2", 0.9), ("AdaBelief", "eps", 1e-3),
    ("AdaBelief", "eps_root", 1e-4), ("AdaBelief", "weight_decay", 0.1),
    ("AdaBelief", "nesterov", True), ("AdaBelief", "maximize", True),
    ("Yogi", "lr", 0.02), ("Yogi", "b1", 0.5), ("Yogi", "b2", 0.9), ("Yogi", "eps", 1e-6),
    ("Yogi", "eps_root", 1e-4), ("Yogi", "maximize", True),
    ("Yogi", "initial_accumulator_value", 0.5),          # read by init only
    ("Adan", "lr", 0.02), ("Adan", "b1", 0.5), ("Adan", "b2", 0.5), ("Adan", "b3", 0.9),
    ("Adan", "eps", 1e-3), ("Adan", "eps_root", 1e-4), ("Adan", "weight_decay", 0.1),
    ("Adan", "maximize", True),
    ("LAMB", "lr", schedules.exponential_decay(0.02, 0.9)), ("LAMB", "b1", 0.5),
    ("LAMB", "b2", 0.9), ("LAMB", "eps", 1e-3), ("LAMB", "eps_root", 1e-4),
    ("LAMB", "weight_decay", 0.1), ("LAMB", "maximize", True),
    ("LARS", "lr", 0.02), ("LARS", "weight_decay", 0.1), ("LARS", "trust_coefficient", 0.5),
    ("LARS", "eps", 1e-3), ("LARS", "momentum", 0.5), ("LARS", "nesterov", True),
    ("LARS", "maximize", True),
    ("NovoGrad", "lr", 0.02), ("NovoGrad", "b1", 0.5), ("NovoGrad", "b2", 0.9),
    ("NovoGrad", "eps", 1e-3), ("NovoGrad", "eps_root", 1e-4),
    ("NovoGrad", "weight_decay", 0.1), ("NovoGrad", "maximize", True),
]


def test_the_changes_cover_every_attribute():
    covered = {(c, a) for c, a, _ in CHANGES}
    for cls in CLASSES:
        for name in getattr(gdfast, cls)().hyperparameters():
            assert (cls, name) in covered, (cls, name)


@pytest.mark.parametrize("cls,name,value", CHANGES,
                         ids=[f"{c}.{a}={getattr(v, 'name', v)}" for c, a, v in CHANGES])
def test_a_live_change_is_used_from_the_next_step(cls, name, value):
    """After ``opt.name = value`` the steps are gdfast.reference's for a fresh
    optimizer with that value, from the run's state; initial_accumulator_value
    is read by init (a state made after the change starts from it)."""
    rng = np.random.default_rng(8)
    x, grads = rng.standard_normal(N), rng.standard_normal((BEFORE + AFTER, N))
    opt = getattr(gdfast, cls)(lr=0.01)
    state = opt.init(x)
    for g in grads[:BEFORE]:
        opt.step(x, g, state)
    ref_x, ref_state = x.tolist(), [a.tolist() for a in state.arrays]
    setattr(opt, name, value)
    assert getattr(opt, name) == value or name == "lr"
    fresh = getattr(gdfast, cls)(**{"lr": 0.01, name: value})
    rule_ref = getattr(reference, f"{fresh.rule.name}_step")
    for t, g in enumerate(grads[BEFORE:], start=BEFORE + 1):
        opt.step(x, g, state)
        rule_ref(ref_x, g.tolist(), ref_state, t, float(fresh.lr(t)), fresh.hyper)
    assert_rel_close(x, ref_x, rtol=1e-12, what="x")
    if name == "initial_accumulator_value":
        assert np.array_equal(opt.init(x)["nu"], np.full(N, value))


@pytest.mark.parametrize("cls", CLASSES)
def test_a_restored_run_continues_with_the_same_bits(cls):
    rng = np.random.default_rng(9)
    x0, grads = rng.standard_normal(6), rng.standard_normal((8, 6))
    options = dict(lr=0.05, **({"momentum": 0.8} if cls == "LARS" else {"b1": 0.8}))
    whole = getattr(gdfast, cls)(**options)
    x = x0.copy()
    state = whole.init(x)
    for g in grads:
        whole.step(x, g, state)
    first = getattr(gdfast, cls)(**options)
    y = x0.copy()
    s1 = first.init(y)
    for g in grads[:4]:
        first.step(y, g, s1)
    second = getattr(gdfast, cls)()
    s2 = second.load_state_dict(pickle.loads(pickle.dumps(first.state_dict(s1))))
    for g in grads[4:]:
        second.step(y, g, s2)
    assert second.hyperparameters() == whole.hyperparameters()
    assert y.tobytes() == x.tobytes() and s2.t == state.t
    assert s2.names == state.names
    for name, a, b in zip(state.names, s2.arrays, state.arrays):
        if name != "work":                  # scratch, not saved
            assert a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize("cls", ["LAMB", "LARS", "NovoGrad"])
def test_the_scratch_is_not_saved_and_a_bad_length_is_refused(cls):
    opt = getattr(gdfast, cls)()
    x = np.ones(3)
    state = opt.init(x)
    opt.step(x, np.full(3, 0.5), state)
    d = opt.state_dict(state)
    assert "work" not in d["state"] and "work" in d["names"]
    assert opt.load_state_dict(d)["work"].shape == (NORM_WORK,)
    name = "nu" if cls == "NovoGrad" else state.names[0]
    d["state"][name] = np.zeros(2)
    with pytest.raises(ValueError, match=rf"state\[{name!r}\]"):
        opt.load_state_dict(d)


@pytest.mark.parametrize("cls", ["LAMB", "NovoGrad"])
def test_several_arrays_are_layers_of_their_own_and_restore_bitwise(cls):
    """init([w, b]): each array its own layer (as each leaf in optax), in its
    group's settings; the state_dict of several arrays continues bit for bit."""
    rng = np.random.default_rng(10)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(4)
    gw, gb = rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 4))
    opt = getattr(gdfast, cls).grouped([{"params": 1, "lr": 1e-3}, {"params": 1}], lr=1e-2)
    state = opt.init([w, b])
    one_w, one_b = w.copy(), b.copy()
    alone = [getattr(gdfast, cls)(lr=1e-3), getattr(gdfast, cls)(lr=1e-2)]
    alone_states = [alone[0].init(one_w), alone[1].init(one_b)]
    opt.step([w, b], [gw[0], gb[0]], state)
    alone[0].step(one_w, gw[0], alone_states[0])
    alone[1].step(one_b, gb[0], alone_states[1])
    assert w.tobytes() == one_w.tobytes() and b.tobytes() == one_b.tobytes()
    restored = getattr(gdfast, cls)()
    again = restored.load_state_dict(pickle.loads(pickle.dumps(opt.state_dict(state))))
    w2, b2 = w.copy(), b.copy()
    for k in (1, 2):
        opt.step([w, b], [gw[k], gb[k]], state)
        restored.step([w2, b2], [gw[k], gb[k]], again)
    assert w.tobytes() == w2.tobytes() and b.tobytes() == b2.tobytes()


@pytest.mark.parametrize("cls", CLASSES)
def test_they_have_no_torch_counterpart(cls):
    opt = getattr(gdfast, cls)()
    with pytest.raises(ValueError, match=f"{cls} has no torch.optim counterpart"):
        opt.to_torch_state_dict(opt.init(np.zeros(2)))
    with pytest.raises(ValueError, match=f"{cls} has no torch.optim counterpart"):
        opt.load_torch_state_dict({"state": {}, "param_groups": []}, np.zeros(2))


@pytest.mark.parametrize("cls,name,value,error", [
    ("AdaBelief", "b1", 1.0, ValueError), ("AdaBelief", "b2", -0.1, ValueError),
    ("AdaBelief", "eps", -1e-8, ValueError), ("AdaBelief", "eps_root", float("nan"), ValueError),
    ("AdaBelief", "weight_decay", float("inf"), ValueError), ("AdaBelief", "lr", -1.0, ValueError),
    ("AdaBelief", "nesterov", 2, (TypeError, ValueError)),
    ("Yogi", "b1", 1.5, ValueError), ("Yogi", "eps", "1e-3", TypeError),
    ("Yogi", "initial_accumulator_value", -1e-6, ValueError),
    ("Adan", "b3", 1.0, ValueError), ("Adan", "eps_root", -1.0, ValueError),
    ("LAMB", "b2", 1.0, ValueError), ("LAMB", "weight_decay", -1e-3, ValueError),
    ("LARS", "trust_coefficient", 0.0, ValueError), ("LARS", "momentum", 1.0, ValueError),
    ("LARS", "nesterov", 0.5, (TypeError, ValueError)),
    ("NovoGrad", "b2", -0.1, ValueError), ("NovoGrad", "eps", float("nan"), ValueError),
])
def test_bad_values_are_refused_by_name_and_change_nothing(cls, name, value, error):
    with pytest.raises(error, match=name):
        getattr(gdfast, cls)(**{name: value})
    opt = getattr(gdfast, cls)()
    before = opt.hyperparameters()
    with pytest.raises(error, match=name):
        setattr(opt, name, value)
    assert opt.hyperparameters() == before


# LARS's default trust_coefficient makes its steps 1e-3 of lr; NovoGrad's steps
# have a length of their own (the gradient over its norm): a decaying lr
METHOD_OPTIONS = {"lars": dict(trust_coefficient=1.0),
                  "novograd": dict(lr=schedules.exponential_decay(0.05, 0.99))}


@pytest.mark.parametrize("method", ["adabelief", "yogi", "adan", "lamb", "lars", "novograd"])
def test_minimize_runs_them_by_name(method):
    res = gdfast.minimize(lambda x: float(x @ x), np.array([2.0, -1.0]), method,
                          jac=lambda x: 2 * x,
                          options={"lr": 0.05, **METHOD_OPTIONS.get(method, {})}, max_iter=2000)
    assert np.max(np.abs(res.x)) < 1e-2, res
