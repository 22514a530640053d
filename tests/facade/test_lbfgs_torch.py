"""gdfast.LBFGS against live torch.optim.LBFGS (float64): the 5 LBFGS
configurations of torch's optimizer test database
(torch.testing._internal.common_optimizers.optim_inputs_func_lbfgs: default,
lr 0.01, a tensor lr 0.001, tolerance_grad 1e-6, strong_wolfe), on a smooth
convex problem, step by step to 1e-10 relative; and Rosenbrock's valley,
where a 1-ulp change of x0 already moves torch's own trajectory by up to
1e-5: there gdfast must stay as close to torch as torch stays to itself.
torch's closure calls the same numba objective, so only the optimizers'
arithmetic differs."""
import numba
import numpy as np
import pytest

import gdfast
from kernel_helpers import rosenbrock

torch = pytest.importorskip("torch")
# one worker under -n: the loops compiled for these objectives are cached on
# disk, but two workers starting on a cold cache at once compiled each twice
# (12 s in GDFAST_COMPILE_LOG's log of a clean-clone run)
pytestmark = pytest.mark.xdist_group("lbfgs-torch")

TORCH_CONFIGS = [{}, {"lr": 0.01}, {"lr": "tensor 0.001"}, {"tolerance_grad": 1e-6},
                 {"line_search_fn": "strong_wolfe"}]
N, STEPS = 16, 8


@gdfast.cached_objective            # the kernels compiled for it are cached on disk
@numba.njit(cache=True)
def smooth_convex(x, g, a):
    """sum_i a_i (x_i - 1)^2 / 2 + log cosh(x_i + x_{i+1}): convex, curvature 0.5 .. 50."""
    f = 0.0
    for i in range(x.size):
        f += 0.5 * a[i] * (x[i] - 1.0) ** 2
        g[i] = a[i] * (x[i] - 1.0)
    for i in range(x.size - 1):
        u = x[i] + x[i + 1]
        f += np.log(np.cosh(u))
        th = np.tanh(u)
        g[i] += th
        g[i + 1] += th
    return f


A = np.geomspace(0.5, 50.0, N)


def _torch_kwargs(config):
    kw = dict(config)
    if kw.get("lr") == "tensor 0.001":
        kw["lr"] = torch.tensor(0.001)
    return kw


def _gdfast_kwargs(config):
    kw = dict(config)
    if kw.get("lr") == "tensor 0.001":
        kw["lr"] = np.array(0.001)
    return kw


def _torch_closure(p, fun, args):
    """torch's closure for parameter p, evaluated by the numba objective fun(x, g, *args)."""
    def closure():
        g = np.empty(p.numel())
        f = fun(p.detach().numpy().copy(), g, *args)
        p.grad = torch.from_numpy(g)
        return torch.tensor(f)
    return closure


def torch_trajectory(fun, args, x0, config, steps):
    torch.set_default_dtype(torch.float64)
    p = torch.tensor(x0.copy(), requires_grad=True)
    opt = torch.optim.LBFGS([p], **_torch_kwargs(config))

    closure = _torch_closure(p, fun, args)
    xs = []
    for _ in range(steps):
        opt.step(closure)
        xs.append(p.detach().numpy().copy())
    st = opt.state[p]
    return np.array(xs), st["func_evals"], st["n_iter"]


def gdfast_trajectory(fun, args, x0, config, steps, jac="inplace"):
    opt = gdfast.LBFGS(**_gdfast_kwargs(config))
    x = x0.copy()
    state = opt.init(x)
    xs = []
    for _ in range(steps):
        if jac == "inplace":
            opt.step(fun, x, state, jac="inplace", args=args)
        else:
            def value_and_grad(x, *args):
                g = np.empty(x.size)
                return fun(x, g, *args), g
            opt.step(value_and_grad, x, state, args=args)
        xs.append(x.copy())
    return np.array(xs), state.func_evals, state.n_iter


def _rel(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), axis=-1)


@pytest.mark.parametrize("config", TORCH_CONFIGS, ids=lambda c: "-".join(map(str, c.items()))
                         or "default")
def test_torchs_lbfgs_configurations_step_for_step(config):
    x0 = np.random.default_rng(5).uniform(-2.0, 2.0, N)
    want, evals, iters = torch_trajectory(smooth_convex, (A,), x0, config, STEPS)
    got, got_evals, got_iters = gdfast_trajectory(smooth_convex, (A,), x0, config, STEPS)
    assert (got_evals, got_iters) == (evals, iters)
    assert np.all(_rel(got, want) <= 1e-10), _rel(got, want)


@pytest.mark.parametrize("config", [{}, {"line_search_fn": "strong_wolfe", "history_size": 3,
                                         "max_iter": 7}], ids=["default", "wolfe-m3"])
def test_rosenbrock_stays_as_close_to_torch_as_torch_to_itself(config):
    x0 = np.tile([-1.2, 1.0], 5)
    config = dict(config, lr=config.get("lr", 1.0 if config else 0.01))
    want, evals, _ = torch_trajectory(rosenbrock, (), x0, config, 12)
    x0_ulp = x0.copy()
    x0_ulp[0] = np.nextafter(x0[0], 0.0)
    itself, *_ = torch_trajectory(rosenbrock, (), x0_ulp, config, 12)
    got, got_evals, _ = gdfast_trajectory(rosenbrock, (), x0, config, 12)
    assert got_evals == evals
    spread = np.maximum.accumulate(_rel(itself, want))       # torch against itself, so far
    assert np.all(_rel(got, want) <= np.maximum(1e-10, 100.0 * spread)), (_rel(got, want), spread)


def test_a_python_objective_gives_the_compiled_ones_bits():
    x0 = np.random.default_rng(6).uniform(-2.0, 2.0, N)
    config = {"line_search_fn": "strong_wolfe", "history_size": 4}
    compiled = gdfast_trajectory(smooth_convex, (A,), x0, config, 3)
    python = gdfast_trajectory(smooth_convex, (A,), x0, config, 3, jac=True)
    assert np.array_equal(compiled[0], python[0]) and compiled[1:] == python[1:]


def test_serial_and_parallel_steps_give_the_same_bits(monkeypatch):
    import gdfast.quasi_newton.lbfgs as facade
    n = 40_000
    a = np.geomspace(0.5, 50.0, n)
    x0 = np.random.default_rng(7).uniform(-2.0, 2.0, n)
    config = {"line_search_fn": "strong_wolfe", "history_size": 5, "max_iter": 6}
    parallel = gdfast_trajectory(smooth_convex, (a,), x0, config, 2)
    monkeypatch.setattr(facade, "PARALLEL_MIN_SIZE", n + 1)
    serial = gdfast_trajectory(smooth_convex, (a,), x0, config, 2)
    assert np.array_equal(parallel[0], serial[0]) and parallel[1:] == serial[1:]


def test_a_hyperparameter_set_between_steps_is_used_from_the_next_step():
    x0 = np.random.default_rng(8).uniform(-2.0, 2.0, N)
    torch.set_default_dtype(torch.float64)
    p = torch.tensor(x0.copy(), requires_grad=True)
    t_opt = torch.optim.LBFGS([p], lr=0.01)
    closure = _torch_closure(p, smooth_convex, (A,))
    opt = gdfast.LBFGS(lr=0.01)
    x = x0.copy()
    state = opt.init(x)
    for lr, max_iter in [(0.01, 20), (0.5, 20), (0.5, 3)]:
        t_opt.param_groups[0]["lr"], t_opt.param_groups[0]["max_iter"] = lr, max_iter
        opt.lr, opt.max_iter = lr, max_iter
        t_opt.step(closure)
        opt.step(smooth_convex, x, state, jac="inplace", args=(A,))
        assert _rel(x, p.detach().numpy()) <= 1e-10


@pytest.mark.parametrize("kw, error, match", [
    ({"lr": -1.0}, ValueError, "lr must be >= 0"),
    ({"line_search_fn": "armijo"}, ValueError, "line_search_fn must be None or 'strong_wolfe'"),
    ({"history_size": 0}, ValueError, "history_size must be >= 1"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
])
def test_bad_hyperparameters_are_refused_by_name(kw, error, match):
    with pytest.raises(error, match=match):
        gdfast.LBFGS(**kw)


def test_an_unknown_attribute_is_refused():
    with pytest.raises(AttributeError, match="no hyperparameter 'momentum'"):
        gdfast.LBFGS().momentum = 0.9


def test_nan_at_x_raises_and_leaves_x_and_the_state():
    opt = gdfast.LBFGS()
    x = np.array([1.0, np.nan])
    state = opt.init(x)
    with pytest.raises(FloatingPointError, match="left as they are"):
        opt.step(lambda x: (float(np.sum(x ** 2)), 2 * x), x, state)
    assert x[0] == 1.0 and np.isnan(x[1]) and state.n_iter == 0


def test_a_state_of_another_history_size_is_refused():
    x = np.zeros(3)
    state = gdfast.LBFGS(history_size=5).init(x)
    with pytest.raises(ValueError, match="history_size=5"):
        gdfast.LBFGS(history_size=6).step(lambda x: (0.0, x), x, state)
