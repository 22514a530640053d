"""Test images for the denoising benchmarks and tests, and PSNR."""
import math

import numpy as np
from numpy.typing import ArrayLike

from .kernels.reductions import mean_squared_difference_parallel


def synthetic_image(size: int, seed: int = 0) -> np.ndarray:
    """A deterministic piecewise-smooth test image on [0, 1], shape (size, size).

    The classic tutorials' sin(5x)cos(5y) pattern, dimmed, with a bright disc,
    a dark rectangle and a linear ramp cut by sharp edges; ``seed`` is unused
    by the image itself (it is fixed) and kept for a uniform signature.
    """
    t = np.linspace(0.0, 1.0, size)
    y, x = np.meshgrid(t, t, indexing="ij")
    img = 0.5 + 0.2 * np.sin(5 * 2 * np.pi * x / 2) * np.cos(5 * 2 * np.pi * y / 2)
    img = np.where((x - 0.3) ** 2 + (y - 0.35) ** 2 < 0.04, 0.9, img)
    img = np.where((np.abs(x - 0.7) < 0.15) & (np.abs(y - 0.7) < 0.1), 0.1, img)
    img = np.where((x > 0.55) & (y < 0.3), 0.2 + 0.6 * x * (1 - y), img)
    return np.clip(img, 0.0, 1.0)


def camera_image(size: int) -> np.ndarray:
    """scikit-image's bundled 512x512 ``camera`` image on [0, 1], tiled (mirrored)
    to (size, size). Needs scikit-image."""
    from skimage import data
    cam = data.camera().astype(np.float64) / 255.0
    reps = -(-size // cam.shape[0])
    tile = np.block([[cam if (i + j) % 2 == 0 else cam[:, ::-1] for j in range(reps)]
                     for i in range(reps)])
    return np.ascontiguousarray(tile[:size, :size])


def test_image(size: int, source: str = "auto") -> tuple[np.ndarray, str]:
    """(clean, name): 'camera' when scikit-image is installed (source='auto'),
    else the synthetic image; source may be 'camera' or 'synthetic'."""
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
    """clean + sigma * N(0, 1), seeded (not clipped)."""
    return clean + sigma * np.random.default_rng(seed).standard_normal(clean.shape)


def psnr(clean: ArrayLike, image: ArrayLike, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / mean((clean - image)^2)).

    The mean is a compiled, thread-count-independent pass without temporaries
    (gdfast.denoise records it at every iteration).
    """
    a = np.ascontiguousarray(clean, dtype=np.float64).ravel()
    b = np.ascontiguousarray(image, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"image must have the shape of clean {np.shape(clean)}, "
                         f"got {np.shape(image)}")
    mse = mean_squared_difference_parallel(a, b)
    return float(10.0 * math.log10(data_range ** 2 / mse)) if mse > 0 else math.inf
