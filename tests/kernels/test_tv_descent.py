"""The fused denoising iteration (gdfast.kernels.tv_descent) against its two
parts run one after the other — the TV kernel, then the rule's kernel over the
whole image — and gdfast.denoise against gdfast.minimize on the same energy:
the same bits, for every update rule."""
import numpy as np
import pytest

import gdfast
from gdfast import kernels
from gdfast._denoise import TVObjective
from gdfast.images import add_noise, synthetic_image
from gdfast.kernels import tv_descent
from gdfast.kernels.function_refs import cacheable
from kernel_helpers import TV_RULES as OPTIMIZERS

# with -n, the tests of one rule run on one worker (tests/conftest.py): they
# compile the same kernels for it, once there instead of once in each worker
COMPILE_GROUP = ("name", "tv-rule")


def _fused(ndim, parallel):
    name = f"tv_descent_step_{ndim}d" + ("_parallel" if parallel else "")
    workspace = getattr(tv_descent, f"tv_descent_workspace_{ndim}d")
    return getattr(tv_descent, name), workspace


def _unfused(ndim):
    return kernels.tv_energy_grad_2d if ndim == 2 else kernels.tv_energy_grad_3d


@pytest.mark.nojit
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("shape,anisotropic", [((37, 29), False), ((37, 29), True),
                                               ((1, 5), False), ((7, 11, 6), False),
                                               ((7, 11, 6), True)])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_iteration_is_the_tv_kernel_then_the_rule(name, shape, anisotropic, parallel):
    fused, workspace = _fused(len(shape), parallel)
    rng = np.random.default_rng(len(shape))
    f = rng.random(shape)
    lam, eps = 0.2, 0.05
    opt = OPTIMIZERS[name]()
    # the rule as denoise passes it (a FunctionRef): the fused kernels compiled
    # for it are cached on disk, shared by the test processes, instead of
    # compiled in each (test_function_refs.py: a ref gives the dispatcher's bits)
    step = cacheable(opt.rule.step)
    u, u_next = f.copy(), np.full(shape, np.nan)
    state = opt.init(u.ravel())
    v, g = f.copy(), np.empty(shape)                  # the unfused run
    state_v = opt.init(v.ravel())
    work, work_v = workspace(shape), workspace(shape)
    for t in range(1, 8):
        before = u.copy()
        e, g_max = fused(u, u_next, f, lam, eps, anisotropic, step, state.arrays, t,
                         opt.lr(t), opt.hyper, work)
        state.t = t
        e_v = _unfused(len(shape))(v, f, lam, eps, g, work_v, anisotropic)
        opt.step(v.ravel(), g.ravel(), state_v)
        assert np.array_equal(u, before)                         # u is only read
        assert e == e_v and g_max == np.abs(g).max()
        assert np.array_equal(u_next, v)
        for a, b in zip(state.arrays, state_v.arrays):
            assert np.array_equal(a, b)
        u, u_next = u_next, u


@pytest.mark.nojit
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_pixel_makes_the_energy_non_finite(bad):
    fused, workspace = _fused(2, True)
    f = np.random.default_rng(0).random((300, 250))
    opt = gdfast.SGD(lr=0.01)
    for pixel in [(0, 0), (299, 249), (150, 3)]:
        u = f.copy()
        u[pixel] = bad
        e, _ = fused(u, np.empty_like(f), f, 0.1, 0.05, False, opt.rule.step, (), 1, 0.01,
                     opt.hyper, workspace(f.shape))
        assert not np.isfinite(e)


def _minimize_denoise(f, lam, eps, optimizer, max_iter, tol, anisotropic=False):
    """What gdfast.denoise computes, through gdfast.minimize: the oracle."""
    objective = TVObjective(f, lam, eps, anisotropic)
    return gdfast.minimize(objective, f, optimizer, jac="inplace", max_iter=max_iter,
                           ftol=tol, gtol=0.0)


@pytest.mark.parametrize("shape", [(300, 250), (40, 33), (6, 20, 17)])
@pytest.mark.parametrize("name", ["nesterov", "adam", "rprop", "radam"])
def test_denoise_gives_the_bits_of_minimize(name, shape):
    clean = synthetic_image(max(shape))[tuple(slice(0, n) for n in shape[-2:])]
    f = add_noise(np.broadcast_to(clean, shape), 0.1, seed=3)
    for max_iter, tol in ((25, 0.0), (400, 1e-6)):
        _assert_same_run(f, OPTIMIZERS[name], max_iter, tol)


def _assert_same_run(f, make_optimizer, max_iter, tol):
    got = gdfast.denoise(f, 0.1, eps=0.05, method=make_optimizer(), max_iter=max_iter,
                         tol=tol)
    want = _minimize_denoise(f, 0.1, 0.05, make_optimizer(), max_iter, tol)
    assert got.status == want.status and got.nit == want.nit
    assert np.array_equal(got.x, want.x) and np.array_equal(got.jac, want.jac)
    assert np.array_equal(got.fun_history, want.fun_history)
    assert np.array_equal(got.grad_norm_history, want.grad_norm_history)
    assert got.fun == want.fun and got.nfev == want.nfev


@pytest.mark.parametrize("lr", [1e308, 1e150, 30.0])
def test_denoise_stops_at_the_last_finite_iterate_like_minimize(lr):
    f = add_noise(synthetic_image(64), 0.1, seed=0)
    res = gdfast.denoise(f, 0.1, eps=0.05, method=gdfast.SGD(lr=lr), max_iter=400, tol=0.0)
    assert res.status == "non-finite" and not res.success
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    _assert_same_run(f, lambda: gdfast.SGD(lr=lr), 400, 0.0)


def test_denoise_callback_sees_each_iterate_and_can_stop_the_run():
    f = add_noise(synthetic_image(64), 0.1, seed=0)
    seen = []

    def callback(intermediate):
        assert not intermediate.x.flags.writeable
        seen.append((intermediate.nit, intermediate.fun, intermediate.x.copy()))
        if intermediate.nit == 5:
            raise StopIteration

    res = gdfast.denoise(f, 0.1, callback=callback, max_iter=100)
    assert res.status == "callback" and res.nit == 5
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
    assert [s[1] for s in seen] == list(res.fun_history[1:])
    assert np.array_equal(seen[-1][2], res.x)
