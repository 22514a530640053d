"""ASGD, Adafactor, Muon and SparseAdam (issue 31 item 5) against live
torch.optim (float64): every CPU configuration of the four in torch's
optimizer test database (torch.testing._internal.common_optimizers.optim_db:
7 ASGD, 5 Adafactor, 7 Muon, 4 SparseAdam; its module needs expecttest, so
the configurations are copied here), 100 steps, within 1e-12 relative
element by element; and the facade's own claims: state_dict round trips,
torch's state_dict both ways, live hyperparameters, bad input refused.

Muon: torch runs the Newton-Schulz iteration in bfloat16 (its
_zeropower_via_newtonschulz casts the update with .bfloat16()), which no
float64 computation reproduces to 1e-12; the parity runs torch's Muon with
that one function replaced by the same iteration in float64 (the rest of
torch's step, momentum, Nesterov, lr adjustment and decay, is torch's own).
"""

import numpy as np
import pytest

import gdfast
from kernel_helpers import assert_rel_close

torch = pytest.importorskip("torch")
torch_muon = pytest.importorskip("torch.optim._muon")
BFLOAT16_ITERATION = torch_muon._zeropower_via_newtonschulz

STEPS = 100
TENSOR_LR = "tensor 0.001"
OPTIM_DB = {
    "ASGD": [{}, {"lambd": 0.1}, {"lr": 0.02}, {"t0": 100}, {"maximize": True},
             {"weight_decay": 0.1}, {"weight_decay": 0.1, "maximize": True}],
    "Adafactor": [{}, {"weight_decay": 0.1, "lr": 0.01}, {"weight_decay": 0.1, "maximize": True},
                  {"beta2_decay": -1.0}, {"d": 1.5}],
    "Muon": [{}, {"lr": 0.01}, {"lr": TENSOR_LR}, {"weight_decay": 0.2}, {"momentum": 0.8},
             {"ns_steps": 6}, {"ns_coefficients": (3.4, -4.7, 2.0)}],
    "SparseAdam": [{}, {"lr": 0.01}, {"lr": TENSOR_LR}, {"maximize": True}],
}
SHAPES = {"ASGD": [(7,), (3, 4, 5), (1000,)], "Adafactor": [(7,), (3, 4, 5), (1000,)],
          "Muon": [(3, 4), (5, 2), (20, 50)], "SparseAdam": [(7,), (3, 4, 5), (1000,)]}
CASES = [(name, k, shape) for name, configs in OPTIM_DB.items() for k in range(len(configs))
         for shape in SHAPES[name]]


def newton_schulz_float64(grad, ns_coefficients, ns_steps, eps):
    """torch's _zeropower_via_newtonschulz without its cast to bfloat16."""
    a, b, c = ns_coefficients
    x = grad.T if grad.size(0) > grad.size(1) else grad
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if grad.size(0) > grad.size(1) else x


@pytest.fixture(autouse=True)
def float64_torch(monkeypatch):
    monkeypatch.setattr(torch_muon, "_zeropower_via_newtonschulz", newton_schulz_float64)
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(dtype)


def _close(name, got, want, what):
    """Within 1e-12 relative, element by element; for Muon relative to the
    array's largest entry: torch's lerp of the momentum buffer is a fused
    multiply-add (one rounding where gdfast's has two), and the Newton-Schulz
    products' entries near 0 are sums that cancel, so an entry 1e-4 of the
    largest carries its absolute error of 1e-16 as 1e-12 relative."""
    got, want = got.ravel(), want.ravel()
    if name != "Muon":
        assert_rel_close(got, want, rtol=1e-12, what=what)
        return
    err = np.max(np.abs(got - want)) / np.max(np.abs(want))
    assert err <= 1e-12, f"{what}: {err:.3g} of the largest entry"


def _kwargs(config, for_torch):
    kw = dict(config)
    if kw.get("lr") == TENSOR_LR:
        kw["lr"] = torch.tensor(0.001) if for_torch else np.array(0.001)
    return kw


def _torch_opt(name, p, config):
    extra = {"foreach": False} if name in ("ASGD", "Adafactor") else {}
    return getattr(torch.optim, name)([p], **extra, **_kwargs(config, True))


def _gradients(name, shape, steps, seed=0):
    """steps gradients: dense arrays, or for SparseAdam (indices, rows) of a random
    subset of the rows (an empty one and one with a row given twice among them)."""
    rng = np.random.default_rng([seed, *shape])
    out = []
    for t in range(steps):
        g = rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 2, shape)
        if name != "SparseAdam":
            out.append(g)
            continue
        rows = shape[0]
        idx = rng.choice(rows, size=rng.integers(0, rows + 1), replace=False)
        if t == 3:
            idx = idx[:0]
        elif t == 5 and idx.size:
            idx = np.concatenate([idx, idx[:1]])
        out.append((idx.astype(np.int64), g[np.arange(idx.size) % rows].copy()))
    return out


def _torch_grad(name, g, shape):
    if name != "SparseAdam":
        return torch.tensor(g)
    idx, values = g
    return torch.sparse_coo_tensor(torch.tensor(idx)[None, :], torch.tensor(values), shape,
                                   check_invariants=False)


def _gdfast_step(opt, x, g, state):
    if isinstance(opt, gdfast.SparseAdam):
        opt.step(x, g[0], g[1], state)
    else:
        opt.step(x, g.copy(), state)


def _torch_run(name, config, x0, grads, opt_state=None):
    p = torch.tensor(x0, requires_grad=True)
    opt = _torch_opt(name, p, config)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    for g in grads:
        p.grad = _torch_grad(name, g, x0.shape)
        opt.step()
    return p.detach().numpy().copy(), opt


@pytest.mark.parametrize("name,k,shape", CASES)
def test_matches_live_torch_on_optim_db_configuration(name, k, shape):
    config = OPTIM_DB[name][k]
    rng = np.random.default_rng([k, *shape])
    x0 = rng.standard_normal(shape)
    grads = _gradients(name, shape, STEPS, k)
    x_torch, opt_torch = _torch_run(name, config, x0, grads)
    opt = getattr(gdfast, name)(**_kwargs(config, False))
    x = x0.copy()
    state = opt.init(x)
    for g in grads:
        _gdfast_step(opt, x, g, state)
    _close(name, x, x_torch, f"{name} {config} x")
    torch_state = opt_torch.state_dict()["state"][0]
    for key, a in opt.to_torch_state_dict(state, shape)["state"][0].items():
        if key != "step":
            _close(name, a.numpy(), torch_state[key].numpy(), key)


def test_muons_orthogonalisation_differs_from_torchs_bfloat16_one_at_its_rounding():
    """torch's own iteration, in bfloat16 (8 bits of mantissa), against gdfast's
    in float64 on the same matrix: they agree to bfloat16's precision and no
    better, which is why the parity above runs torch's iteration in float64.
    With momentum 0, no Nesterov, lr 1 and no decay, x moves by -O."""
    g = np.random.default_rng(2).standard_normal((20, 50))
    opt = gdfast.Muon(lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False)
    x = np.zeros_like(g)
    opt.step(x, g.copy(), opt.init(x))
    ortho = BFLOAT16_ITERATION(torch.tensor(g), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    err = np.linalg.norm(-x - ortho.double().numpy()) / np.linalg.norm(x)
    assert 1e-4 < err < 3e-2, err
    exact = newton_schulz_float64(torch.tensor(g), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    _close("Muon", -x, exact.numpy(), "float64 iteration")


SAVED = {"ASGD": dict(t0=2), "Adafactor": dict(weight_decay=0.1), "Muon": {},
         "SparseAdam": {}}
SAVE_SHAPES = {"ASGD": (3, 4, 5), "Adafactor": (3, 4, 5), "Muon": (5, 2), "SparseAdam": (6, 3)}


@pytest.mark.parametrize("name", list(SAVED))
def test_state_dict_round_trip_continues_with_the_same_bits(name):
    shape = SAVE_SHAPES[name]
    x0 = np.random.default_rng(3).standard_normal(shape)
    grads = _gradients(name, shape, 10, 3)
    opt = getattr(gdfast, name)(**SAVED[name])
    x = x0.copy()
    state = opt.init(x)
    for g in grads[:5]:
        _gdfast_step(opt, x, g, state)
    saved = opt.state_dict(state)
    x_saved = x.copy()
    for g in grads[5:]:
        _gdfast_step(opt, x, g, state)
    other = getattr(gdfast, name)()
    restored = other.load_state_dict(saved)
    assert other.hyperparameters() == opt.hyperparameters()
    for g in grads[5:]:
        _gdfast_step(other, x_saved, g, restored)
    assert np.array_equal(x_saved, x)


@pytest.mark.parametrize("name", list(SAVED))
def test_torch_continues_a_gdfast_run_and_gdfast_a_torch_run(name):
    shape = SAVE_SHAPES[name]
    x0 = np.random.default_rng(4).standard_normal(shape)
    grads = _gradients(name, shape, 8, 4)
    config = SAVED[name]
    x_whole, _ = _torch_run(name, config, x0, grads)
    # gdfast for 4 steps, then torch
    opt = getattr(gdfast, name)(**config)
    x = x0.copy()
    state = opt.init(x)
    for g in grads[:4]:
        _gdfast_step(opt, x, g, state)
    x_torch, _ = _torch_run(name, config, x, grads[4:], opt.to_torch_state_dict(state, shape))
    _close(name, x_torch, x_whole, "gdfast then torch")
    # torch for 4 steps, then gdfast
    x_half, opt_torch = _torch_run(name, config, x0, grads[:4])
    other = getattr(gdfast, name)()
    state = other.load_torch_state_dict(opt_torch.state_dict(), x_half)
    for g in grads[4:]:
        _gdfast_step(other, x_half, g, state)
    _close(name, x_half, x_whole, "torch then gdfast")


LIVE = [("ASGD", "weight_decay", 0.1), ("ASGD", "maximize", True), ("Adafactor", "d", 1.5),
        ("Adafactor", "eps", (1e-30, 1e-2)), ("Muon", "momentum", 0.5),
        ("Muon", "adjust_lr_fn", "match_rms_adamw"), ("SparseAdam", "betas", (0.5, 0.9))]


@pytest.mark.parametrize("name,key,value", LIVE)
def test_a_live_change_is_torchs_change_of_its_param_group(name, key, value):
    """(ASGD's lr, lambd, alpha and t0 are not among them: torch's eta and mu of
    the step after a change were computed with the old values at the end of the
    step before; gdfast's are the new values' from that step on.)"""
    shape = SAVE_SHAPES[name]
    x0 = np.random.default_rng(5).standard_normal(shape)
    grads = _gradients(name, shape, 8, 5)
    p = torch.tensor(x0, requires_grad=True)
    opt_torch = _torch_opt(name, p, {})
    opt = getattr(gdfast, name)()
    x = x0.copy()
    state = opt.init(x)
    for t, g in enumerate(grads):
        if t == 4:
            opt_torch.param_groups[0][key] = value
            opt.param_groups[0][key] = value
        p.grad = _torch_grad(name, g, shape)
        opt_torch.step()
        _gdfast_step(opt, x, g, state)
    assert getattr(opt, key) == value
    _close(name, x, p.detach().numpy(), f"{key} -> {value}")


BAD = [("ASGD", "weight_decay", -0.5), ("ASGD", "t0", float("nan")),
       ("Adafactor", "eps", (-1e-30, 1e-3)), ("Adafactor", "d", 0.0),
       ("Adafactor", "beta2_decay", 0.8), ("Muon", "adjust_lr_fn", "arbitrary"),
       ("Muon", "ns_steps", 100), ("Muon", "ns_coefficients", (1.0, 2.0)),
       ("SparseAdam", "betas", (1.0, 0.0)), ("SparseAdam", "eps", 0.0)]


@pytest.mark.parametrize("name,key,value", BAD)
def test_a_bad_value_names_its_attribute_and_changes_nothing(name, key, value):
    opt = getattr(gdfast, name)()
    before = opt.hyperparameters()
    with pytest.raises((TypeError, ValueError), match=key):
        setattr(opt, key, value)
    with pytest.raises((TypeError, ValueError), match=key):
        getattr(gdfast, name)(**{key: value})
    assert opt.hyperparameters() == before


def test_muon_refuses_parameters_that_are_not_matrices():
    with pytest.raises(ValueError, match="2-D"):
        gdfast.Muon().init(np.zeros((2, 3, 4)))


def test_sparse_adam_refuses_bad_rows_and_changes_nothing():
    opt = gdfast.SparseAdam()
    x = np.ones((4, 2))
    state = opt.init(x)
    for idx, values, match in ((np.array([4]), np.ones((1, 2)), "indices"),
                               (np.array([0.5]), np.ones((1, 2)), "indices"),
                               (np.array([1]), np.ones((1, 3)), "values"),
                               (np.array([1, 2]), np.ones((1, 2)), "values")):
        with pytest.raises((TypeError, ValueError), match=match):
            opt.step(x, idx, values, state)
    assert np.array_equal(x, np.ones((4, 2))) and state.t == 0
    assert not state["exp_avg"].any()


def test_sparse_adam_sums_a_row_given_twice_as_torchs_coalesce():
    opt, twice = gdfast.SparseAdam(lr=0.1), gdfast.SparseAdam(lr=0.1)
    x, y = np.zeros((3, 2)), np.zeros((3, 2))
    s, u = opt.init(x), twice.init(y)
    opt.step(x, np.array([1]), np.array([[3.0, -1.0]]), s)
    twice.step(y, np.array([1, 1]), np.array([[1.0, -2.0], [2.0, 1.0]]), u)
    assert np.array_equal(x, y)


EVERY_ATTRIBUTE = {
    "ASGD": dict(lr=0.02, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1, maximize=True),
    "Adafactor": dict(lr=0.02, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.1,
                      maximize=True),
    "Muon": dict(lr=0.01, weight_decay=0.2, momentum=0.5, nesterov=False,
                 ns_coefficients=(3.4, -4.7, 2.0), eps=1e-3, ns_steps=3,
                 adjust_lr_fn="match_rms_adamw"),
    "SparseAdam": dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3, maximize=True),
}
ATTRIBUTES = [(name, key) for name, values in EVERY_ATTRIBUTE.items() for key in values]


@pytest.mark.parametrize("name,key", ATTRIBUTES)
def test_every_attribute_is_live(name, key):
    """Set mid-run, an attribute gives the steps of a fresh optimizer made with
    the new value continuing from the same state."""
    value = EVERY_ATTRIBUTE[name][key]
    shape = SAVE_SHAPES[name]
    x0 = np.random.default_rng(6).standard_normal(shape)
    grads = _gradients(name, shape, 6, 6)
    opt = getattr(gdfast, name)()
    x = x0.copy()
    state = opt.init(x)
    for g in grads[:3]:
        _gdfast_step(opt, x, g, state)
    fresh = getattr(gdfast, name)(**{key: value})
    y = x.copy()
    other = fresh.init(y)
    for a, b in zip(other.arrays, state.arrays):
        a[:] = b
    other.t = state.t
    setattr(opt, key, value)
    for g in grads[3:]:
        _gdfast_step(opt, x, g, state)
        _gdfast_step(fresh, y, g, other)
    assert np.array_equal(x, y)
    assert not np.array_equal(x, x0)


def _quadratic(x):
    return float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0)


@pytest.mark.parametrize("make", [lambda: gdfast.ASGD(lr=0.1), lambda: gdfast.Adafactor(lr=0.1)])
def test_asgd_and_adafactor_drive_minimize(make):
    res = gdfast.minimize(_quadratic, np.zeros(5), jac=True, method=make())
    np.testing.assert_allclose(res.x, 1.0, rtol=1e-3)


@pytest.mark.parametrize("make", [gdfast.Muon, gdfast.SparseAdam])
def test_muon_and_sparse_adam_refuse_to_drive_minimize(make):
    with pytest.raises(TypeError, match=make.__name__):
        gdfast.minimize(_quadratic, np.zeros(5), jac=True, method=make())
