"""gdfast.estimate_sigma against scikit-image's estimate_sigma (PyWavelets'
db2 transform underneath), against known noise, and on bad input."""
import warnings

import numpy as np
import pytest

import gdfast
from gdfast.images import GAUSSIAN_MAD, synthetic_image

skimage_restoration = pytest.importorskip("skimage.restoration")
pytest.importorskip("pywt")
from skimage import data, img_as_float  # noqa: E402


def _gray(name):
    img = img_as_float(getattr(data, name)())
    return img if img.ndim == 2 else img_as_float(data.astronaut()).mean(axis=2)


IMAGES = ["camera", "coins", "moon", "astronaut", "synthetic"]
SIGMAS = [0.01, 0.02, 0.05, 0.1, 0.2]


@pytest.mark.parametrize("name", IMAGES)
@pytest.mark.parametrize("sigma", SIGMAS)
def test_the_estimate_is_scikit_images_on_natural_images(name, sigma):
    clean = synthetic_image(300) if name == "synthetic" else _gray(name)
    noisy = clean + sigma * np.random.default_rng(7).standard_normal(clean.shape)
    ours = gdfast.estimate_sigma(noisy)
    theirs = skimage_restoration.estimate_sigma(noisy)
    assert isinstance(ours, float)
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("shape", [(5, 7), (33, 64), (1, 9), (24, 17, 9), (2, 3, 4)])
def test_odd_and_tiny_shapes_match_too(shape):
    x = np.random.default_rng(1).standard_normal(shape)
    with warnings.catch_warnings():              # skimage: "is this a colour image?"
        warnings.simplefilter("ignore", UserWarning)
        theirs = skimage_restoration.estimate_sigma(x)
    assert gdfast.estimate_sigma(x) == pytest.approx(theirs, rel=1e-12)


def test_colour_gives_one_estimate_per_channel_as_scikit_image_does():
    clean = img_as_float(data.astronaut())
    noisy = clean + 0.05 * np.random.default_rng(2).standard_normal(clean.shape)
    ours = gdfast.estimate_sigma(noisy, channel_axis=-1)
    theirs = skimage_restoration.estimate_sigma(noisy, channel_axis=-1)
    assert ours.shape == (3,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    first = np.moveaxis(noisy, -1, 0)
    np.testing.assert_allclose(gdfast.estimate_sigma(first, channel_axis=0), ours, rtol=0)


@pytest.mark.parametrize("shape", [(512, 512), (64, 96, 96)])
@pytest.mark.parametrize("sigma", [0.01, 0.1, 3.0])
def test_pure_noise_gives_its_sigma(shape, sigma):
    # 65,000+ coefficients: the MAD estimate's relative error is about 0.5%
    noise = sigma * np.random.default_rng(3).standard_normal(shape)
    assert gdfast.estimate_sigma(noise) == pytest.approx(sigma, rel=0.03)


def test_the_constant_is_the_gaussian_quartile():
    scipy_stats = pytest.importorskip("scipy.stats")
    assert GAUSSIAN_MAD == scipy_stats.norm.ppf(0.75)


def test_an_image_without_detail_has_no_noise_up_to_rounding():
    # db2's high-pass taps sum to zero only up to rounding: ~1e-17 of the value
    flat = np.full((40, 30), 0.7)
    ours = gdfast.estimate_sigma(flat)
    assert 0.0 <= ours < 1e-15
    assert ours == pytest.approx(skimage_restoration.estimate_sigma(flat), rel=1e-12, abs=1e-30)


def test_integer_images_give_sigma_in_their_units():
    clean = data.camera()
    noisy = np.clip(clean + 5.0 * np.random.default_rng(4).standard_normal(clean.shape),
                    0, 255).astype(np.uint8)
    before = noisy.copy()
    theirs = skimage_restoration.estimate_sigma(noisy)
    assert gdfast.estimate_sigma(noisy) == pytest.approx(theirs, rel=1e-12)
    np.testing.assert_array_equal(noisy, before)


@pytest.mark.parametrize("image, kwargs, error, words", [
    (np.zeros(10), {}, ValueError, "2-D"),
    (np.zeros((2, 2, 2, 2)), {}, ValueError, "2-D"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), {}, ValueError, "image must hold only finite"),
    (np.zeros((0, 4)), {}, ValueError, "image must not be empty"),
    (np.array([["a", "b"]]), {}, TypeError, "image"),
    (np.zeros((8, 8, 3)), {"channel_axis": 3}, ValueError, "channel_axis"),
    (np.zeros((8, 8, 3)), {"channel_axis": 1.0}, TypeError, "channel_axis"),
    (np.zeros((8, 3)), {"channel_axis": -1}, ValueError, "besides its channel axis"),
])
def test_bad_input_is_a_clear_error(image, kwargs, error, words):
    with pytest.raises(error, match=words):
        gdfast.estimate_sigma(image, **kwargs)
