"""`gdfast denoise` on a stack of pages: one noise level and one lam for the
stack, one line for it, and a hint at --volume where neighbouring pages
differ by little more than their noise."""
import numpy as np
import pytest
from PIL import Image

from gdfast.cli import main


def _run(argv, capsys):
    code = main(["denoise"] + [str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _save(path, pages):
    images = [Image.fromarray(np.uint8(np.clip(np.rint(p * 255), 0, 255))) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:])
    return path


def _ball_slices(n=12, side=64, sigma=0.05):
    z, y, x = np.mgrid[:n, :side, :side]
    ball = 0.3 + 0.4 * (((x - 32) ** 2 + (y - 32) ** 2 + (z - n / 2) ** 2) < 400)
    return ball + sigma * np.random.default_rng(0).standard_normal(ball.shape)


def test_slices_of_a_volume_get_one_lam_and_the_volume_hint(tmp_path, capsys):
    src = _save(tmp_path / "slices.tif", _ball_slices())
    code, out, err = _run([src, "-o", tmp_path / "out.tif", "--max-iter", "20"], capsys)
    assert code == 0, err
    assert out.count("sigma ") == 1 and "on 8 of the pages side by side" in out
    assert "12 pages denoised at lam " in out and "--volume denoises them together" in out


def test_unrelated_pages_get_no_volume_hint(tmp_path, capsys):
    data = pytest.importorskip("skimage.data")
    rng = np.random.default_rng(1)
    pages = [getattr(data, name)()[100:164, 100:164] / 255.0
             + 0.05 * rng.standard_normal((64, 64)) for name in ("camera", "moon", "coins", "text")]
    src = _save(tmp_path / "pages.tif", pages)
    code, out, err = _run([src, "-o", tmp_path / "out.tif", "--max-iter", "20"], capsys)
    assert code == 0, err
    assert "4 pages denoised at lam " in out and "--volume" not in out
