"""lam='auto''s guard: on fine natural texture (scikit-image's gravel and
grass) the finest scale reads the texture as noise and SURE then chose a lam
that left the image several dB below its noisy input; the guard holds lam to
beating f at the least noise level the data support (gdfast.images.
sigma_range). Oracles: the clean image (PSNR), pure noise of known level,
the explicit-lam call."""
import numpy as np
import pytest

import gdfast
from gdfast.images import psnr, sigma_range

data = pytest.importorskip("skimage.data")


def _texture(name, side=256):
    img = getattr(data, name)().astype(np.float64) / 255.0
    return np.ascontiguousarray(img[:side, :side])


def _noisy(clean, sigma, seed=1):
    return clean + sigma * np.random.default_rng(seed).standard_normal(clean.shape)


@pytest.mark.parametrize("name, sigma", [("gravel", 0.005), ("gravel", 0.01), ("grass", 0.01),
                                         ("grass", 0.02)])
def test_auto_never_leaves_a_texture_worse_than_its_noisy_input(name, sigma):
    # before the guard (these 256 px crops): gravel 0.005 -6.77 dB, 0.01 -2.58 dB;
    # grass 0.01 -6.24 dB, 0.02 -2.10 dB
    clean = _texture(name)
    f = _noisy(clean, sigma)
    res = gdfast.denoise(f, clean=clean)
    assert res.psnr >= psnr(clean, f) - 0.05, (res.lam, res.sigma, res.sigma_low)
    assert res.guard is not None and "left as it is" in res.guard


def test_a_guarded_lam_is_smaller_than_sures_and_still_denoises():
    # gravel at sigma 0.05: the finest scale reads 0.056, the next allows 0.033
    clean = _texture("gravel")
    f = _noisy(clean, 0.05)
    res = gdfast.denoise(f, clean=clean)
    assert res.guard is not None and "lam lowered to" in res.guard
    assert 0 < res.lam < res.sure[:, 0].max()
    assert res.psnr >= psnr(clean, f) + 1.0


def test_the_guard_is_silent_on_a_photograph():
    clean = _texture("camera")
    f = _noisy(clean, 0.02)
    res = gdfast.denoise(f, clean=clean)
    assert res.guard is None and res.psnr >= psnr(clean, f) + 2.0


def test_brick_is_still_denoised():
    # its texture is coarser than a pixel: the next scale reads the noise
    clean = _texture("brick")
    f = _noisy(clean, 0.005)
    res = gdfast.denoise(f, clean=clean)
    assert res.psnr >= psnr(clean, f) + 1.5, res.guard


def test_left_as_it_is_means_f_itself():
    f = _noisy(_texture("gravel"), 0.005)
    res = gdfast.denoise(f)
    assert res.lam == 0.0 and np.array_equal(res.x, f)


def test_the_guarded_choice_scales_with_the_data():
    f = _noisy(_texture("gravel"), 0.05)
    ref = gdfast.denoise(f, max_iter=0)
    for c in (1e-6, 1e3):
        res = gdfast.denoise(c * f, max_iter=0)
        assert res.lam == pytest.approx(c * ref.lam, rel=1e-6)
        assert res.sigma_low == pytest.approx(c * ref.sigma_low, rel=1e-9)
        assert (res.guard is None) == (ref.guard is None)


@pytest.mark.parametrize("shape", [(256, 256), (64, 64, 64), (8, 200, 200)])
def test_pure_noise_reads_the_same_at_both_scales(shape):
    x = 0.3 + 0.02 * np.random.default_rng(2).standard_normal(shape)
    r = sigma_range(x)
    assert r.sigma == pytest.approx(0.02, rel=0.05) and r.read_from == "flat blocks"
    assert 0.85 * r.sigma <= r.low <= r.sigma


def test_texture_supports_no_noise_at_the_next_scale():
    r = sigma_range(_noisy(_texture("gravel"), 0.005))
    assert r.sigma > 3 * 0.005 and r.low == 0.0


def test_a_given_sigma_is_the_guards_level():
    clean = _texture("camera")
    f = _noisy(clean, 0.02)
    res = gdfast.denoise(f, sigma=0.02, max_iter=0)
    assert res.sigma_low == 0.02 and res.sigma_read_from == "given" and res.guard is None


def test_a_flat_image_has_no_noise_and_is_left_as_it_is():
    # before: sigma 1.1e-33 read as noise and lam 4.3e-33 chosen for it
    f = np.full((64, 64), 0.7)
    res = gdfast.denoise(f)
    assert res.lam == 0.0 and np.array_equal(res.x, f)
    assert res.guard.startswith("no noise found")


def test_the_choice_of_lam_shows_its_trials_on_the_progress_bar(capsys):
    pytest.importorskip("tqdm")
    f = _noisy(_texture("camera", 64), 0.05)
    res = gdfast.denoise(f, progress="page7", max_iter=0)
    err = capsys.readouterr().err
    assert "page7: choosing lam" in err and f"lam={res.sure[-1, 0]:.4g}" in err


def test_the_choice_of_lam_never_runs_past_its_bars_total(monkeypatch):
    """The longest choice (issue 28 leftover 4): SURE falling for all 12
    trials of the walk, then the guard failing down to its last halving,
    which passes, and that lam's sqrt(2) neighbour tried as well: 21 lams.
    The solves are replaced by a risk table (R per lam, D = 0, sigma 1:
    a lam passes the guard when R <= 2); the bar's total must hold them."""
    pytest.importorskip("tqdm")
    import tqdm.auto

    from gdfast import _denoise
    smallest = _denoise.AUTO_FIRST * _denoise.AUTO_RATIO ** -25.5   # passes below this only
    solves = []

    def solve(objective, lam, stages, max_iter, tol):   # u carries its lam; D = 0
        solves.append(lam)
        return np.full(objective.f.shape, lam), 1, False

    def residual(u, f):
        return 1.0 if u[0] < smallest else 3.0 + u[0]

    bars = []

    class Bar:
        def __init__(self, total, desc, unit):
            self.total, self.desc, self.n = total, desc, 0
            bars.append(self)

        def set_postfix_str(self, text, refresh=True):
            pass

        def update(self, n):
            self.n += n

        def close(self):
            pass

    monkeypatch.setattr(_denoise, "_trial_solve", solve)
    monkeypatch.setattr(_denoise, "mean_squared_difference_parallel", residual)
    monkeypatch.setattr(_denoise, "difference_dot_parallel", lambda b, f, u: 0.0)
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    f = np.random.default_rng(3).random((16, 16))
    res = gdfast.denoise(f, sigma=1.0, max_iter=0, progress=True)
    choice = next(bar for bar in bars if "choosing lam" in bar.desc)
    assert len(res.sure) == len(solves) // 2 == choice.n == 21, res.guard
    assert choice.n <= choice.total
