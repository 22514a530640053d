"""Test images for the denoising benchmarks and tests, PSNR, and the noise level.

`estimate_sigma` is also ``gdfast.estimate_sigma``.
"""
import math
from typing import NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _validation as check
from .kernels.noise import (
    block_mean_squares_2d,
    block_mean_squares_3d,
    diagonal_detail_2d,
    diagonal_detail_3d,
    max_magnitude,
    nonzero_to_front,
    unclipped_to_front_2d,
    unclipped_to_front_3d,
)
from .kernels.reductions import mean_squared_difference, mean_squared_difference_parallel

# The 75th percentile of |N(0, 1)|'s parent: Phi^-1(0.75) = sqrt(2) erfinv(1/2),
# scipy.stats.norm.ppf(0.75) (tests/facade/test_noise_estimate.py checks it)
GAUSSIAN_MAD = 0.6744897501960817
# method='blocks': blocks of 64 coefficients (8 x 8, 4 x 4 x 4); the noise is
# read from the 5% flattest, whose mean square is, on pure noise, sigma^2
# times the 5% quantile of chi^2_64 / 64 (scipy.stats.chi2.ppf(0.05, 64) / 64,
# checked by tests/facade/test_noise_estimate.py)
BLOCK_SIDE = {2: 8, 3: 4}
FLAT_QUANTILE = 0.05
CHI2_64_QUANTILE = 0.7280453941377182
MIN_BLOCKS = 32
# the noise cannot be read from an image with a side under MIN_NOISE_SIDE
# pixels (a 1 x N image has no diagonal detail at all: sigma ~ 1e-17), and a
# volume with a side under THIN_VOLUME reads low in 3-D (db2 along 3 planes:
# -30%, 8 planes: -7%; measured), so its planes are read side by side in 2-D
MIN_NOISE_SIDE = 8
THIN_VOLUME = 16
# with fewer than MIN_BLOCKS flat blocks, 'blocks' reads the median of the
# unclipped coefficients if there are MIN_UNCLIPPED of them (an 8 x 8 block's
# worth), else of all the nonzero ones, as 'mad' does
MIN_UNCLIPPED = 64
# The least growth of a natural image's detail variance per coefficient from
# one dyadic scale to the next coarser: 4, its 1/f^2 power spectrum (Field,
# JOSA A 4(12), 1987; Ruderman, Network 5, 1994). White noise's is 1: at
# most SCALE_GROWTH^-1 of the finest scale's variance that does not recur,
# grown, at the next is the image's; the rest is noise (sigma_range)
SCALE_GROWTH = 4.0
# chroma_ratio above this: the noise of a colour image is correlated (JPEG's
# chroma subsampling). Chosen on scikit-image's rocket, immunohistochemistry,
# retina and colorwheel (not the tests' astronaut, coffee and chelsea), noise
# 0.005 to 0.2, seeds 1 and 2: white noise (float and 8-bit) read at most
# 1.19, the same saved as JPEG at quality 75, 85 and 95 at least 1.82 (but
# for a few low-noise JPEGs whose colour is flat at both scales: 0 or nan,
# not flagged); just below the JPEGs' least, as a false alarm on white noise
# costs a wrong hint. hubble_deep_field, a JPEG itself, reads 1.65 to 2.54
# with white noise of 0.01 and less: its own JPEG colour is the noise there
CORRELATED_CHROMA = 1.75


def synthetic_image(size: int, seed: int = 0) -> np.ndarray:
    """A deterministic piecewise-smooth test image on [0, 1].

    The classic tutorials' sin(5x)cos(5y) pattern, dimmed, with a bright disc,
    a dark rectangle and a linear ramp cut by sharp edges.

    Parameters
    ----------
    size : int
        The side: the image is (size, size).
    seed : int, default 0
        Unused by the image itself (it is fixed); kept for a uniform
        signature.

    Returns
    -------
    ndarray of float64, shape (size, size)
    """
    t = np.linspace(0.0, 1.0, size)
    y, x = np.meshgrid(t, t, indexing="ij")
    img = 0.5 + 0.2 * np.sin(5 * 2 * np.pi * x / 2) * np.cos(5 * 2 * np.pi * y / 2)
    img = np.where((x - 0.3) ** 2 + (y - 0.35) ** 2 < 0.04, 0.9, img)
    img = np.where((np.abs(x - 0.7) < 0.15) & (np.abs(y - 0.7) < 0.1), 0.1, img)
    img = np.where((x > 0.55) & (y < 0.3), 0.2 + 0.6 * x * (1 - y), img)
    return np.clip(img, 0.0, 1.0)


def camera_image(size: int) -> np.ndarray:
    """scikit-image's bundled 512x512 ``camera`` image on [0, 1], tiled.

    Needs scikit-image.

    Parameters
    ----------
    size : int
        The side: the image is tiled (mirrored) to (size, size).

    Returns
    -------
    ndarray of float64, shape (size, size)
    """
    from skimage import data
    cam = data.camera().astype(np.float64) / 255.0
    reps = -(-size // cam.shape[0])
    tile = np.block([[cam if (i + j) % 2 == 0 else cam[:, ::-1] for j in range(reps)]
                     for i in range(reps)])
    return np.ascontiguousarray(tile[:size, :size])


def photo(name: str, side: int | None = None) -> np.ndarray:
    """One of scikit-image's bundled photographs, gray, on [0, 1].

    Needs scikit-image.

    Parameters
    ----------
    name : str
        The name in ``skimage.data``: e.g. 'camera', 'astronaut', 'coffee',
        'chelsea'. A colour photograph becomes gray: the mean of R, G and B.
    side : int, optional
        Its centre side x side; None: the whole photograph.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ValueError
        side is not from 1 to the photograph's shorter side.
    """
    from skimage import data
    img = np.asarray(getattr(data, name)(), dtype=np.float64) / 255.0
    img = img if img.ndim == 2 else img[..., :3].mean(axis=2)
    if side is not None:
        if not 1 <= side <= min(img.shape):
            raise ValueError(f"side must be from 1 to {min(img.shape)} for {name!r}, got {side}")
        top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
        img = img[top:top + side, left:left + side]
    return np.ascontiguousarray(img)


def test_image(size: int, source: str = "auto") -> tuple[np.ndarray, str]:
    """The benchmarks' clean image and its name.

    Parameters
    ----------
    size : int
        The side of the (size, size) image.
    source : {'auto', 'camera', 'synthetic'}, default 'auto'
        'auto': 'camera' when scikit-image is installed, else the synthetic
        image; or either of them.

    Returns
    -------
    clean : ndarray of float64, shape (size, size)
        `camera_image` or `synthetic_image`.
    name : str
        Its name.

    Raises
    ------
    ValueError
        Another source.
    """
    if source == "auto":
        try:
            import skimage  # noqa: F401
            source = "camera"
        except ImportError:
            source = "synthetic"
    if source == "camera":
        return camera_image(size), "camera (scikit-image), tiled"
    if source == "synthetic":
        return synthetic_image(size), "synthetic piecewise-smooth"
    raise ValueError(f"source must be 'auto', 'camera' or 'synthetic', got {source!r}")


def add_noise(clean: ArrayLike, sigma: float = 0.1, seed: int = 0) -> np.ndarray:
    """``clean + sigma * N(0, 1)``, seeded (not clipped).

    Parameters
    ----------
    clean : array_like
        The image, any shape.
    sigma : float, default 0.1
        The noise's standard deviation.
    seed : int, default 0
        The seed of numpy's default_rng.

    Returns
    -------
    ndarray
        Shaped like clean.
    """
    image = np.asanyarray(clean)
    return image + sigma * np.random.default_rng(seed).standard_normal(image.shape)


def psnr(clean: ArrayLike, image: ArrayLike, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB.

    ``10 log10(data_range^2 / mean((clean - image)^2))``. The mean is a
    compiled, thread-count-independent pass without temporaries
    (`gdfast.denoise` records it at every iteration), over numba's threads
    from denoise's parallel threshold (65,536 pixels) up: the serial and
    parallel passes sum the same fixed blocks in order, the same bits.

    Parameters
    ----------
    clean : array_like
        The reference image.
    image : array_like
        The image compared with it, clean's shape.
    data_range : float, default 1.0
        The range of the data (1 for images on [0, 1]).

    Returns
    -------
    float
        inf where image equals clean.

    Raises
    ------
    ValueError
        image's shape is not clean's.
    """
    a = np.ascontiguousarray(clean, dtype=np.float64).ravel()
    b = np.ascontiguousarray(image, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"image must have the shape of clean {np.shape(clean)}, "
                         f"got {np.shape(image)}")
    from ._denoise import PARALLEL_MIN_PIXELS  # _denoise imports this module
    mse = (mean_squared_difference_parallel if a.size >= PARALLEL_MIN_PIXELS
           else mean_squared_difference)(a, b)
    return float(10.0 * math.log10(data_range ** 2 / mse)) if mse > 0 else math.inf


@overload
def estimate_sigma(image: ArrayLike, channel_axis: None = None,
                   method: str = "blocks") -> float: ...


@overload
def estimate_sigma(image: ArrayLike, channel_axis: int,
                   method: str = "blocks") -> np.ndarray: ...


def estimate_sigma(image: ArrayLike, channel_axis: int | None = None,
                   method: str = "blocks") -> "float | np.ndarray":
    """The standard deviation of additive Gaussian noise in image, robustly.

    Both methods read the noise from the diagonal detail coefficients d of one
    level of the Daubechies-2 wavelet transform (the finest scale, where a
    natural image has little but noise; PyWavelets' ``dwtn(image, 'db2')``).

    Parameters
    ----------
    image : array_like, shape (H, W) or (D, H, W)
        Real numbers, finite, in its own units (sigma comes out in them: an
        8-bit image read as 0..255 gives sigma in those units).
    channel_axis : int, optional
        None, or the axis of colour channels (e.g. -1 for (H, W, 3)): then one
        estimate per channel, as a float64 array.
    method : {'blocks', 'mad'}, default 'blocks'
        'blocks': the image's flattest places. The coefficients are cut into
        blocks of 64 (8 x 8 in 2-D, 4 x 4 x 4 in 3-D); sigma^2 is the 5%
        quantile of the blocks' mean d^2 divided by that quantile on pure noise
        (chi^2_64 / 64 at 5%: 0.728). Blocks whose pixels hold the image's
        minimum or maximum are left out: where data are clipped (black or
        saturated regions) the noise is cut. Texture and edges only raise a
        block's mean, so the flattest blocks are the least biased: on
        scikit-image's photographs at sigma = 0.01 the upward error is 3-15%
        against 'mad''s 30-60% (docs/denoising.md). An image with fewer than 32
        such blocks (below about 150 x 150 pixels, or most of it clipped) gets
        the median estimate of 'mad' over the coefficients whose pixels are not
        clipped (over all, as 'mad', if fewer than 64 are): on scikit-image's
        Shepp-Logan phantom with noise 0.1 clipped to [0, 1] (30% of the pixels
        at 0) it reads 0.095, where all coefficients read 0.067.

        'mad': Donoho and Johnstone's estimate, as
        skimage.restoration.estimate_sigma computes it: ``median(|d|) /
        0.6745`` over the coefficients that are not exactly zero.

    Returns
    -------
    float or ndarray of float64
        A float (or an array per channel); for an image without detail
        (constant) a value at rounding level (db2's taps sum to zero up to
        about 1e-17).

    Raises
    ------
    ValueError
        With 'blocks', an image (or the planes below) with a side under
        ``MIN_NOISE_SIDE`` (8) pixels, which holds too little diagonal detail
        to read the noise from; an image that is not 2-D or 3-D (besides its
        channel axis); another method.
    TypeError
        channel_axis is not an int or None.

    Notes
    -----
    With 'blocks', a volume with a side under ``THIN_VOLUME`` (16) is read as
    its planes along that side, side by side in 2-D (in 3-D the estimate reads
    low: -30% with 3 planes): a (1, H, W) volume is the (H, W) image. 'mad'
    gives scikit-image's number for any shape.

    Compiled (``gdfast.kernels.noise``); besides the float64 copy of an integer
    image and the finiteness check's mask, the coefficients are the only
    image-sized array it makes, a quarter of the image in 2-D, an eighth in
    3-D. Both estimates are biased upward by the image's own finest detail,
    where it is everywhere (grass, gravel: texture at the scale of a pixel
    cannot be told from noise).

    Nothing depends on the image's units: the coefficients are computed in
    units of the power of two just above ``max(abs(image))`` (a power of two
    changes no rounding), so ``estimate_sigma(2**k * image) == 2**k *
    estimate_sigma(image)`` exactly, and an image near 1e300 or 1e-300 reads
    as it does near 1 (the squares of its coefficients would overflow or
    underflow).

    Examples
    --------
    >>> import gdfast
    >>> from gdfast.images import synthetic_image, add_noise
    >>> noisy = add_noise(synthetic_image(256), sigma=0.05, seed=1)
    >>> print(round(gdfast.estimate_sigma(noisy), 2))
    0.05
    """
    if method not in ("blocks", "mad"):
        raise ValueError(f"method must be 'blocks' or 'mad', got {method!r}")
    x = check.real_array("image", image)
    if channel_axis is not None:
        if not isinstance(channel_axis, (int, np.integer)) or isinstance(channel_axis, bool):
            raise TypeError(f"channel_axis must be an int or None, got {channel_axis!r}")
        if not -x.ndim <= channel_axis < x.ndim:
            raise ValueError(f"channel_axis must be an axis of image (ndim {x.ndim}), "
                             f"got {channel_axis}")
        planes = np.moveaxis(x, channel_axis, 0)
        if planes.ndim not in (3, 4):
            raise ValueError("image must be 2-D or 3-D besides its channel axis, got shape "
                             f"{x.shape}")
        return np.array([_sigma_of_plane(p, method) for p in planes])
    if x.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D (H, W) or 3-D (D, H, W), got shape {x.shape}; "
                         "pass channel_axis= for colour channels")
    return _sigma_of_plane(x, method)


def _side_by_side(x):
    """A thin volume's planes along its thinnest axis, side by side in one
    2-D image (the seams are edges, which the flattest blocks leave out)."""
    axis = int(np.argmin(x.shape))
    planes = np.moveaxis(x, axis, 0)
    return np.concatenate(list(planes), axis=1)


def _sigma_of_plane(x, method):
    if method == "blocks":
        return _blocks_estimate(_readable_plane(x))[0]
    detail, unit = _detail(x)
    return _median_estimate(detail.reshape(-1), nonzero_to_front(detail.reshape(-1))) * unit


def _readable_plane(x):
    """x as 'blocks' reads it: a thin volume's planes side by side; a
    ValueError for a side under MIN_NOISE_SIDE."""
    if x.ndim == 3 and min(x.shape) < THIN_VOLUME:
        x = np.ascontiguousarray(_side_by_side(x))
    if min(x.shape) < MIN_NOISE_SIDE:
        raise ValueError(f"image of shape {x.shape} is too thin to read its noise from (a side "
                         f"under {MIN_NOISE_SIDE} pixels); give the noise level (sigma) or lam")
    return x


def _detail(x):
    """(|detail| of x / unit, unit): the coefficients of x in units of
    ``unit`` = 2^e for max |x| = m 2^e (0.5 <= m < 1), so that their squares
    neither overflow (x near 1e300) nor underflow (near 1e-300), and an
    estimate from them times unit is exactly unit-free:
    estimate_sigma(2^k x) = 2^k estimate_sigma(x)."""
    top = max_magnitude(x)
    unit = math.ldexp(1.0, max(math.frexp(top)[1], -1023)) if top > 0.0 else 1.0
    detail = np.empty(tuple((n + 3) // 2 for n in x.shape))
    (diagonal_detail_2d if x.ndim == 2 else diagonal_detail_3d)(x, detail, 1.0 / unit)
    return detail, unit


def _median_estimate(flat, n):
    """The MAD estimate from the first n entries of flat (0 for n = 0)."""
    if n == 0:                                   # every coefficient exactly zero
        return 0.0
    return float(np.median(flat[:n], overwrite_input=True) / GAUSSIAN_MAD)


def _blocks_estimate(x):
    """('blocks' estimate of x, read from): read from 'flat blocks' (at least
    MIN_BLOCKS of them) or 'median' (fewer: the unclipped coefficients'
    median, or all nonzero ones' if fewer than MIN_UNCLIPPED are unclipped)."""
    detail, unit = _detail(x)
    side = BLOCK_SIDE[x.ndim]
    means = np.empty(max(detail.size // side ** x.ndim, 1))
    blocks = (block_mean_squares_2d if x.ndim == 2 else block_mean_squares_3d)(
        x, detail, side, means)
    if blocks >= MIN_BLOCKS:
        return (float(math.sqrt(np.quantile(means[:blocks], FLAT_QUANTILE) / CHI2_64_QUANTILE))
                * unit, "flat blocks")
    n = (unclipped_to_front_2d if x.ndim == 2 else unclipped_to_front_3d)(x, detail)
    if n < MIN_UNCLIPPED:                        # detail still holds every coefficient
        n = nonzero_to_front(detail.reshape(-1))
    return _median_estimate(detail.reshape(-1), n) * unit, "median"


class NoiseRange(NamedTuple):
    """The noise level of an image and how far its data support it.

    The result of `sigma_range`.

    Parameters
    ----------
    sigma : float
        ``gdfast.estimate_sigma(image)`` (method 'blocks'): a reading that the
        image's own finest detail can only raise.
    low : float
        The least noise level the finest two scales support (<= sigma).
    read_from : str
        'flat blocks', or 'median' where the image has too few flat unclipped
        blocks (the estimate is rougher).
    """
    sigma: float
    low: float
    read_from: str


def sigma_range(image: ArrayLike) -> NoiseRange:
    """The noise level of an image and the least level its data support.

    Texture at the scale of a pixel cannot be told from noise at that scale,
    so `gdfast.estimate_sigma`'s sigma is an upper reading; the next coarser
    scale tells them apart. With v1 = sigma^2 and v2 the same reading of the
    image averaged over 2 x 2 (x 2) neighbours, times 2^ndim (white noise of
    level s reads s^2 at both scales; a natural image's own detail grows at
    least ``SCALE_GROWTH`` = 4 times from v1 to v2, its 1/f^2 power
    spectrum)::

        low^2 = max(4 v1 - v2, 0) / 3,   low <= sigma,

    exact for noise plus a scale-invariant image, and low for an image whose
    detail grows faster (texture, edges): on scikit-image's gravel and grass
    with noise 0.005 to 0.02, low = 0 while sigma reads 1.5 to 7.7 times the
    noise; on its smooth photographs at 0.01 and above, low is within 10% of
    sigma (docs/denoising.md, "When the noise cannot be read").

    Parameters
    ----------
    image : array_like, shape (H, W) or (D, H, W)
        Real numbers, finite.

    Returns
    -------
    NoiseRange
        (sigma, low, read_from). An image whose halves have a side under
        ``MIN_NOISE_SIDE`` has no coarser scale to read: low = sigma.

    Raises
    ------
    ValueError
        image is not 2-D or 3-D, or has a side too thin to read its noise
        from.

    Notes
    -----
    ``denoise(f, lam='auto')`` keeps lam from making f worse than itself at
    noise level low (`gdfast.denoise`'s guard).
    """
    x = check.real_array("image", image)
    if x.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D (H, W) or 3-D (D, H, W), got shape {x.shape}")
    x = _readable_plane(x)
    sigma, read_from = _blocks_estimate(x)
    if min(x.shape) < 2 * MIN_NOISE_SIDE or not 0.0 < sigma < math.inf:
        return NoiseRange(sigma, sigma, read_from)   # no coarser scale, or no noise to scale by
    coarse = _halved(x, 1.0 / sigma)             # in units of sigma: no overflow near 1e308
    ratio = 2.0 ** (x.ndim / 2) * _blocks_estimate(_readable_plane(coarse))[0]
    low = sigma * math.sqrt(max(SCALE_GROWTH - ratio * ratio, 0.0) / (SCALE_GROWTH - 1.0))
    return NoiseRange(sigma, min(low, sigma), read_from)


def chroma_ratio(image: ArrayLike, channel_axis: int = -1) -> float:
    """How white the noise of a colour image looks, from its colour differences.

    The colour differences R - G and B - G carry the noise of two channels
    and little of the picture (its light and shade is in all three). White
    noise reads the same at the finest scale and at the next coarser one, as
    `sigma_range` reads them: this ratio is then about 1 (at most 1.61 from
    sigma 0.005 to 0.2 on scikit-image's colour photographs; the picture's
    own colour edges add to it at low noise). A JPEG file stores its colour at
    half the resolution (4:2:0 chroma subsampling, what cameras, phones and
    Pillow write) and quantises it: the colour differences of its noise are
    smooth at the finest scale and grainy at the next, blotches of 2 to 16
    pixels, and the ratio reads 1.8 and up. That noise is correlated: the
    finest scale reads it low, and each channel's `estimate_sigma` with it
    (0.027 to 0.032 for noise 0.05 saved at quality 85). A gray JPEG has no
    colour to tell: its noise is not judged.

    Parameters
    ----------
    image : array_like, shape (H, W, 3 or 4)
        A colour image (a fourth channel, alpha, is ignored), real numbers,
        finite, each side at least ``2 * MIN_NOISE_SIDE``.
    channel_axis : int, default -1
        The axis of the colour channels.

    Returns
    -------
    float
        The larger of the two colour differences' ratios; above
        ``CORRELATED_CHROMA`` the noise is not white (``looks_correlated``).
        nan where a difference has no detail at the finest scale to compare
        with (a gray picture stored as colour).

    Raises
    ------
    ValueError
        image is not (H, W) by 3 or 4 channels, or is too small.
    TypeError
        channel_axis is not an int.
    """
    x = check.real_array("image", image)
    if not isinstance(channel_axis, (int, np.integer)) or isinstance(channel_axis, bool):
        raise TypeError(f"channel_axis must be an int, got {channel_axis!r}")
    if x.ndim != 3 or not -3 <= channel_axis < 3 or x.shape[channel_axis] not in (3, 4):
        raise ValueError("image must be a colour image, (H, W) by 3 or 4 channels along "
                         f"channel_axis, got shape {x.shape} and channel_axis {channel_axis}")
    return chroma_ratio_of_planes(*(np.take(x, k, axis=channel_axis) for k in range(3)))


def chroma_ratio_of_planes(red: ArrayLike, green: ArrayLike, blue: ArrayLike) -> float:
    """`chroma_ratio` of a colour image given as its three planes.

    Parameters
    ----------
    red, green, blue : array_like, shape (H, W)
        The planes, real numbers, finite, one shape, each side at least
        ``2 * MIN_NOISE_SIDE``.

    Returns
    -------
    float
        As `chroma_ratio`: inf where a colour difference has no detail at
        the finest scale and some at the next (JPEG flattened it), nan where
        it has none at either.

    Raises
    ------
    ValueError
        The planes are not 2-D of one shape, or are too small.
    """
    planes = [check.real_array(name, p) for name, p in
              (("red", red), ("green", green), ("blue", blue))]
    if planes[0].ndim != 2 or any(p.shape != planes[0].shape for p in planes):
        raise ValueError("red, green and blue must be 2-D planes of one shape, got "
                         f"{[p.shape for p in planes]}")
    if min(planes[0].shape) < 2 * MIN_NOISE_SIDE:
        raise ValueError(f"planes of shape {planes[0].shape} are too small to compare two "
                         f"scales of their noise (a side under {2 * MIN_NOISE_SIDE} pixels)")
    r, g, b = planes
    ratios = []
    for difference in (r - g, b - g):
        fine = _blocks_estimate(difference)[0]
        if fine == 0.0:                          # flat at the finest scale: grainy at the next?
            ratios.append(math.inf if _blocks_estimate(_halved(difference))[0] > 0.0
                          else math.nan)
            continue
        coarse = _halved(difference, 1.0 / fine)      # in units of fine: no overflow
        ratios.append(2.0 * _blocks_estimate(coarse)[0])
    known = [v for v in ratios if not math.isnan(v)]
    return max(known) if known else math.nan


def looks_correlated(image: ArrayLike, channel_axis: int = -1) -> bool:
    """Whether a colour image's noise looks correlated (JPEG's colour).

    ``chroma_ratio(image, channel_axis) > CORRELATED_CHROMA``: then the noise
    is not white, `gdfast.estimate_sigma` reads it low at the finest scale,
    and ``denoise(lam='auto')`` with it leaves blotches: give the noise level
    (``sigma=``, ``--sigma``) if it is known.

    Parameters
    ----------
    image : array_like, shape (H, W, 3 or 4)
        A colour image, as `chroma_ratio` takes it.
    channel_axis : int, default -1
        The axis of the colour channels.

    Returns
    -------
    bool
        False where the ratio is nan (no colour detail to read).
    """
    return bool(chroma_ratio(image, channel_axis) > CORRELATED_CHROMA)


def _halved(x, scale=1.0):
    """scale times the mean of x over 2 x 2 (x 2) neighbours (an odd last
    row, column or plane left out): white noise of level s comes out
    scale s / 2^(ndim / 2). Temporaries: two arrays of the result's size."""
    x = x[tuple(slice(0, n - n % 2) for n in x.shape)]
    weight = scale / 2 ** x.ndim
    out = None
    for offsets in np.ndindex(*(2,) * x.ndim):
        part = x[tuple(slice(o, None, 2) for o in offsets)] * weight
        out = part if out is None else np.add(out, part, out=out)
    return np.ascontiguousarray(out)
