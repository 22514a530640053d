"""denoise does not depend on the data's units (issue 27 item 6): E(c u; c f,
c lam, c eps) = c^2 E(u; f, lam, eps), so the run on c f must stop at the
same iterate and return c times the result, and lam='auto' must choose c
times the weight. The oracle: the run on f itself."""
import numpy as np
import pytest

import gdfast
from gdfast.images import add_noise, synthetic_image

F = add_noise(synthetic_image(48), 0.1, seed=4)


@pytest.mark.parametrize("c", [1e-10, 1e-6, 1e-4, 1e3, 1e8])
def test_an_explicit_lam_scales_with_the_data(c):
    want = gdfast.denoise(F, lam=0.1, eps=0.001)
    got = gdfast.denoise(c * F, lam=0.1 * c, eps=0.001 * c)
    assert want.status == "ftol" and got.status == want.status
    assert got.nit == want.nit
    np.testing.assert_allclose(got.x / c, want.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("c", [1e-10, 1e-4, 1e6])
def test_auto_lam_scales_with_the_data(c):
    want = gdfast.denoise(F, max_iter=60)
    got = gdfast.denoise(c * F, max_iter=60)
    np.testing.assert_allclose([got.sigma / c, got.lam / c], [want.sigma, want.lam], rtol=1e-9)
    assert got.nit == want.nit
    np.testing.assert_allclose(got.x / c, want.x, rtol=1e-8, atol=1e-11)


# issue 27 item 10: length-1 axes are not dimensions; noise that cannot be read is said so

def test_a_volume_of_one_plane_is_denoised_as_its_image():
    want = gdfast.denoise(F)
    got = gdfast.denoise(F[None])
    assert got.x.shape == (1,) + F.shape and got.jac.shape == got.x.shape
    assert got.lam == want.lam and np.array_equal(got.x[0], want.x)


@pytest.mark.parametrize("shape", [(1, 300), (300, 1), (1, 1, 300), (4, 300)])
def test_auto_lam_on_a_line_asks_for_the_noise_level(shape):
    f = np.random.default_rng(1).random(shape)
    with pytest.raises(ValueError, match="too thin to read its noise from .*sigma"):
        gdfast.denoise(f)
    res = gdfast.denoise(f, sigma=0.1, max_iter=5)         # with the noise level given, it runs
    assert res.x.shape == shape and res.lam > 0


def test_a_thin_volume_reads_its_noise_as_its_planes():
    rng = np.random.default_rng(2)
    clean = synthetic_image(192)
    for depth in (2, 3, 8):
        volume = np.stack([clean] * depth) + 0.05 * rng.standard_normal((depth,) + clean.shape)
        assert abs(gdfast.estimate_sigma(volume) / 0.05 - 1) < 0.05, depth


# issue 27 item 17: a sigma far below the data's resolution

@pytest.mark.parametrize("sigma", [1e-160, 1e-300, 5e-324])
def test_a_tiny_sigma_leaves_the_image_as_it_is(sigma):
    res = gdfast.denoise(F, sigma=sigma, max_iter=5)
    assert res.lam < 1e-150 and np.abs(res.x - F).max() < 1e-12


def _with_one_pixel(value):
    f = np.clip(add_noise(synthetic_image(128), 0.05, seed=1), 0.0, 1.0)
    f[60, 70] = value
    return f


@pytest.mark.parametrize("kwargs", [dict(lam=0.1), dict()])
def test_a_pixel_that_makes_the_whole_energy_is_refused_not_a_one_iteration_run(kwargs):
    """Issue 28 leftover 9: one pixel of 3e38 (float32's largest, a marker of
    missing data) in an image on [0, 1] holds the energy; its rest is below
    the energy's rounding, and the run stopped after 1 iteration (lam given)
    or left f as it was ('no noise found', lam='auto'), silently."""
    with pytest.raises(ValueError, match=r"f ranges from 0 to 3e\+38 .*expected values of "
                                         r"one scale"):
        gdfast.denoise(_with_one_pixel(3e38), **kwargs)


def test_a_pixel_far_from_the_rest_that_leaves_the_image_visible_is_denoised():
    f = _with_one_pixel(1e7)          # 13 iterations, the rest's PSNR as without it
    res = gdfast.denoise(f, lam=0.1)
    assert res.status == "ftol" and res.nit > 5
