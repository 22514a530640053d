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
