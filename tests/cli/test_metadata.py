"""`gdfast denoise` keeps the file's metadata that the output format can
hold (issue 28 item 4, "Metadata dropped"): EXIF (orientation included),
the ICC profile and the DPI of JPEG and PNG; the resolution and its unit of
TIFF, on both of its read and write paths (Pillow, tifffile); ImageJ's
calibration (unit, spacing, hyperstack axes). The stored pixels are
denoised as stored: never rotated by the orientation, the same whatever
metadata the file carries.

Each test writes a small image with Pillow or tifffile, runs the command in
this process, and reads the output back with Pillow or tifffile: the oracle
is the input's metadata as that library reads it.
"""
import functools
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from gdfast.cli import main

HEIGHT, WIDTH = 32, 48
ORIENTATION = 0x0112


def _denoise(src, dst):
    """`gdfast denoise SRC -o DST --lam 0.05`, in this process."""
    assert main(["denoise", str(src), "-o", str(dst), "--lam", "0.05"]) == 0


def _pixels(shape, dtype=np.uint8, seed=0):
    """A smooth ramp plus noise, of dtype's full range."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.2, 0.8, shape[1])[None, :]
    values = ramp.reshape((1, shape[1]) + (1,) * (len(shape) - 2))
    values = values + 0.1 * rng.standard_normal(shape)
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1.0
    return np.rint(np.clip(values, 0, 1) * top).astype(dtype) if top != 1.0 \
        else np.clip(values, 0, 1).astype(dtype)


@functools.cache
def _srgb_profile():
    # made once: the profile's header stamps the time it was made, so two made
    # a second apart differ (bytes 24-35)
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def _photo(path, **options):
    """An RGB HEIGHT x WIDTH photograph saved by Pillow with ``options``."""
    Image.fromarray(_pixels((HEIGHT, WIDTH, 3))).save(path, **options)
    return path


def test_jpeg_exif_orientation_survives_and_the_pixels_are_not_rotated(tmp_path):
    src = _photo(tmp_path / "portrait.jpg", exif=_exif(6), quality=90)
    _denoise(src, tmp_path / "out.jpg")
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.getexif()[ORIENTATION] == 6
        assert out.size == (WIDTH, HEIGHT)


def test_jpeg_exif_block_survives_whole(tmp_path):
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "gdfast camera"                  # Make
    src = _photo(tmp_path / "a.jpg", exif=exif.tobytes())
    _denoise(src, tmp_path / "out.jpg")
    with Image.open(src) as before, Image.open(tmp_path / "out.jpg") as after:
        assert after.info["exif"] == before.info["exif"]


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_icc_profile_bytes_survive(tmp_path, suffix):
    src = _photo(tmp_path / f"a{suffix}", icc_profile=_srgb_profile())
    _denoise(src, tmp_path / f"out{suffix}")
    with Image.open(src) as before, Image.open(tmp_path / f"out{suffix}") as after:
        assert after.info["icc_profile"] == before.info["icc_profile"]


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_dpi_survives(tmp_path, suffix):
    src = _photo(tmp_path / f"a{suffix}", dpi=(300, 150))
    _denoise(src, tmp_path / f"out{suffix}")
    with Image.open(src) as before, Image.open(tmp_path / f"out{suffix}") as after:
        # PNG stores pixels per metre: a few thousandths of a dot per inch apart
        assert after.info["dpi"] == pytest.approx(before.info["dpi"], abs=0.01)


def test_png_exif_orientation_survives(tmp_path):
    src = _photo(tmp_path / "a.png", exif=_exif(8))
    _denoise(src, tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as out:
        assert out.getexif()[ORIENTATION] == 8
        assert out.size == (WIDTH, HEIGHT)


def test_png_pixels_are_those_of_the_same_pixels_without_metadata(tmp_path):
    with_metadata = _photo(tmp_path / "a.png", exif=_exif(6), icc_profile=_srgb_profile(),
                           dpi=(300, 300))
    bare = _photo(tmp_path / "bare.png")
    _denoise(with_metadata, tmp_path / "out.png")
    _denoise(bare, tmp_path / "bare_out.png")
    out, expected = (np.asarray(Image.open(tmp_path / n)) for n in ("out.png", "bare_out.png"))
    assert out.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(out, expected)


def test_jpeg_pixels_are_denoised_as_stored_not_rotated(tmp_path):
    src = _photo(tmp_path / "portrait.jpg", exif=_exif(6))
    np.save(tmp_path / "stored.npy", np.asarray(Image.open(src)))
    _denoise(src, tmp_path / "out.png")
    _denoise(tmp_path / "stored.npy", tmp_path / "expected.npy")
    out = np.asarray(Image.open(tmp_path / "out.png"))
    np.testing.assert_array_equal(out, np.load(tmp_path / "expected.npy"))
    with Image.open(tmp_path / "out.png") as png:
        assert png.getexif()[ORIENTATION] == 6


# TIFF: XResolution, YResolution and ResolutionUnit

TIFF_KINDS = {
    "gray 8-bit (Pillow)": ((HEIGHT, WIDTH), np.uint8, "minisblack"),
    "RGB 16-bit (tifffile)": ((HEIGHT, WIDTH, 3), np.uint16, "rgb"),
}


def _resolution(page):
    """(XResolution, YResolution, ResolutionUnit) of a tifffile page, as stored."""
    tags = page.tags
    return tags["XResolution"].value, tags["YResolution"].value, tags["ResolutionUnit"].value


@pytest.mark.parametrize("kind", TIFF_KINDS)
def test_tiff_resolution_and_unit_survive(tmp_path, kind):
    shape, dtype, photometric = TIFF_KINDS[kind]
    src = tmp_path / "a.tif"
    tifffile.imwrite(src, _pixels(shape, dtype), photometric=photometric,
                     resolution=((1000, 3), (500, 7)), resolutionunit="CENTIMETER")
    _denoise(src, tmp_path / "out.tif")
    with tifffile.TiffFile(src) as before, tifffile.TiffFile(tmp_path / "out.tif") as after:
        assert _resolution(after.pages[0]) == _resolution(before.pages[0])
        assert after.pages[0].shape == before.pages[0].shape


def test_the_pages_of_a_tiff_stack_keep_their_resolution(tmp_path):
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, _pixels((3, HEIGHT, WIDTH)), photometric="minisblack",
                     resolution=(300, 300), resolutionunit="INCH", metadata=None)
    _denoise(src, tmp_path / "out.tif")
    with tifffile.TiffFile(tmp_path / "out.tif") as out:
        assert len(out.pages) == 3
        assert all(_resolution(p) == ((300, 1), (300, 1), 2) for p in out.pages)


# ImageJ hyperstacks: unit, spacing (z-spacing), axes, resolution

IMAGEJ_STACKS = {
    "ZYX uint8": ((5, HEIGHT, WIDTH), "ZYX", np.uint8),
    "ZYX uint16": ((5, HEIGHT, WIDTH), "ZYX", np.uint16),
    "TZYX float32": ((2, 3, HEIGHT, WIDTH), "TZYX", np.float32),
}


def _imagej_stack(path, kind, **metadata):
    shape, axes, dtype = IMAGEJ_STACKS[kind]
    tifffile.imwrite(path, _pixels(shape, dtype), imagej=True, resolution=(1 / 0.25, 1 / 0.25),
                     metadata={"spacing": 2.5, "unit": "um", "axes": axes, **metadata})
    return path


@pytest.mark.parametrize("kind", IMAGEJ_STACKS)
def test_imagej_hyperstack_keeps_spacing_unit_axes_and_resolution(tmp_path, kind):
    src = _imagej_stack(tmp_path / "stack.tif", kind, finterval=0.5)
    _denoise(src, tmp_path / "out.tif")
    with tifffile.TiffFile(src) as before, tifffile.TiffFile(tmp_path / "out.tif") as after:
        assert after.is_imagej
        old, new = before.imagej_metadata, after.imagej_metadata
        for key in ("spacing", "unit", "finterval", "images", "slices", "frames"):
            assert new.get(key) == old.get(key), key
        assert after.series[0].axes == before.series[0].axes
        assert after.series[0].shape == before.series[0].shape
        assert _resolution(after.pages[0]) == _resolution(before.pages[0])


def test_an_imagej_stack_denoised_as_a_volume_keeps_its_calibration(tmp_path):
    src = _imagej_stack(tmp_path / "stack.tif", "TZYX float32")
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.tif"), "--lam", "0.05",
                 "--volume"]) == 0
    with tifffile.TiffFile(src) as before, tifffile.TiffFile(tmp_path / "out.tif") as after:
        assert after.imagej_metadata["spacing"] == before.imagej_metadata["spacing"]
        assert after.imagej_metadata["unit"] == before.imagej_metadata["unit"]
        assert after.series[0].shape == before.series[0].shape


def test_without_tifffile_imagej_and_oriented_tiffs_are_still_denoised(tmp_path, monkeypatch):
    """The ImageJ calibration and a TIFF's orientation need tifffile; without
    it the resolution is kept and the rest dropped, without an error."""
    stack = _imagej_stack(tmp_path / "stack.tif", "ZYX uint8")
    oriented = tmp_path / "oriented.tif"
    tifffile.imwrite(oriented, _pixels((HEIGHT, WIDTH)), extratags=[(274, "H", 1, 3, True)])
    monkeypatch.setitem(sys.modules, "tifffile", None)
    _denoise(stack, tmp_path / "out.tif")
    _denoise(oriented, tmp_path / "oriented_out.tif")
    monkeypatch.undo()
    with tifffile.TiffFile(stack) as before, tifffile.TiffFile(tmp_path / "out.tif") as after:
        assert len(after.pages) == len(before.pages)
        assert _resolution(after.pages[0]) == _resolution(before.pages[0])


def test_imagej_stack_pixels_are_those_of_the_same_stack_without_metadata(tmp_path):
    src = _imagej_stack(tmp_path / "stack.tif", "ZYX uint16")
    bare = tmp_path / "bare.tif"
    tifffile.imwrite(bare, tifffile.imread(src), photometric="minisblack", metadata=None)
    _denoise(src, tmp_path / "out.tif")
    _denoise(bare, tmp_path / "bare_out.tif")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"),
                                  tifffile.imread(tmp_path / "bare_out.tif"))


# across formats: what the output can hold is kept, the rest dropped without error

def test_jpeg_to_tiff_keeps_orientation_icc_and_dpi(tmp_path):
    src = _photo(tmp_path / "a.jpg", exif=_exif(6), icc_profile=_srgb_profile(), dpi=(300, 300))
    _denoise(src, tmp_path / "out.tif")
    with tifffile.TiffFile(tmp_path / "out.tif") as out:
        page = out.pages[0]
        assert page.tags["Orientation"].value == 6
        assert page.iccprofile == _srgb_profile()
        assert _resolution(page) == ((300, 1), (300, 1), 2)
        assert page.shape == (HEIGHT, WIDTH, 3)


def test_png_to_jpeg_keeps_exif_icc_and_dpi(tmp_path):
    src = _photo(tmp_path / "a.png", exif=_exif(6), icc_profile=_srgb_profile(), dpi=(300, 300))
    _denoise(src, tmp_path / "out.jpg")
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.getexif()[ORIENTATION] == 6
        assert out.info["icc_profile"] == _srgb_profile()
        assert out.info["dpi"] == (300, 300)


ORIENTED_TIFFS = {
    "gray 8-bit, 6": ((HEIGHT, WIDTH), np.uint8, "minisblack", 6),
    "RGB 16-bit, 8": ((HEIGHT, WIDTH, 3), np.uint16, "rgb", 8),
    "gray float32, 3": ((HEIGHT, WIDTH), np.float32, "minisblack", 3),
}


@pytest.mark.parametrize("kind", ORIENTED_TIFFS)
def test_a_tiff_orientation_survives_and_the_pixels_are_not_rotated(tmp_path, kind):
    """Pillow turns such TIFFs upright when reading them (and Pillow 13
    misplaces the pixels of orientations 5 to 8): tifffile reads them."""
    shape, dtype, photometric, orientation = ORIENTED_TIFFS[kind]
    src = tmp_path / "a.tif"
    stored = _pixels(shape, dtype)
    tifffile.imwrite(src, stored, photometric=photometric,
                     extratags=[(274, "H", 1, orientation, True)])
    np.save(tmp_path / "stored.npy", stored)
    _denoise(src, tmp_path / "out.tif")
    _denoise(tmp_path / "stored.npy", tmp_path / "expected.npy")
    with tifffile.TiffFile(tmp_path / "out.tif") as out:
        assert out.pages[0].tags["Orientation"].value == orientation
        np.testing.assert_array_equal(out.asarray(), np.load(tmp_path / "expected.npy"))


def test_a_tiff_orientation_becomes_exif_in_png(tmp_path):
    src = tmp_path / "a.tif"
    tifffile.imwrite(src, _pixels((HEIGHT, WIDTH)), extratags=[(274, "H", 1, 6, True)])
    _denoise(src, tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as out:
        assert out.getexif()[ORIENTATION] == 6
        assert out.size == (WIDTH, HEIGHT)


def test_imagej_calibration_is_dropped_without_error_where_it_cannot_go(tmp_path):
    src = tmp_path / "plane.tif"
    tifffile.imwrite(src, _pixels((HEIGHT, WIDTH)), imagej=True, resolution=(4.0, 4.0),
                     metadata={"unit": "um"})
    _denoise(src, tmp_path / "out.png")
    _denoise(src, tmp_path / "out.npy")
    with Image.open(tmp_path / "out.png") as out:
        assert "dpi" not in out.info                # a unit of its own: no dots per inch
    assert np.load(tmp_path / "out.npy").shape == (HEIGHT, WIDTH)
