"""denoise's tiled path (temporal blocking, gdfast.kernels.tv_tiles) against
its fused path: the same result to the bit (iterate, gradient, energies,
max|g| history, counters and status) for every way a run ends: max_iter,
the relative-change rule inside a block, a non-finite iterate inside a
block, Ctrl-C, checkpoints and resuming, eps stages and lam='auto'.

The tiled path is taken from BLOCK_MIN_PIXELS (4 Mpx) on; here the tests
lower that threshold and the tile side to 256 (one row segment) so that
images of a few hundred pixels a side have several tiles across and down
and rows of several segments, and count the tiled kernel's calls to show
which path ran.
"""
import signal

import numpy as np
import pytest

import gdfast
from gdfast import _denoise
from gdfast.images import add_noise, synthetic_image
from gdfast.kernels import tv_tiles

KEYS = ("x", "jac", "fun", "nit", "nfev", "status", "fun_history", "grad_norm_history")


@pytest.fixture(scope="module")
def f():
    return add_noise(synthetic_image(700)[:300], 0.1, seed=5)   # 2 x 3 tiles of 256


class Paths:
    """Runs of denoise on either path; ``calls`` counts the tiled kernel's calls."""

    def __init__(self, monkeypatch):
        self.monkeypatch, self.calls, self.after_call = monkeypatch, 0, None
        kernel = tv_tiles.tv_descent_tiled_2d

        def counted(*args):
            kernel(*args)
            self.calls += 1
            if self.after_call is not None:
                self.after_call(self.calls)
        monkeypatch.setattr(tv_tiles, "tv_descent_tiled_2d", counted)
        monkeypatch.setattr(_denoise, "BLOCK_TILE", 256)

    def tiled(self, *args, **kw):
        self.monkeypatch.setattr(_denoise, "BLOCK_MIN_PIXELS", 0)
        return gdfast.denoise(*args, **kw)

    def fused(self, *args, **kw):
        self.monkeypatch.setattr(_denoise, "BLOCK_MIN_PIXELS", 10 ** 15)
        calls = self.calls
        res = gdfast.denoise(*args, **kw)
        assert self.calls == calls                        # no tile kernel on this path
        return res


@pytest.fixture
def paths(monkeypatch):
    return Paths(monkeypatch)


def _same(a, b, keys=KEYS):
    for k in keys:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("kw", [
    dict(lam=0.1, tol=0.0, max_iter=75),                       # eps stages: blocks of 20, 32, 23
    dict(lam=0.1),                                              # stops by tol inside a block
    dict(lam=0.1, tol=1e-4, method="nesterov"),
    dict(lam=0.1, eps=0.01, method="gd", max_iter=45, tol=0.0),
    dict(lam=0.1, eps=0.02, method="adam", max_iter=70, tol=1e-3),
    dict(lam=0.05, anisotropic=True, max_iter=40),
    dict(lam=0.1, max_iter=7, tol=0.0),                         # shorter than a block: fused
    dict(lam=0.0),                                              # gradient 0 at u = f
])
def test_tiles_give_the_fused_runs_bits(paths, f, kw):
    fused = paths.fused(f, **kw)
    tiled = paths.tiled(f, **kw)
    _same(tiled, fused)
    assert (paths.calls > 0) == (kw.get("max_iter", 300) >= _denoise.BLOCK_MIN_ITERATIONS)


def test_a_stop_inside_a_block_returns_that_iterate(paths, f):
    fused = paths.fused(f, 0.1, tol=1e-5)
    assert fused.status == "ftol" and (fused.nit - 20) % _denoise.BLOCK_ITERATIONS != 0
    _same(paths.tiled(f, 0.1, tol=1e-5), fused)


def test_a_diverging_run_steps_back_to_its_last_finite_iterate(paths, f):
    kw = dict(lam=0.1, eps=0.05, method=gdfast.SGD(lr=30.0), tol=0.0, max_iter=400)
    fused = paths.fused(f, **kw)
    assert fused.status == "non-finite" and 0 < fused.nit < 399
    assert (fused.nit + 1) % _denoise.BLOCK_ITERATIONS != 0   # the bad iterate inside a block
    tiled = paths.tiled(f, **kw)
    _same(tiled, fused)
    assert np.isfinite(tiled.x).all()


def test_lam_auto_chooses_the_same_lam_by_tiles(paths, f):
    fused = paths.fused(f, sigma=0.1, max_iter=60)
    tiled = paths.tiled(f, sigma=0.1, max_iter=60)
    assert tiled.lam == fused.lam and np.array_equal(tiled.sure, fused.sure)
    _same(tiled, fused)
    assert paths.calls > 0


def test_checkpoints_fall_on_block_ends_and_resume_bit_for_bit(paths, f, tmp_path):
    kw = dict(lam=0.1, tol=0.0, max_iter=120)
    full = paths.fused(f, **kw)
    path = tmp_path / "run.npz"
    paths.after_call = lambda calls: _crash_at(calls, 4)
    with pytest.raises(RuntimeError, match="power cut"):
        paths.tiled(f, checkpoint=path, checkpoint_every=25, **kw)
    # blocks 0-20, fused steps 20-25, blocks 25-50, 50-75 and the crash in
    # 75-100: the checkpoint holds iterate 75
    paths.after_call = None
    copy = tmp_path / "copy.npz"
    copy.write_bytes(path.read_bytes())
    at = paths.fused(f, checkpoint=copy, resume=True, lam=0.1, tol=0.0, max_iter=1)
    assert at.status == "max_iter" and at.nit == 75
    copy.write_bytes(path.read_bytes())
    _same(paths.tiled(f, checkpoint=path, resume=True, **kw), full)
    _same(paths.fused(f, checkpoint=copy, resume=True, **kw), full)   # either path resumes


def _crash_at(calls, n):
    if calls == n:
        raise RuntimeError("power cut")


def test_ctrl_c_stops_at_the_end_of_the_block(paths, f, tmp_path):
    kw = dict(lam=0.1, tol=0.0, max_iter=150)
    paths.after_call = lambda calls: calls == 2 and signal.raise_signal(signal.SIGINT)
    path = tmp_path / "run.npz"
    res = paths.tiled(f, checkpoint=path, **kw)
    assert res.status == "interrupted" and res.nit == 20 + 32      # after the second block
    paths.after_call = None
    stopped = paths.fused(f, lam=0.1, tol=0.0, max_iter=res.nit)     # the run that ends there
    _same(res, stopped, ("x", "jac", "fun", "fun_history", "grad_norm_history"))
    _same(paths.tiled(f, checkpoint=path, resume=True, **kw), paths.fused(f, **kw))
