"""`gdfast denoise`'s line says when lam='auto''s guard acted and when the
noise estimate is rough (scikit-image's gravel; its clipped phantom)."""
import numpy as np
import pytest

from gdfast.cli import main

data = pytest.importorskip("skimage.data")


def _run(argv, capsys):
    code = main(["denoise"] + [str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_line_says_the_guard_left_a_texture_as_it_is(tmp_path, capsys):
    clean = data.gravel()[:256, :256] / 255.0
    noisy = clean + 0.005 * np.random.default_rng(1).standard_normal(clean.shape)
    np.save(tmp_path / "in.npy", noisy)
    code, out, err = _run([tmp_path / "in.npy", "-o", tmp_path / "out.npy"], capsys)
    assert code == 0, err
    assert "fine detail reads as noise: the data support 0 to 0.02" in out
    assert "lam 0 (SURE, 0 tried; guarded)" in out and "    guard: " in out
    assert "left as it is" in out
    assert "no smoothing: energy" in out and "e-154" not in out     # not the floor eps
    assert np.array_equal(np.load(tmp_path / "out.npy"), noisy)


def test_the_line_says_a_clipped_image_is_read_roughly(tmp_path, capsys):
    clean = data.shepp_logan_phantom()
    noisy = np.clip(clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape), 0, 1)
    np.save(tmp_path / "in.npy", noisy)
    code, out, err = _run([tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--max-iter", "5"],
                          capsys)
    assert code == 0, err
    assert "(estimated from the median detail, too few flat unclipped blocks: rough)" in out
    assert "guard:" not in out


def _noisy_photo(tmp_path, suffix):
    """scikit-image's astronaut (centre 128 px) with noise 0.05, saved 8-bit
    as PNG or JPEG (quality 85)."""
    from PIL import Image
    clean = data.astronaut()[192:320, 192:320] / 255.0
    noisy = clean + 0.05 * np.random.default_rng(1).standard_normal(clean.shape)
    path = tmp_path / f"in{suffix}"
    Image.fromarray(np.rint(np.clip(noisy, 0, 1) * 255).astype(np.uint8)).save(path, quality=85)
    return path


UNRELIABLE = "looks unreliable: the noise is correlated (e.g. JPEG"


def test_the_line_says_jpeg_noise_reads_unreliably_and_suggests_sigma(tmp_path, capsys):
    """Issue 28 leftover 10: the JPEG's noise read 0.03 for 0.05 without a word."""
    src = _noisy_photo(tmp_path, ".jpg")
    code, out, err = _run([src, "-o", tmp_path / "out.png", "--max-iter", "5"], capsys)
    assert code == 0, err
    channel_lines = [ln for ln in out.splitlines() if ln.startswith(("  R:", "  G:", "  B:"))]
    assert len(channel_lines) == 3 and all(UNRELIABLE in ln and "give --sigma" in ln
                                           for ln in channel_lines), out


def test_the_same_noise_as_png_reads_without_the_warning(tmp_path, capsys):
    src = _noisy_photo(tmp_path, ".png")
    code, out, err = _run([src, "-o", tmp_path / "out.png", "--max-iter", "5"], capsys)
    assert code == 0, err
    assert "sigma 0.05" in out and UNRELIABLE not in out
