"""gdfast.estimate_sigma: method='mad' against scikit-image's estimate_sigma
(PyWavelets' db2 transform underneath); both methods against known noise;
the default 'blocks' against the noise actually added to natural images (it
must be closer than 'mad'); bad input."""
import warnings

import numpy as np
import pytest

import gdfast
from gdfast.images import CHI2_64_QUANTILE, GAUSSIAN_MAD, synthetic_image

skimage_restoration = pytest.importorskip("skimage.restoration")
pytest.importorskip("pywt")
from skimage import data, img_as_float  # noqa: E402


def _gray(name):
    img = img_as_float(getattr(data, name)())
    return img if img.ndim == 2 else img.mean(axis=2)


IMAGES = ["camera", "coins", "moon", "astronaut", "synthetic"]
SIGMAS = [0.01, 0.02, 0.05, 0.1, 0.2]


@pytest.mark.parametrize("name", IMAGES)
@pytest.mark.parametrize("sigma", SIGMAS)
def test_the_estimate_is_scikit_images_on_natural_images(name, sigma):
    clean = synthetic_image(300) if name == "synthetic" else _gray(name)
    noisy = clean + sigma * np.random.default_rng(7).standard_normal(clean.shape)
    ours = gdfast.estimate_sigma(noisy, method="mad")
    theirs = skimage_restoration.estimate_sigma(noisy)
    assert isinstance(ours, float)
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("shape", [(5, 7), (33, 64), (1, 9), (24, 17, 9), (2, 3, 4)])
def test_odd_and_tiny_shapes_match_too(shape):
    x = np.random.default_rng(1).standard_normal(shape)
    with warnings.catch_warnings():              # skimage: "is this a colour image?"
        warnings.simplefilter("ignore", UserWarning)
        theirs = skimage_restoration.estimate_sigma(x)
    assert gdfast.estimate_sigma(x, method="mad") == pytest.approx(theirs, rel=1e-12)


def test_colour_gives_one_estimate_per_channel_as_scikit_image_does():
    clean = img_as_float(data.astronaut())
    noisy = clean + 0.05 * np.random.default_rng(2).standard_normal(clean.shape)
    ours = gdfast.estimate_sigma(noisy, channel_axis=-1, method="mad")
    theirs = skimage_restoration.estimate_sigma(noisy, channel_axis=-1)
    assert ours.shape == (3,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    first = np.moveaxis(noisy, -1, 0)
    np.testing.assert_allclose(gdfast.estimate_sigma(first, channel_axis=0, method="mad"), ours,
                               rtol=0)
    blocks = gdfast.estimate_sigma(noisy, channel_axis=-1)
    np.testing.assert_array_equal(blocks, [gdfast.estimate_sigma(noisy[..., c]) for c in range(3)])


@pytest.mark.parametrize("shape", [(512, 512), (64, 96, 96)])
@pytest.mark.parametrize("sigma", [0.01, 0.1, 3.0])
@pytest.mark.parametrize("method", ["blocks", "mad"])
def test_pure_noise_gives_its_sigma(shape, sigma, method):
    # 65,000+ coefficients: the MAD estimate's relative error is about 0.5%;
    # 850+ blocks: the 5% quantile's is about 1%
    noise = sigma * np.random.default_rng(3).standard_normal(shape)
    assert gdfast.estimate_sigma(noise, method=method) == pytest.approx(sigma, rel=0.03)


def test_the_constants_are_the_gaussian_quartile_and_the_chi2_quantile():
    scipy_stats = pytest.importorskip("scipy.stats")
    assert GAUSSIAN_MAD == scipy_stats.norm.ppf(0.75)
    assert CHI2_64_QUANTILE == pytest.approx(scipy_stats.chi2.ppf(0.05, 64) / 64, rel=1e-15)


# the images the denoising tests use; the block size and quantile were chosen
# on others (docs/denoising.md: brick, clock, coins, rocket, page, text, cell,
# immunohistochemistry, hubble_deep_field)
TEST_PHOTOS = ["camera", "astronaut", "coffee", "chelsea", "moon"]


@pytest.mark.parametrize("name", TEST_PHOTOS)
def test_the_flattest_blocks_are_closer_to_the_added_noise_than_the_mad(name):
    clean = _gray(name)
    for sigma in SIGMAS:
        noisy = clean + sigma * np.random.default_rng(5).standard_normal(clean.shape)
        blocks = gdfast.estimate_sigma(noisy)
        mad = gdfast.estimate_sigma(noisy, method="mad")
        # the clean photographs hold noise and texture of their own: upward only
        assert sigma * 0.97 <= blocks <= sigma * 1.2, (sigma, blocks)
        # where texture biases the MAD (low noise) the blocks' error is well
        # below it; where both are accurate, within 4% (the 5% quantile of
        # ~1000 blocks varies more than the median of ~65,000 coefficients)
        assert abs(blocks - sigma) <= max(0.6 * abs(mad - sigma), 0.04 * sigma), \
            (sigma, blocks, mad)


def test_clipped_regions_do_not_pull_the_block_estimate_down():
    clean = np.zeros((400, 400))
    clean[:, 200:] = 0.5                         # left half black: noise clipped to zero there
    clean[:100, 200:] = 1.0                      # and a saturated corner
    noisy = np.clip(clean + 0.05 * np.random.default_rng(6).standard_normal(clean.shape), 0, 1)
    assert gdfast.estimate_sigma(noisy) == pytest.approx(0.05, rel=0.03)


def _unclipped_median_estimate(x):
    """The MAD estimate over PyWavelets' db2 finest diagonal detail where a
    coefficient's 4 (x 4 x 4) pixels (2o - 2 .. 2o + 1 along each axis, the
    'symmetric' extension) hold neither x's minimum nor its maximum."""
    import pywt
    detail = pywt.dwtn(x, "db2")[("d" * x.ndim)]
    clipped = np.pad((x == x.min()) | (x == x.max()), 4, mode="symmetric")
    windows = np.lib.stride_tricks.sliding_window_view(clipped, (4,) * x.ndim)
    starts = tuple(slice(2, 2 + 2 * n, 2) for n in detail.shape)    # pixel 2o - 2, padded by 4
    keep = ~windows[starts].any(axis=tuple(range(x.ndim, 2 * x.ndim)))
    return np.median(np.abs(detail[keep & (detail != 0)])) / GAUSSIAN_MAD


@pytest.mark.parametrize("shape", [(100, 100), (101, 77), (20, 30, 40)])
def test_too_few_blocks_give_the_median_of_the_unclipped_coefficients(shape):
    x = np.random.default_rng(8).standard_normal(shape)
    assert gdfast.estimate_sigma(x) == pytest.approx(_unclipped_median_estimate(x), rel=1e-12)
    assert gdfast.estimate_sigma(x) != gdfast.estimate_sigma(x, method="mad")   # some left out


def test_a_clipped_background_is_left_out_of_the_median():
    # scikit-image's Shepp-Logan phantom (58% of it black) with noise 0.1
    # clipped to [0, 1]: no 8 x 8 block is free of clipped pixels; all
    # coefficients' median reads 0.067 (the clipped half of the background)
    clean = data.shepp_logan_phantom()
    noisy = np.clip(clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape), 0, 1)
    assert gdfast.estimate_sigma(noisy, method="mad") < 0.07
    assert gdfast.estimate_sigma(noisy) == pytest.approx(0.1, rel=0.07)


def test_an_image_without_detail_has_no_noise_up_to_rounding():
    # db2's high-pass taps sum to zero only up to rounding: ~1e-17 of the value
    flat = np.full((40, 30), 0.7)
    assert 0.0 <= gdfast.estimate_sigma(flat) < 1e-15
    ours = gdfast.estimate_sigma(flat, method="mad")
    assert 0.0 <= ours < 1e-15
    assert ours == pytest.approx(skimage_restoration.estimate_sigma(flat), rel=1e-12, abs=1e-30)


def test_integer_images_give_sigma_in_their_units():
    clean = data.camera()
    noisy = np.clip(clean + 5.0 * np.random.default_rng(4).standard_normal(clean.shape),
                    0, 255).astype(np.uint8)
    before = noisy.copy()
    theirs = skimage_restoration.estimate_sigma(noisy)
    assert gdfast.estimate_sigma(noisy, method="mad") == pytest.approx(theirs, rel=1e-12)
    assert gdfast.estimate_sigma(noisy) == pytest.approx(5.0, rel=0.1)
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
    (np.zeros((8, 8)), {"method": "median"}, ValueError, "method must be 'blocks' or 'mad'"),
])
def test_bad_input_is_a_clear_error(image, kwargs, error, words):
    with pytest.raises(error, match=words):
        gdfast.estimate_sigma(image, **kwargs)


@pytest.mark.parametrize("shape", [(70, 90), (41, 37), (30, 26, 34)])
def test_the_block_means_are_those_of_pywavelets_coefficients(shape):
    """kernels.noise.block_mean_squares_* against numpy over PyWavelets' dd
    coefficients: blocks from index 2, those touching the extremes left out."""
    import pywt

    from gdfast.kernels.noise import (
        BORDER,
        block_mean_squares_2d,
        block_mean_squares_3d,
        diagonal_detail_2d,
        diagonal_detail_3d,
    )
    rng = np.random.default_rng(9)
    x = np.clip(rng.standard_normal(shape), -3.0, 3.2)          # clipped: extremes repeat
    d = np.abs(pywt.dwtn(x, "db2", mode="symmetric")["d" * x.ndim])
    b = 8 if x.ndim == 2 else 4
    want = []
    counts = [(m - 2 * BORDER) // b for m in d.shape]
    for k in np.ndindex(*counts):
        lo = [BORDER + i * b for i in k]
        block = d[tuple(slice(s, s + b) for s in lo)]
        pixels = x[tuple(slice(2 * s - 2, 2 * (s + b)) for s in lo)]
        if pixels.min() > x.min() and pixels.max() < x.max():
            want.append(np.mean(block ** 2))
    ours = np.empty(d.shape, dtype=np.float64)
    (diagonal_detail_2d if x.ndim == 2 else diagonal_detail_3d)(x, ours, 1.0)
    means = np.empty(d.size)
    n = (block_mean_squares_2d if x.ndim == 2 else block_mean_squares_3d)(x, ours, b, means)
    assert 0 < n < np.prod(counts)                  # some blocks touch the clipped values
    np.testing.assert_allclose(means[:n], want, rtol=1e-12)


@pytest.mark.parametrize("ndim", [2, 3])
def test_moving_the_unclipped_coefficients_keeps_every_coefficient(ndim):
    """kernels.noise.unclipped_to_front_* swaps (issue 28 leftover 3): the
    unclipped ones come first, and the detail still holds all of them, so
    the fallback to every nonzero coefficient needs no second transform."""
    from gdfast.kernels.noise import unclipped_to_front_2d, unclipped_to_front_3d
    shape = (20, 24) if ndim == 2 else (10, 12, 14)
    x = np.clip(np.random.default_rng(4).standard_normal(shape), -1.5, 1.5)   # mostly clipped
    d = np.random.default_rng(5).random(tuple((n + 3) // 2 for n in shape)) + 0.5
    before = np.sort(d.ravel())
    n = (unclipped_to_front_2d if ndim == 2 else unclipped_to_front_3d)(x, d)
    assert 0 < n < d.size
    np.testing.assert_array_equal(np.sort(d.ravel()), before)


def _scale_cases():
    from gdfast.images import add_noise
    f = add_noise(synthetic_image(128), 0.05, seed=2)
    volume = np.random.default_rng(6).standard_normal((40, 40, 40)) * 0.1 + 0.5   # 64 blocks
    return {"flat blocks": (f, "blocks"), "mad": (f, "mad"), "3-D": (volume, "blocks"),
            "median": (np.clip(f[:60, :60], 0.0, 1.0), "blocks")}


@pytest.mark.parametrize("k", [900, -900])
@pytest.mark.parametrize("case", ["flat blocks", "mad", "3-D", "median"])
def test_the_estimate_does_not_depend_on_the_units(case, k):
    """Issue 28 leftover 8: at 1e300 the squares of the coefficients
    overflowed (NaN), at 1e-300 they underflowed (0). Powers of two are
    exact, so the estimate must scale exactly."""
    f, method = _scale_cases()[case]
    sigma = gdfast.estimate_sigma(f, method=method)
    scaled = gdfast.estimate_sigma(f * 2.0 ** k, method=method)
    assert np.isfinite(scaled) and scaled > 0
    assert scaled == 2.0 ** k * sigma


@pytest.mark.parametrize("k", [900, -900])
def test_the_least_supported_level_does_not_depend_on_the_units(k):
    from gdfast.images import sigma_range
    f, _ = _scale_cases()["flat blocks"]
    assert sigma_range(f * 2.0 ** k) == tuple(v * 2.0 ** k for v in sigma_range(f)[:2]) + (
        "flat blocks",)


def _colour(name):
    return img_as_float(getattr(data, name)())[..., :3]


def _jpeg(image, quality=85):
    """image (floats on [0, 1], clipped) saved as an 8-bit JPEG in memory and read back."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(
        buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf), dtype=np.float64) / 255


COLOUR_PHOTOS = ["astronaut", "coffee", "chelsea"]   # CORRELATED_CHROMA was chosen on others


@pytest.mark.parametrize("name", COLOUR_PHOTOS)
def test_noise_saved_as_jpeg_looks_correlated(name):
    """Issue 28 leftover 10: noise 0.05 saved at quality 85 reads 0.6 of
    itself in every channel (its colour is smoothed: 4:2:0 and quantised)."""
    from gdfast.images import looks_correlated
    f = _jpeg(_colour(name) + 0.05 * np.random.default_rng(3).standard_normal(_colour(name).shape))
    assert gdfast.estimate_sigma(f, channel_axis=-1).max() < 0.04       # the defect: reads low
    assert looks_correlated(f)


@pytest.mark.parametrize("sigma", [0.005, 0.01, 0.02, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("name", COLOUR_PHOTOS)
def test_white_noise_does_not_look_correlated(name, sigma):
    from gdfast.images import CORRELATED_CHROMA, chroma_ratio
    clean = _colour(name)
    f = np.rint(np.clip(clean + sigma * np.random.default_rng(3).standard_normal(clean.shape),
                        0, 1) * 255) / 255                       # as an 8-bit PNG holds it
    assert chroma_ratio(f) <= CORRELATED_CHROMA
