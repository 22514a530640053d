"""`gdfast denoise` end to end on generated files: every supported kind of
input comes back in its own type and shape, closer to the clean image; every
user error gives its message and a non-zero exit status, and writes nothing."""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from gdfast.cli import main
from gdfast.cli.image_files import read_picture
from gdfast.images import add_noise, psnr, synthetic_image

SIZE = 64


@pytest.fixture(scope="module")
def clean():
    return synthetic_image(SIZE)


@pytest.fixture(scope="module")
def noisy(clean):
    return np.clip(add_noise(clean, 0.1, seed=3), 0.0, 1.0)


def _write_png(path, array):
    Image.fromarray(array).save(path)
    return path


def _rgb(a):
    """Three different channels from one gray image."""
    return np.stack([a, a[::-1], a.T], axis=-1)


def _as_unit(a):
    """An image file's array on [0, 1]."""
    return a / {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)


def _run(argv, capsys):
    """`gdfast denoise ARGV` in this process: (exit status, stdout, stderr)."""
    code = main(["denoise"] + [str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


CASES = {
    "gray8.png": lambda n: np.rint(n * 255).astype(np.uint8),
    "gray16.png": lambda n: np.rint(n * 65535).astype(np.uint16),
    "rgb.png": lambda n: np.rint(_rgb(n) * 255).astype(np.uint8),
    "rgba.png": lambda n: np.dstack([np.rint(_rgb(n) * 255).astype(np.uint8),
                                     np.arange(n.size, dtype=np.uint8).reshape(n.shape)]),
    "gray.npy": lambda n: n,
    "gray32.npy": lambda n: n.astype(np.float32),
    "rgb16.npy": lambda n: np.rint(_rgb(n) * 65535).astype(np.uint16),
}


@pytest.mark.parametrize("name", CASES)
def test_denoise_keeps_type_and_shape_and_improves_psnr(tmp_path, capsys, name, clean, noisy):
    stored = CASES[name](noisy)
    src, dst = tmp_path / name, tmp_path / ("out_" + name)
    if name.endswith(".npy"):
        np.save(src, stored)
    else:
        _write_png(src, stored)
    code, out, err = _run([src, "-o", dst], capsys)
    assert code == 0, err
    assert f"wrote {dst}" in out and "iterations" in out and "energy" in out
    result = np.load(dst) if name.endswith(".npy") else np.asarray(Image.open(dst))
    assert result.dtype == stored.dtype and result.shape == stored.shape
    colour = stored.ndim == 3
    channels = range(3) if colour else [None]
    for c in channels:
        ref = clean if c in (None, 0) else (clean[::-1] if c == 1 else clean.T)
        before = _as_unit(stored[..., c] if colour else stored)
        after = _as_unit(result[..., c] if colour else result)
        assert psnr(ref, after) > psnr(ref, before) + 3.0
    if name == "rgba.png":                       # alpha is copied through
        np.testing.assert_array_equal(result[..., 3], stored[..., 3])


@pytest.mark.parametrize("suffix, mode", [(".tif", "I;16"), (".tiff", "I;16"), (".npy", None)])
def test_16_bit_input_keeps_16_bits_in_every_format(tmp_path, capsys, noisy, suffix, mode):
    src = _write_png(tmp_path / "in.png", np.rint(noisy * 65535).astype(np.uint16))
    dst = tmp_path / ("out" + suffix)
    code, _, err = _run([src, "-o", dst, "--max-iter", "5"], capsys)
    assert code == 0, err
    if mode:
        assert Image.open(dst).mode == mode
    else:
        assert np.load(dst).dtype == np.uint16


def test_jpeg_in_and_out(tmp_path, capsys, clean, noisy):
    src = tmp_path / "in.jpg"
    Image.fromarray(np.rint(_rgb(noisy) * 255).astype(np.uint8)).save(src, quality=95)
    dst = tmp_path / "out.jpg"
    code, _, err = _run([src, "-o", dst], capsys)
    assert code == 0, err
    out = np.asarray(Image.open(dst))
    assert out.shape == (SIZE, SIZE, 3) and out.dtype == np.uint8
    assert psnr(clean, out[..., 0] / 255) > psnr(clean, np.asarray(Image.open(src))[..., 0] / 255)


def test_a_3d_npy_volume_is_denoised_in_3d(tmp_path, capsys):
    rng = np.random.default_rng(0)
    vol = np.clip(0.5 + 0.1 * rng.standard_normal((8, 20, 3)), 0, 1)   # last axis 3: colour...
    src, dst = tmp_path / "v.npy", tmp_path / "out.npy"
    np.save(src, vol)
    code, out, err = _run([src, "-o", dst, "--volume"], capsys)        # ... unless --volume
    assert code == 0, err
    assert "volume 3x20x8" in out                   # width x height x depth
    import gdfast
    np.testing.assert_array_equal(np.load(dst), gdfast.denoise(vol).x)     # lam chosen


def test_parameters_reach_denoise(tmp_path, capsys, noisy):
    import gdfast
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, noisy)
    code, out, err = _run([src, "-o", dst, "--lam", "0.2", "--eps", "0.05", "--method", "nesterov",
                           "--max-iter", "7", "--tol", "0", "--threads", "1"], capsys)
    assert code == 0, err
    expected = gdfast.denoise(noisy, 0.2, eps=0.05, method="nesterov", max_iter=7, tol=0.0)
    np.testing.assert_array_equal(np.load(dst), expected.x)
    assert "after 7 iterations" in out


def test_existing_output_is_kept_unless_force(tmp_path, capsys, noisy):
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, noisy)
    dst.write_bytes(b"precious")
    code, out, err = _run([src, "-o", dst], capsys)
    assert code == 1 and "exists; pass --force" in err and dst.read_bytes() == b"precious"
    code, out, err = _run([src, "-o", dst, "--force"], capsys)
    assert code == 0, err
    assert np.load(dst).shape == noisy.shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "out.npy"]   # no temporaries


def _png_rgb16(path, shape):
    """A 16-bit-per-channel RGB PNG written by hand (Pillow cannot write one)."""
    h, w = shape
    rows = b"".join(b"\x00" + np.full((w, 3), 40000, ">u2").tobytes() for _ in range(h))
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def _error_cases(tmp_path, noisy):
    gray8 = _write_png(tmp_path / "g8.png", np.rint(noisy * 255).astype(np.uint8))
    gray16 = _write_png(tmp_path / "g16.png", np.rint(noisy * 65535).astype(np.uint16))
    floats = tmp_path / "f.npy"
    np.save(floats, noisy)
    bad = np.array(noisy)
    bad[3, 4] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "ints.npy", np.zeros((8, 8), np.int32))
    (tmp_path / "garbage.png").write_bytes(b"not an image at all")
    (tmp_path / "cut.png").write_bytes(gray8.read_bytes()[:200])
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY junk")
    _png_rgb16(tmp_path / "rgb16.png", (8, 8))
    out = tmp_path / "out"
    return {
        "missing file": ([tmp_path / "nope.png", "-o", out.with_suffix(".png")], 1, "no such file"),
        "not an image": ([tmp_path / "garbage.png", "-o", out.with_suffix(".png")], 1,
                         "not an image Pillow can read"),
        "truncated image": ([tmp_path / "cut.png", "-o", out.with_suffix(".png")], 1,
                            "unreadable image"),
        "bad npy": ([tmp_path / "junk.npy", "-o", out.with_suffix(".npy")], 1,
                    "not a readable .npy file"),
        "NaN in npy": ([tmp_path / "nan.npy", "-o", out.with_suffix(".npy")], 1, "NaN or inf"),
        "int32 npy": ([tmp_path / "ints.npy", "-o", out.with_suffix(".npy")], 1,
                      "expected a uint8, uint16, float32 or float64 array"),
        "16-bit colour PNG": ([tmp_path / "rgb16.png", "-o", out.with_suffix(".png")], 1,
                              "16-bit colour PNG"),
        "unknown output type": ([gray8, "-o", out.with_suffix(".bmp")], 1,
                                "unknown file type '.bmp'"),
        "unknown input type": ([tmp_path / "x.gif", "-o", out.with_suffix(".png")], 1,
                               "unknown file type '.gif'"),
        "missing folder": ([gray8, "-o", tmp_path / "no" / "out.png"], 1, "does not exist"),
        "16 bit to JPEG": ([gray16, "-o", out.with_suffix(".jpg")], 1, "JPEG holds 8-bit"),
        "float to PNG": ([floats, "-o", out.with_suffix(".png")], 1, "PNG cannot hold"),
        "negative lam": ([gray8, "-o", out.with_suffix(".png"), "--lam", "-1"], 2,
                         "argument --lam: --lam must be >= 0"),
        "zero eps": ([gray8, "-o", out.with_suffix(".png"), "--eps", "0"], 2,
                     "argument --eps: --eps must be > 0"),
        "nan tol": ([gray8, "-o", out.with_suffix(".png"), "--tol", "nan"], 2,
                    "--tol must be finite"),
        "fractional max-iter": ([gray8, "-o", out.with_suffix(".png"), "--max-iter", "2.5"], 2,
                                "argument --max-iter: expected an integer"),
        "unknown method": ([gray8, "-o", out.with_suffix(".png"), "--method", "lbfgs"], 2,
                           "invalid choice: 'lbfgs'"),
        "too many threads": ([gray8, "-o", out.with_suffix(".png"), "--threads", "999"], 2,
                             "--threads must be an integer from 1 to"),
        "no output": ([gray8], 2, "the following arguments are required: -o/--output"),
    }


ERROR_NAMES = ["missing file", "not an image", "truncated image", "bad npy", "NaN in npy",
               "int32 npy", "16-bit colour PNG", "unknown output type", "unknown input type",
               "missing folder", "16 bit to JPEG", "float to PNG", "negative lam", "zero eps",
               "nan tol", "fractional max-iter", "unknown method", "too many threads", "no output"]


@pytest.mark.parametrize("case", ERROR_NAMES)
def test_each_error_gives_its_message_and_a_non_zero_status(tmp_path, capsys, noisy, case):
    cases = _error_cases(tmp_path, noisy)
    assert sorted(cases) == sorted(ERROR_NAMES)
    argv, status, message = cases[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        code, _, err = _run(argv, capsys)
    except SystemExit as exit_:                 # argparse's errors
        code, err = exit_.code, capsys.readouterr().err
    assert code == status
    assert message in err
    assert err.count("\n") <= 8                  # a message, not a traceback
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # nothing written


def test_python_m_gdfast_runs_the_same_command(tmp_path, noisy):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    _write_png(src, np.rint(noisy * 255).astype(np.uint8))
    run = subprocess.run([sys.executable, "-m", "gdfast", "denoise", str(src), "-o", str(dst),
                          "--max-iter", "3"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "after 3 iterations" in run.stdout and dst.exists()
    missing = subprocess.run([sys.executable, "-m", "gdfast", "denoise", str(tmp_path / "x.png"),
                              "-o", str(dst)], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1 and "no such file" in missing.stderr


@pytest.mark.parametrize("command", ["denoise", "demo", "bench", "classic"])
def test_every_subcommand_has_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text and f"gdfast {command}" in text


def test_read_picture_scales_integers_to_the_unit_interval(tmp_path):
    a = np.array([[0, 255], [128, 64]], np.uint8)
    pic = read_picture(_write_png(tmp_path / "a.png", a))
    np.testing.assert_array_equal(pic.planes[0], a / 255.0)
    assert pic.stored_array().dtype == np.uint8
    np.testing.assert_array_equal(pic.stored_array(), a)     # a round trip is lossless
    assert os.path.getsize(tmp_path / "a.png") > 0
