"""`gdfast denoise` on image files keeps what the file holds; each test
reproduces one reported defect (it failed before the fix):

1. 16-bit RGB and RGBA TIFFs came back as 8 bits (Pillow opens them as
   8-bit modes): they are read and written at 16 bits with tifffile, an
   optional extra (one line naming it when missing);
2. PNGs with a tRNS chunk (palette, gray, RGB, 16-bit gray) lost their
   transparency: it becomes an alpha channel, copied through untouched;
3. a .npy of a non-native byte order (>f8, >f4, >u2) was refused: it is
   read, and written back in its own dtype;
4. a float32 result beyond float32's range was written as inf: it is
   clipped to the largest finite float32.

Tiny images and few iterations: each test takes well under a second once
the kernels are in the disk cache.
"""
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

import gdfast
from gdfast.cli import image_files, main
from gdfast.cli.image_files import Picture, read_picture, write_picture
from gdfast.images import add_noise, psnr, synthetic_image


def _run(argv, capsys):
    """`gdfast denoise ARGV` in this process: (exit status, stdout, stderr)."""
    code = main(["denoise"] + [str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(code, err, *words):
    assert code == 1, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gdfast denoise: error:"), err
    for w in words:
        assert w in err, (w, err)


def _identity(src, dst, capsys):
    """`gdfast denoise SRC -o DST --lam 0 --max-iter 0`: the input itself."""
    code, out, err = _run([src, "-o", dst, "--lam", "0", "--max-iter", "0"], capsys)
    assert code == 0, err
    return out


def _rgb16(shape=(6, 7), channels=3, seed=0):
    """Values that 8 bits cannot hold (not multiples of 257)."""
    return np.random.default_rng(seed).integers(0, 65536, shape + (channels,), dtype=np.uint16)


# 1. 16-bit colour TIFF

TIFF_KINDS = {
    "rgb": dict(channels=3, options=dict(photometric="rgb")),
    "rgba": dict(channels=4, options=dict(photometric="rgb", extrasamples=["unassalpha"])),
    "rgb planar": dict(channels=3, options=dict(photometric="rgb", planarconfig="separate")),
    "rgb big-endian deflate": dict(channels=3, options=dict(photometric="rgb", byteorder=">",
                                                            compression="zlib")),
}


@pytest.mark.parametrize("kind", TIFF_KINDS)
def test_a_16_bit_colour_tiff_comes_back_exactly(tmp_path, capsys, kind):
    spec = TIFF_KINDS[kind]
    stored = _rgb16(channels=spec["channels"])
    data = np.moveaxis(stored, -1, 0) if "planar" in kind else stored
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, data, **spec["options"])
    out = _identity(src, dst, capsys)
    assert f"{'RGB+alpha' if spec['channels'] == 4 else 'RGB'} 7x6 uint16 (width x height)" in out
    back = tifffile.imread(dst)
    assert back.dtype == np.uint16 and back.shape == stored.shape
    np.testing.assert_array_equal(back, stored)
    if spec["channels"] == 4:
        with tifffile.TiffFile(dst) as tif:
            assert tif.pages[0].extrasamples == (2,)       # unassociated alpha, as read


def test_a_16_bit_rgb_tiff_is_denoised_at_16_bits(tmp_path, capsys):
    clean = synthetic_image(32)
    noisy = np.clip(add_noise(clean, 0.1, seed=2), 0, 1)
    stored = np.rint(np.stack([noisy, noisy.T, noisy[::-1]], -1) * 65535).astype(np.uint16)
    src, dst = tmp_path / "in.tif", tmp_path / "out.npy"
    tifffile.imwrite(src, stored, photometric="rgb")
    code, _, err = _run([src, "-o", dst, "--lam", "0.1", "--max-iter", "30"], capsys)
    assert code == 0, err
    result = np.load(dst)
    assert result.dtype == np.uint16 and result.shape == stored.shape
    expected = gdfast.denoise(stored[..., 1] / 65535.0, 0.1, max_iter=30).x
    np.testing.assert_array_equal(result[..., 1], np.rint(np.clip(expected, 0, 1) * 65535))
    assert psnr(clean.T, result[..., 1] / 65535) > psnr(clean.T, stored[..., 1] / 65535) + 3


def test_16_bit_rgb_npy_can_be_written_as_tiff(tmp_path, capsys):
    stored = _rgb16(channels=4)
    src, dst = tmp_path / "in.npy", tmp_path / "out.tif"
    np.save(src, stored)
    _identity(src, dst, capsys)
    np.testing.assert_array_equal(tifffile.imread(dst), stored)
    assert read_picture(dst).describe() == "RGB+alpha 7x6 uint16"     # width x height


def test_an_error_message_gives_the_size_as_the_run_line_does(tmp_path, capsys):
    """One describer (issue 28): the refusal names the picture width x
    height, as the run's first line does, not as the array's H x W x C."""
    np.save(tmp_path / "in.npy", _rgb16())                      # 7 wide, 6 high
    code, _, err = _run([tmp_path / "in.npy", "-o", tmp_path / "out.jpg"], capsys)
    _one_line_error(code, err, "Pillow cannot write 16-bit colour or alpha (RGB 7x6 uint16)")


def test_without_tifffile_16_bit_colour_tiff_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, _rgb16(), photometric="rgb")
    np.save(tmp_path / "in.npy", _rgb16())
    monkeypatch.setitem(sys.modules, "tifffile", None)
    code, _, err = _run([src, "-o", tmp_path / "out.npy"], capsys)
    _one_line_error(code, err, "16-bit colour TIFF", "pip install tifffile", "gdfast[images]")
    code, out, err = _run([tmp_path / "in.npy", "-o", tmp_path / "out.tif"], capsys)
    _one_line_error(code, err, "pip install tifffile")
    assert "iterations" not in out                               # refused before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "in.tif"]


def test_16_bit_colour_tiff_pages_and_other_sample_types_are_refused(tmp_path, capsys):
    pages = tmp_path / "pages.tif"
    with tifffile.TiffWriter(pages) as tif:
        for seed in (0, 1):
            tif.write(_rgb16(seed=seed), photometric="rgb")
    code, _, err = _run([pages, "-o", tmp_path / "out.tif"], capsys)
    _one_line_error(code, err, "2 colour pages")
    signed = tmp_path / "signed.tif"
    tifffile.imwrite(signed, _rgb16().astype(np.int16), photometric="rgb")
    code, _, err = _run([signed, "-o", tmp_path / "out.tif"], capsys)
    _one_line_error(code, err, "int16", "expected")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages.tif", "signed.tif"]


def test_the_memory_check_counts_16_bit_colour_tiff_at_2_bytes(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, _rgb16(), photometric="rgb")
    monkeypatch.setattr(image_files, "available_memory", lambda: 1000)
    code, _, err = _run([src, "-o", tmp_path / "out.tif"], capsys)
    _one_line_error(code, err, "declares an image of 7x6, 3 channels (width x height) of "
                    "2-byte values")


# 2. transparency (tRNS)

def _gray():
    return (np.arange(20, dtype=np.uint8).reshape(4, 5) * 10)


def test_gray_png_transparency_becomes_alpha(tmp_path, capsys):
    g = _gray()
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(g).save(src, transparency=30)
    out = _identity(src, dst, capsys)
    assert "gray+alpha 5x4 uint8" in out
    back = np.asarray(Image.open(dst))
    assert back.shape == (4, 5, 2)
    np.testing.assert_array_equal(back[..., 0], g)
    np.testing.assert_array_equal(back[..., 1], np.where(g == 30, 0, 255))


def test_rgb_png_transparency_becomes_alpha(tmp_path, capsys):
    g = _gray()
    rgb = np.stack([g, g[::-1], 255 - g], axis=-1)
    key = tuple(int(v) for v in rgb[1, 2])
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(rgb).save(src, transparency=key)
    _identity(src, dst, capsys)
    back = np.asarray(Image.open(dst))
    assert back.shape == (4, 5, 4)
    np.testing.assert_array_equal(back[..., :3], rgb)
    expected = np.where((rgb == key).all(axis=-1), 0, 255)
    assert (expected == 0).sum() == 1
    np.testing.assert_array_equal(back[..., 3], expected)


def test_palette_png_transparency_becomes_alpha(tmp_path, capsys):
    palette = np.array([[10 * i, 255 - 20 * i, 7 * i] for i in range(8)], np.uint8)
    alphas = np.array([0, 64, 128, 255, 200], np.uint8)       # indices 5-7: opaque
    index = (np.arange(20).reshape(4, 5) % 8).astype(np.uint8)
    image = Image.new("P", (5, 4))
    image.putpalette(palette.ravel().tolist())
    image.putdata(index.ravel().tolist())
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    image.save(src, transparency=alphas.tobytes())
    _identity(src, dst, capsys)
    back = np.asarray(Image.open(dst))
    assert back.shape == (4, 5, 4)
    np.testing.assert_array_equal(back[..., :3], palette[index])
    np.testing.assert_array_equal(back[..., 3], np.append(alphas, [255] * 3)[index])


def test_the_alpha_of_a_transparent_png_is_untouched_by_denoising(tmp_path, capsys):
    noisy = np.rint(np.clip(add_noise(synthetic_image(32), 0.1, seed=4), 0, 1) * 255)
    g = noisy.astype(np.uint8)
    key = int(g[3, 3])
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(g).save(src, transparency=key)
    code, _, err = _run([src, "-o", dst, "--lam", "0.1", "--max-iter", "20"], capsys)
    assert code == 0, err
    back = np.asarray(Image.open(dst))
    np.testing.assert_array_equal(back[..., 1], np.where(g == key, 0, 255))
    expected = gdfast.denoise(g / 255.0, 0.1, max_iter=20).x
    np.testing.assert_array_equal(back[..., 0], np.rint(np.clip(expected, 0, 1) * 255))


def test_16_bit_gray_png_transparency_keeps_16_bits_and_alpha(tmp_path, capsys):
    g = _gray().astype(np.uint16) * 300 + 7
    src = tmp_path / "in.png"
    Image.fromarray(g).save(src, transparency=int(g[2, 1]))
    _identity(src, tmp_path / "out.npy", capsys)
    back = np.load(tmp_path / "out.npy")
    assert back.dtype == np.uint16 and back.shape == (4, 5, 2)
    np.testing.assert_array_equal(back[..., 0], g)
    np.testing.assert_array_equal(back[..., 1], np.where(g == g[2, 1], 0, 65535))
    _identity(src, tmp_path / "out.tif", capsys)                # TIFF holds it, with tifffile
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), back)
    assert read_picture(tmp_path / "out.tif").describe() == "gray+alpha 5x4 uint16"
    code, _, err = _run([src, "-o", tmp_path / "out.png", "--lam", "0"], capsys)
    _one_line_error(code, err, "16-bit", "alpha", "write .npy or TIFF")   # not silently 8 bits
    assert not (tmp_path / "out.png").exists()


# 3. byte order of .npy

@pytest.mark.parametrize("dtype, shape", [(">f8", (5, 6)), (">f4", (5, 6)), (">u2", (5, 6)),
                                          (">u2", (5, 6, 3)), (">f8", (3, 5, 6))])
def test_a_non_native_npy_is_read_and_written_back_in_its_dtype(tmp_path, capsys, dtype, shape):
    dt = np.dtype(dtype)
    rng = np.random.default_rng(1)
    values = rng.integers(0, 65536, shape) if dt.kind == "u" else rng.random(shape)
    stored = values.astype(dt)
    assert not stored.dtype.isnative
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, stored)
    _identity(src, dst, capsys)
    back = np.load(dst)
    assert back.dtype == dt                                      # byte order included
    np.testing.assert_array_equal(back, stored)


def test_a_big_endian_npy_is_denoised_as_the_native_one(tmp_path, capsys):
    f = np.clip(add_noise(synthetic_image(24), 0.1, seed=7), 0, 1)
    np.save(tmp_path / "big.npy", f.astype(">f8"))
    np.save(tmp_path / "native.npy", f)
    for name in ("big", "native"):
        code, out, err = _run([tmp_path / f"{name}.npy", "-o", tmp_path / f"{name}_tv.npy",
                               "--lam", "0.1", "--max-iter", "10"], capsys)
        assert code == 0, err
        assert "gray 24x24 float64" in out
    big, native = np.load(tmp_path / "big_tv.npy"), np.load(tmp_path / "native_tv.npy")
    assert big.dtype == np.dtype(">f8")
    np.testing.assert_array_equal(big, native)
    np.testing.assert_array_equal(native, gdfast.denoise(f, 0.1, max_iter=10).x)


def test_a_big_endian_npy_of_another_type_names_the_types_expected(tmp_path, capsys):
    np.save(tmp_path / "in.npy", np.zeros((4, 4), ">i4"))
    code, _, err = _run([tmp_path / "in.npy", "-o", tmp_path / "out.npy"], capsys)
    _one_line_error(code, err, "expected a uint8, uint16, float32 or float64 array")


# 4. float32 results beyond float32's range

@pytest.mark.parametrize("suffix", [".tif", ".npy"])
def test_a_float32_result_beyond_the_range_is_clipped_not_inf(tmp_path, suffix):
    big = float(np.finfo(np.float32).max)
    plane = np.array([[0.5, big * 1.0000001, -big * 1.0000001], [1.0, 2.0, 3.0]])
    write_picture(tmp_path / f"out{suffix}", Picture([plane], np.dtype(np.float32), "gray"))
    back = (np.load if suffix == ".npy" else tifffile.imread)(tmp_path / f"out{suffix}")
    assert back.dtype == np.float32
    expected = np.array([[0.5, big, -big], [1.0, 2.0, 3.0]], np.float32)
    np.testing.assert_array_equal(back, expected)
    assert np.isfinite(back).all()


@pytest.mark.parametrize("lam", [[], ["--lam", "0.1"]])
def test_a_float32_tiff_with_one_3e38_pixel_is_refused_naming_it(tmp_path, capsys, lam):
    """Issue 28 leftover 9: the pixel held the whole energy, and the run
    stopped after 1 iteration (--lam) or read 'no noise found' (lam auto),
    writing the noisy input back without a word."""
    f = np.clip(add_noise(synthetic_image(64), 0.05, seed=1), 0, 1).astype(np.float32)
    f[20, 30] = 3e38
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, f)
    code, _, err = _run([src, "-o", dst] + lam, capsys)
    _one_line_error(code, err, f"INPUT {src}: f ranges from 0 to 3e+38",
                    "expected values of one scale", "float32's largest")
    assert not dst.exists()
