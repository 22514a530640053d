"""Smoothed-TV kernels: against central differences of the energy and the
pure-Python reference; serial == parallel == energy-only; thread-count
independence; and gdfast.denoise on the noisy test image."""
import os
import subprocess
import sys

import numpy as np
import pytest

import gdfast
from gdfast import kernels, reference
from gdfast.images import add_noise, psnr, synthetic_image

SHAPES = [(1, 1), (1, 6), (6, 1), (9, 13), (70, 3), (130, 67), (3, 600), (1, 1, 1), (2, 5, 4),
          (5, 1, 3), (17, 6, 9), (2, 3, 530)]     # rows of 600, 530: 3 row segments


def _kernels(ndim):
    if ndim == 2:
        return (kernels.tv_energy_grad_2d, kernels.tv_energy_grad_2d_parallel,
                kernels.tv_energy_2d, kernels.tv_workspace_2d)
    return (kernels.tv_energy_grad_3d, kernels.tv_energy_grad_3d_parallel,
            kernels.tv_energy_3d, kernels.tv_workspace_3d)


def _data(shape, seed=0):
    rng = np.random.default_rng([seed, *shape])
    return rng.random(shape), rng.random(shape)


@pytest.mark.nojit
@pytest.mark.parametrize("anisotropic", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_kernels_match_the_reference(shape, anisotropic):
    serial, parallel, energy_only, workspace = _kernels(len(shape))
    u, f = _data(shape)
    lam, eps = 0.3, 0.05
    g_s, g_p = np.empty(shape), np.full(shape, np.nan)
    e_s = serial(u, f, lam, eps, g_s, workspace(shape), anisotropic)
    e_p = parallel(u, f, lam, eps, g_p, workspace(shape), anisotropic)
    e_o = energy_only(u, f, lam, eps, workspace(shape), anisotropic)
    assert e_s == e_p == e_o
    assert np.array_equal(g_s, g_p)
    uf, ff = u.ravel().tolist(), f.ravel().tolist()
    e_ref = reference.tv_energy(uf, ff, shape, lam, eps, anisotropic)
    g_ref = np.array(reference.tv_gradient(uf, ff, shape, lam, eps, anisotropic)).reshape(shape)
    assert e_s == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(g_s, g_ref, rtol=1e-12, atol=1e-12 * np.abs(g_ref).max())


@pytest.mark.nojit
@pytest.mark.parametrize("anisotropic", [False, True])
@pytest.mark.parametrize("shape", [(5, 7), (12, 4), (3, 4, 5)])
def test_gradient_matches_central_differences_of_the_energy(shape, anisotropic):
    _, _, energy_only, workspace = _kernels(len(shape))
    serial = _kernels(len(shape))[0]
    u, f = _data(shape, seed=3)
    lam, eps = 0.2, 0.1
    work = workspace(shape)
    g = np.empty(shape)
    serial(u, f, lam, eps, g, work, anisotropic)
    fd = gdfast.gradient(lambda v: energy_only(v, f, lam, eps, work, anisotropic), u)
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-8)


@pytest.mark.slow
def test_large_image_serial_equals_parallel_bitwise():
    u, f = _data((517, 300))
    g_s, g_p = np.empty(u.shape), np.empty(u.shape)
    e_s = kernels.tv_energy_grad_2d(u, f, 0.1, 0.01, g_s, kernels.tv_workspace_2d(u.shape))
    e_p = kernels.tv_energy_grad_2d_parallel(u, f, 0.1, 0.01, g_p, kernels.tv_workspace_2d(u.shape))
    assert e_s == e_p and np.array_equal(g_s, g_p)


_THREADS_SCRIPT = """
import numpy as np, numba, sys, gdfast
from gdfast import kernels
from gdfast.images import synthetic_image, add_noise
assert numba.get_num_threads() == int(sys.argv[1])
f = add_noise(synthetic_image(300), 0.1, seed=1)
u = f + 0.01
g2 = np.empty(u.shape)
e2 = kernels.tv_energy_grad_2d_parallel(u, f, 0.1, 0.03, g2, kernels.tv_workspace_2d(u.shape))
v = np.random.default_rng(0).random((9, 40, 30))
g3 = np.empty(v.shape)
e3 = kernels.tv_energy_grad_3d_parallel(v, v[::-1].copy(), 0.1, 0.03, g3,
                                        kernels.tv_workspace_3d(v.shape))
res = gdfast.denoise(f, 0.1, max_iter=20, tol=0.0)
np.save(sys.argv[2], np.concatenate([[e2, e3, res.fun], g2.ravel(), g3.ravel(), res.x.ravel()]))
"""


@pytest.mark.slow
def test_results_do_not_depend_on_the_thread_count(tmp_path):
    outs = []
    for threads in (1, 2):
        path = tmp_path / f"t{threads}.npy"
        env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
        run = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(threads), str(path)],
                             env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        outs.append(np.load(path))
    assert np.array_equal(outs[0], outs[1])


@pytest.fixture(scope="module")
def noisy():
    clean = synthetic_image(256)
    return clean, add_noise(clean, 0.1, seed=0)


@pytest.mark.parametrize("method", ["nesterov", "gd", "momentum", "adam"])
def test_denoising_raises_psnr_by_6_db(noisy, method):
    clean, f = noisy
    # eps given: plain descent needs ~L = 1 + 8 lam / eps iterations
    res = gdfast.denoise(f, 0.1, eps=0.03, method=method, clean=clean, max_iter=500)
    assert res.success
    assert res.psnr - psnr(clean, f) >= 6.0
    assert res.psnr == pytest.approx(psnr(clean, res.x), abs=1e-9)
    assert res.psnr_history.shape == (res.nit + 1,)
    assert res.psnr_history[0] == pytest.approx(psnr(clean, f), abs=1e-9)


@pytest.mark.parametrize("anisotropic", [False, True])
def test_gd_with_the_default_step_decreases_the_energy_monotonically(noisy, anisotropic):
    _, f = noisy
    res = gdfast.denoise(f, 0.2, eps=0.01, method="gd", max_iter=200, tol=0.0,
                         anisotropic=anisotropic)
    assert res.nit == 200
    assert np.all(np.diff(res.fun_history) <= 0)


def test_denoise_3d_volume():
    rng = np.random.default_rng(0)
    clean = np.zeros((12, 32, 32))
    clean[:, 8:24, 8:24] = 1.0
    f = clean + 0.1 * rng.standard_normal(clean.shape)
    res = gdfast.denoise(f, 0.1, clean=clean, max_iter=200)
    assert res.x.shape == f.shape and res.psnr - psnr(clean, f) >= 6.0


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(f=np.zeros(5)), ValueError, "f must be a 2-D image"),
    (dict(f=np.zeros((0, 4))), ValueError, "f must not be empty"),
    (dict(f=np.array([[1.0, np.nan]])), ValueError, "f must hold only finite"),
    (dict(lam=-0.1), ValueError, "lam must be >= 0"),
    (dict(eps=0.0), ValueError, "eps must be > 0"),
    (dict(clean=np.zeros((3, 3))), ValueError, "clean must have the shape of f"),
    (dict(method=3), TypeError, "method must be a name or an optimizer"),
    (dict(method="lbfgs"), ValueError, "method must be an Optimizer or one of"),
])
def test_denoise_bad_input(kwargs, error, match):
    call = dict(f=np.ones((4, 4)), lam=0.1)
    call.update(kwargs)
    before = np.array(call["f"], copy=True)
    with pytest.raises(error, match=match):
        gdfast.denoise(call.pop("f"), call.pop("lam"), **call)
    assert np.array_equal(np.asarray(kwargs.get("f", before)), before, equal_nan=True)


@pytest.mark.parametrize("shape", [(96, 80), (10, 24, 20)])
@pytest.mark.parametrize("lam,eps", [(0.02, 0.003), (0.1, 0.03), (0.3, 0.01), (1.0, 0.1)])
def test_default_heavy_ball_reaches_nesterovs_minimum_sooner(shape, lam, eps):
    """The energy is strictly convex, so every method that converges ends at
    one minimum; Nesterov's constant-momentum scheme is guaranteed to, and
    denoise's default (Polyak's heavy ball) must get there too, in fewer steps."""
    clean = synthetic_image(max(shape))[:shape[-2], :shape[-1]]
    f = add_noise(np.broadcast_to(clean, shape), 0.1, seed=5)
    heavy = gdfast.denoise(f, lam, eps=eps, max_iter=5000, tol=1e-13)
    nesterov = gdfast.denoise(f, lam, eps=eps, method="nesterov", max_iter=5000, tol=1e-13)
    assert heavy.success and nesterov.success
    assert heavy.fun == pytest.approx(nesterov.fun, rel=1e-9)
    assert np.abs(heavy.x - nesterov.x).max() < 1e-3
    assert heavy.nit < nesterov.nit
