"""gdfast.dask.denoise's lam='auto' keeps the guard's verdict on its central
crop: a texture left as it is comes back as f, and the result says why."""
import numpy as np
import pytest

import gdfast
import gdfast.dask

data = pytest.importorskip("skimage.data")


def test_a_texture_left_as_it_is_on_dask_is_f_with_the_guards_words(tmp_path):
    clean = data.gravel()[:200, :200] / 255.0
    f = clean + 0.005 * np.random.default_rng(1).standard_normal(clean.shape)
    got = gdfast.dask.denoise(f, store=tmp_path / "run", max_iter=15, tol=0)
    want = gdfast.denoise(f, max_iter=15, tol=0)
    assert got.lam == want.lam == 0.0 and got.guard == want.guard
    assert got.sigma_low == want.sigma_low and "left as it is" in got.guard
    assert np.array_equal(got.x.compute(), f)
