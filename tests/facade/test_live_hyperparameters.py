"""Live hyperparameters (issue 31 item 1): every hyperparameter of every
optimizer object can be set after construction, is checked as the
constructor checks it, and is used from the next step on.

The oracles: gdfast.reference's pure-Python rules run by a fresh optimizer
made with the new value, from the same state (test_a_live_change_...); live
torch.optim with the same change to its param_groups mid-run
(test_a_live_change_matches_torch).
"""
import numpy as np
import pytest

import gdfast
from gdfast import schedules
from kernel_helpers import assert_rel_close

N, BEFORE, AFTER = 5, 3, 4

# (class, base options, attribute, new value): every attribute of every class
# (test_the_cases_cover_every_attribute), and the changes of layout both ways
CHANGES = [
    ("SGD", dict(lr=0.05, momentum=0.5), "lr", 0.02),
    ("SGD", dict(lr=0.05, momentum=0.5), "momentum", 0.9),
    ("SGD", dict(lr=0.05, momentum=0.5), "dampening", 0.3),
    ("SGD", dict(lr=0.05, momentum=0.5), "weight_decay", 0.1),
    ("SGD", dict(lr=0.05, momentum=0.5), "nesterov", True),
    ("SGD", dict(lr=0.05, momentum=0.5), "maximize", True),
    ("SGD", dict(lr=0.05), "momentum", 0.9),                 # a buffer turned on
    ("SGD", dict(lr=0.05, momentum=0.5), "momentum", 0.0),   # and off
    ("SGD", dict(lr=schedules.exponential_decay(0.05, 0.9)), "lr", 0.02),
    ("Adagrad", dict(lr=0.1), "lr", 0.05),
    ("Adagrad", dict(lr=0.1), "lr_decay", 0.01),
    ("Adagrad", dict(lr=0.1), "weight_decay", 0.1),
    ("Adagrad", dict(lr=0.1), "initial_accumulator_value", 0.5),   # read by init only
    ("Adagrad", dict(lr=0.1), "eps", 1e-3),
    ("Adagrad", dict(lr=0.1), "maximize", True),
    ("RMSprop", dict(), "lr", 0.05),
    ("RMSprop", dict(), "alpha", 0.9),
    ("RMSprop", dict(), "eps", 1e-3),
    ("RMSprop", dict(), "weight_decay", 0.1),
    ("RMSprop", dict(), "momentum", 0.9),
    ("RMSprop", dict(), "centered", True),
    ("RMSprop", dict(), "maximize", True),
    ("RMSprop", dict(momentum=0.5, centered=True), "centered", False),
    ("RMSprop", dict(momentum=0.5, centered=True), "momentum", 0.0),
    ("Adam", dict(lr=0.01), "lr", schedules.exponential_decay(0.02, 0.9)),
    ("Adam", dict(lr=0.01), "betas", (0.8, 0.99)),
    ("Adam", dict(lr=0.01), "eps", 1e-3),
    ("Adam", dict(lr=0.01), "weight_decay", 0.1),
    ("Adam", dict(lr=0.01), "amsgrad", True),
    ("Adam", dict(lr=0.01), "maximize", True),
    ("Adam", dict(lr=0.01, weight_decay=0.1), "decoupled_weight_decay", True),
    ("AdamW", dict(lr=0.01), "lr", 0.02),
    ("AdamW", dict(lr=0.01), "betas", (0.8, 0.99)),
    ("AdamW", dict(lr=0.01), "eps", 1e-3),
    ("AdamW", dict(lr=0.01), "weight_decay", 0.1),
    ("AdamW", dict(lr=0.01, amsgrad=True), "amsgrad", False),
    ("AdamW", dict(lr=0.01), "maximize", True),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), "decoupled_weight_decay", False),
    ("Adamax", dict(lr=0.01), "lr", 0.02),
    ("Adamax", dict(lr=0.01), "betas", (0.8, 0.99)),
    ("Adamax", dict(lr=0.01), "eps", 1e-3),
    ("Adamax", dict(lr=0.01), "weight_decay", 0.1),
    ("Adamax", dict(lr=0.01), "maximize", True),
    ("NAdam", dict(lr=0.01), "lr", 0.02),
    ("NAdam", dict(lr=0.01), "betas", (0.8, 0.99)),
    ("NAdam", dict(lr=0.01), "eps", 1e-3),
    ("NAdam", dict(lr=0.01), "weight_decay", 0.1),
    ("NAdam", dict(lr=0.01), "momentum_decay", 0.01),
    ("NAdam", dict(lr=0.01, weight_decay=0.1), "decoupled_weight_decay", True),
    ("NAdam", dict(lr=0.01), "maximize", True),
    ("RAdam", dict(lr=0.01), "lr", 0.02),
    ("RAdam", dict(lr=0.01), "betas", (0.8, 0.99)),
    ("RAdam", dict(lr=0.01), "eps", 1e-3),
    ("RAdam", dict(lr=0.01), "weight_decay", 0.1),
    ("RAdam", dict(lr=0.01, weight_decay=0.1), "decoupled_weight_decay", True),
    ("RAdam", dict(lr=0.01), "maximize", True),
    ("Adadelta", dict(), "lr", 0.5),
    ("Adadelta", dict(), "rho", 0.5),
    ("Adadelta", dict(), "eps", 1e-3),
    ("Adadelta", dict(), "weight_decay", 0.1),
    ("Adadelta", dict(), "maximize", True),
    ("Rprop", dict(), "lr", 0.1),                           # the initial step size: init's
    ("Rprop", dict(), "etas", (0.3, 1.5)),
    ("Rprop", dict(), "step_sizes", (1e-3, 0.02)),
    ("Rprop", dict(), "maximize", True),
    ("Lion", dict(lr=0.01), "lr", 0.02),
    ("Lion", dict(lr=0.01), "b1", 0.5),
    ("Lion", dict(lr=0.01), "b2", 0.5),
    ("Lion", dict(lr=0.01), "weight_decay", 0.1),
    ("Lion", dict(lr=0.01), "maximize", True),
]
IDS = [f"{c}({','.join(b)}).{a}={v.name if isinstance(v, schedules.Schedule) else v}"
       for c, b, a, v in CHANGES]


def _inputs(steps):
    rng = np.random.default_rng(31)
    # a gradient entry that changes sign, so Rprop's etas and the sign rules act
    grads = rng.standard_normal((steps, N))
    grads[:, 0] = [(-1) ** k for k in range(steps)]
    return rng.standard_normal(N), grads


def _live_run(cls, base, name, value):
    """x and the state after BEFORE steps, the change, and AFTER more steps,
    with the state after BEFORE steps."""
    opt = getattr(gdfast, cls)(**base)
    x, grads = _inputs(BEFORE + AFTER)
    state = opt.init(x)
    for g in grads[:BEFORE]:
        opt.step(x, g, state)
    middle = x.copy(), state.arrays_by_name(), state.t
    middle = middle[0], {k: a.copy() for k, a in middle[1].items()}, middle[2]
    setattr(opt, name, value)
    for g in grads[BEFORE:]:
        opt.step(x, g, state)
    return x, state, middle


def test_the_cases_cover_every_attribute():
    covered = {(c, a) for c, _, a, _ in CHANGES}
    for cls in ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
                "Adadelta", "Rprop", "Lion"):
        for name in getattr(gdfast, cls)().hyperparameters():
            assert (cls, name) in covered, (cls, name)


@pytest.mark.parametrize("cls,base,name,value", CHANGES, ids=IDS)
def test_a_live_change_is_a_fresh_optimizer_from_the_same_state(cls, base, name, value):
    """After ``opt.name = value`` the steps are those of gdfast.reference's rule
    for a fresh optimizer made with that value, continuing from the run's
    state (x, the arrays by name -- a buffer turned on starting as the fresh
    optimizer's init, SGD's momentum buffer as the step's d -- and t)."""
    x, state, (x_mid, held, t) = _live_run(cls, base, name, value)
    # AdamW with decoupled_weight_decay=False is Adam
    make = gdfast.Adam if name == "decoupled_weight_decay" and not value else getattr(gdfast, cls)
    fresh = make(**{**base, name: value})
    start = fresh.init(x_mid).arrays
    ref_state = [list(map(float, held[k] if k in held and a.size else a))
                 for k, a in zip(fresh.rule.state, start)]
    ref_x = list(map(float, x_mid))
    _, grads = _inputs(BEFORE + AFTER)
    restarted = (fresh.rule.name in ("momentum", "nesterov") and "momentum_buffer" not in held)
    for k, g in enumerate(grads[BEFORE:]):
        step = t + k + 1
        t_kernel = 1 if restarted and k == 0 else step
        fresh.rule.reference(ref_x, list(map(float, g)), ref_state, t_kernel, fresh.lr(step),
                             fresh.hyper)
    assert_rel_close(x, ref_x, what=f"{cls}.{name}: x")
    for k, a in zip(fresh.rule.state, ref_state):
        if len(a):
            assert_rel_close(state[k], a, what=f"{cls}.{name}: state[{k!r}]")
    assert state.t == BEFORE + AFTER


# torch has no counterpart for Lion; torch raises KeyError when these turn on a
# buffer its state lacks (gdfast starts it at zeros, as torch's init would); and
# torch keeps NAdam's mu_product from the old factors (docs/optimizers.md)
NOT_IN_TORCH = {("Lion", a) for a in ("lr", "b1", "b2", "weight_decay", "maximize")} | {
    ("RMSprop", "momentum"), ("RMSprop", "centered"), ("Adam", "amsgrad"),
    ("NAdam", "betas"), ("NAdam", "momentum_decay")}
TORCH_CHANGES = [(c, b, a, v) for c, b, a, v in CHANGES
                 if (c, a) not in NOT_IN_TORCH or (c, b, a) == ("RMSprop", {"momentum": 0.5,
                                                                          "centered": True},
                                                               "momentum")
                 if not isinstance(v, schedules.Schedule)
                 and not isinstance(b.get("lr"), schedules.Schedule)]


def _torch_run(cls, base, name, value):
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    x0, grads = _inputs(BEFORE + AFTER)
    p = torch.tensor(x0, requires_grad=True)
    defaults = getattr(gdfast, cls)(**base).hyperparameters()
    opt = getattr(torch.optim, cls)([p], foreach=False,
                                    **{k: v for k, v in defaults.items()
                                       if not (cls == "AdamW" and k == "decoupled_weight_decay")})
    for k, g in enumerate(grads):
        if k == BEFORE:
            opt.param_groups[0][name] = value
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy(), {k: v.numpy() for k, v in opt.state[p].items()
                                if k not in ("step", "mu_product")}


@pytest.mark.parametrize("cls,base,name,value", TORCH_CHANGES,
                         ids=[IDS[CHANGES.index(c)] for c in TORCH_CHANGES])
def test_a_live_change_matches_torch(cls, base, name, value):
    """``opt.param_groups[0][name] = value`` between two steps, in gdfast and in
    torch.optim: the same trajectory and state (1e-12)."""
    want_x, want_state = _torch_run(cls, base, name, value)
    opt = getattr(gdfast, cls)(**base)
    x, grads = _inputs(BEFORE + AFTER)
    state = opt.init(x)
    for k, g in enumerate(grads):
        if k == BEFORE:
            opt.param_groups[0][name] = value
        opt.step(x, g, state)
    assert_rel_close(x, want_x, what=f"{cls}.{name}: x")
    held = state.arrays_by_name()
    assert set(held) == set(want_state)
    for k, a in want_state.items():
        assert_rel_close(held[k], a, what=f"{cls}.{name}: state[{k!r}]")


def test_sgd_momentum_turned_on_mid_run_starts_its_buffer_as_torch_does():
    # torch starts the buffer as the step's d; with dampening 0.3 a buffer of
    # zeros would give 0.7 d instead
    want = _torch_run("SGD", dict(lr=0.05, dampening=0.3), "momentum", 0.9)
    x, state, _ = _live_run("SGD", dict(lr=0.05, dampening=0.3), "momentum", 0.9)
    assert_rel_close(x, want[0], what="x")
    assert_rel_close(state["momentum_buffer"], want[1]["momentum_buffer"], what="buffer")


def test_a_buffer_turned_off_and_on_again_continues_as_in_torch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    x0, grads = _inputs(9)
    p = torch.tensor(x0, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.05, momentum=0.5, foreach=False)
    opt = gdfast.SGD(lr=0.05, momentum=0.5)
    x = x0.copy()
    state = opt.init(x)
    for k, g in enumerate(grads):
        if k in (3, 6):
            topt.param_groups[0]["momentum"] = opt.momentum = 0.0 if k == 3 else 0.9
        p.grad = torch.tensor(g)
        topt.step()
        opt.step(x, g, state)
    assert_rel_close(x, p.detach().numpy(), what="x")


BAD_VALUES = {"lr": -1.0, "momentum": -0.5, "dampening": float("inf"), "weight_decay": -1.0,
              "nesterov": "yes", "maximize": 2, "lr_decay": -1.0,
              "initial_accumulator_value": -1.0, "eps": -1e-8, "alpha": 1.5, "centered": None,
              "betas": (0.9, 1.0), "amsgrad": "no", "decoupled_weight_decay": 0.5,
              "momentum_decay": float("nan"), "rho": 2.0, "etas": (1.5, 1.2),
              "step_sizes": (1.0, 0.5), "b1": -0.1, "b2": 1.1}


@pytest.mark.parametrize("cls,name", sorted({(c, a) for c, _, a, _ in CHANGES}))
def test_a_bad_value_names_the_attribute_and_changes_nothing(cls, name):
    opt = getattr(gdfast, cls)()
    twin = getattr(gdfast, cls)()
    before = opt.hyperparameters(), opt.hyper, opt.lr, opt.rule
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        setattr(opt, name, BAD_VALUES[name])
    assert (opt.hyperparameters(), opt.hyper, opt.lr, opt.rule) == before
    x, y, g = np.ones(3), np.ones(3), np.full(3, 0.5)
    opt.step(x, g, opt.init(x))
    twin.step(y, g, twin.init(y))
    assert x.tobytes() == y.tobytes()


def test_a_combination_the_constructor_refuses_is_refused_live():
    opt = gdfast.SGD(lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match="nesterov=True requires momentum > 0"):
        opt.momentum = 0.0
    assert opt.momentum == 0.9 and opt.rule.name == "nesterov"
    opt.set_hyperparameters(momentum=0.0, nesterov=False)     # together, checked together
    assert opt.rule.name == "gd"


def test_derived_and_unknown_attributes_raise():
    opt = gdfast.Adam()
    with pytest.raises(AttributeError, match="derived from the hyperparameters"):
        opt.hyper = (0.5,)
    with pytest.raises(AttributeError, match="Adam has no hyperparameter 'momentum'"):
        opt.momentum = 0.9
    with pytest.raises(KeyError, match="no hyperparameter 'foreach'"):
        opt.param_groups[0]["foreach"] = True
    with pytest.raises(TypeError, match="has no hyperparameter"):
        opt.set_hyperparameters(alpha=0.5)


def test_param_groups_reads_the_values_as_given():
    lr = schedules.cosine_decay(0.1, 10)
    opt = gdfast.RMSprop(lr=lr, centered=1)
    group = opt.param_groups[0]
    assert group["lr"] is lr and group["centered"] is True and len(opt.param_groups) == 1
    group["lr"] = np.array(0.5)
    assert group["lr"] == 0.5 and opt.lr(7) == 0.5 and dict(group) == opt.hyperparameters()


def test_minimize_runs_with_the_changed_hyperparameters():
    def fun(x):
        return float(np.sum((x - 3.0) ** 2)), 2.0 * (x - 3.0)
    opt = gdfast.Adam(lr=0.001)
    opt.lr, opt.betas = 0.1, (0.5, 0.9)
    got = gdfast.minimize(fun, np.zeros(3), method=opt, jac=True, max_iter=50)
    want = gdfast.minimize(fun, np.zeros(3), method=gdfast.Adam(lr=0.1, betas=(0.5, 0.9)),
                           jac=True, max_iter=50)
    assert got.x.tobytes() == want.x.tobytes()


def test_a_live_change_changes_the_checkpoint_fingerprint():
    from gdfast.checkpoint import optimizer_fingerprint
    for opt, name, value in ((gdfast.Adam(), "betas", (0.8, 0.99)), (gdfast.SGD(), "lr", 0.5),
                             (gdfast.Adagrad(), "initial_accumulator_value", 0.1)):
        before = optimizer_fingerprint(opt)
        setattr(opt, name, value)
        assert optimizer_fingerprint(opt) != before, name
