"""denoise and `gdfast denoise` never lose work: checkpoints resume bit for
bit, a bad checkpoint is an error (never a silent restart), and Ctrl-C stops
between iterations with a consistent iterate."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import gdfast
from gdfast.checkpoint import CheckpointError
from gdfast.images import add_noise, synthetic_image

KEYS = ("x", "jac", "fun", "nit", "status", "fun_history", "grad_norm_history", "psnr_history")


@pytest.fixture(scope="module")
def images():
    clean = synthetic_image(96)
    return clean, add_noise(clean, 0.1, seed=4)


def _same(a, b, keys=KEYS):
    for k in keys:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("method", ["momentum", "nesterov", "adam"])
def test_resume_after_max_iter_goes_on_bit_for_bit(tmp_path, images, method):
    clean, f = images
    path = tmp_path / "run.npz"
    kw = dict(tol=0.0, clean=clean, method=method)
    full = gdfast.denoise(f, 0.1, max_iter=30, **kw)
    first = gdfast.denoise(f, 0.1, max_iter=11, checkpoint=path, **kw)
    assert first.status == "max_iter" and path.exists()
    again = gdfast.denoise(f, 0.1, max_iter=30, checkpoint=path, resume=True, **kw)
    _same(again, full)
    # iterate 11 is evaluated once more, but counted once (issue 28 item 2: a resume
    # reports the counters of a run that never stopped)
    assert again.nfev == full.nfev


def test_resume_from_a_periodic_checkpoint_after_a_crash(tmp_path, images):
    clean, f = images
    path = tmp_path / "run.npz"
    kw = dict(tol=1e-9, clean=clean, method=gdfast.Adam(lr=gdfast.schedules.cosine_decay(0.02, 40)))
    full = gdfast.denoise(f, 0.1, max_iter=40, **kw)

    def crash(r):
        if r.nit == 17:
            raise RuntimeError("power cut")
    with pytest.raises(RuntimeError, match="power cut"):
        gdfast.denoise(f, 0.1, max_iter=40, checkpoint=path, checkpoint_every=5, callback=crash,
                       **kw)
    again = gdfast.denoise(f, 0.1, max_iter=40, checkpoint=path, resume=True, **kw)
    _same(again, full)
    assert again.nfev == full.nfev                # resumed at a boundary: nothing evaluated twice
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]      # no temporary files left


def test_ctrl_c_stops_between_iterations_and_resumes(tmp_path, images):
    clean, f = images
    path = tmp_path / "run.npz"
    kw = dict(tol=0.0, clean=clean, method="nesterov")
    full = gdfast.denoise(f, 0.1, max_iter=25, **kw)

    def press_ctrl_c(r):
        if r.nit == 9:
            signal.raise_signal(signal.SIGINT)
    handler = signal.getsignal(signal.SIGINT)
    res = gdfast.denoise(f, 0.1, max_iter=25, checkpoint=path, callback=press_ctrl_c, **kw)
    assert signal.getsignal(signal.SIGINT) is handler
    assert res.status == "interrupted" and not res.success and res.nit == 10
    stopped = gdfast.denoise(f, 0.1, max_iter=10, **kw)          # the run that ends there
    _same(res, stopped, ("x", "jac", "fun", "fun_history", "grad_norm_history", "psnr_history"))
    _same(gdfast.denoise(f, 0.1, max_iter=25, checkpoint=path, resume=True, **kw), full)


def test_a_second_ctrl_c_raises_at_once(images):
    clean, f = images

    def press_twice(r):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        gdfast.denoise(f, 0.1, max_iter=25, callback=press_twice)


def test_bad_checkpoints_are_errors_never_a_restart(tmp_path, images):
    clean, f = images
    path = tmp_path / "run.npz"
    gdfast.denoise(f, 0.1, max_iter=5, tol=0.0, checkpoint=path)
    good = path.read_bytes()
    with pytest.raises(CheckpointError, match="lam: checkpoint 0.1, this run 0.2"):
        gdfast.denoise(f, 0.2, max_iter=9, checkpoint=path, resume=True)
    with pytest.raises(CheckpointError, match="start_sha256"):
        gdfast.denoise(f + 1e-9, 0.1, max_iter=9, checkpoint=path, resume=True)
    with pytest.raises(CheckpointError, match="rule"):
        gdfast.denoise(f, 0.1, max_iter=9, method="adam", checkpoint=path, resume=True)
    with pytest.raises(CheckpointError, match="PSNR"):
        gdfast.denoise(f, 0.1, max_iter=9, tol=0.0, clean=clean, checkpoint=path, resume=True)
    for broken in (good[: len(good) // 2], b"", good[:100] + bytes([good[100] ^ 1]) + good[101:],
                   good[:-40] + bytes(b ^ 0xFF for b in good[-40:])):
        path.write_bytes(broken)
        with pytest.raises(CheckpointError):
            gdfast.denoise(f, 0.1, max_iter=9, checkpoint=path, resume=True)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        gdfast.denoise(f, 0.1, max_iter=9, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        gdfast.denoise(f, 0.1, resume=True)
    with pytest.raises(CheckpointError, match="checkpoint of minimize, not of denoise"):
        gdfast.minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), max_iter=2, checkpoint=path)
        gdfast.denoise(f, 0.1, max_iter=9, checkpoint=path, resume=True)


@pytest.mark.slow
def test_cli_ctrl_c_saves_writes_nothing_and_resume_finishes_bit_for_bit(tmp_path):
    """A real SIGINT to a real `gdfast denoise` process."""
    f = add_noise(synthetic_image(700), 0.1, seed=1)
    np.save(tmp_path / "in.npy", f)
    def command(max_iter, *more):
        return [sys.executable, "-m", "gdfast", "denoise", str(tmp_path / "in.npy"), "-o",
                str(tmp_path / "out.npy"), "--tol", "0", "--method", "nesterov", "--max-iter",
                str(max_iter), "--checkpoint", str(tmp_path / "run.npz"), "--checkpoint-every",
                "1000", *more]
    proc = subprocess.Popen(command(100000), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while proc.poll() is None and "it/s" not in proc.stderr.read(64) and time.time() < deadline:
        pass                                     # wait until iterations are running
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "not written" in err and "--resume" in err
    assert not (tmp_path / "out.npy").exists() and (tmp_path / "run.npz").exists()
    nit = int(err.split("iteration ")[1].split(")")[0])
    assert 0 < nit < 100000
    # go on to a few iterations further, then compare with a run that never stopped
    done = subprocess.run(command(nit + 7, "--resume"), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    full = gdfast.denoise(f, method="nesterov", max_iter=nit + 7, tol=0.0)  # lam chosen
    assert np.array_equal(np.load(tmp_path / "out.npy"), full.x)


def test_cli_resume_without_a_checkpoint_is_an_error(tmp_path, capsys):
    from gdfast.cli import main
    np.save(tmp_path / "in.npy", np.zeros((8, 8)))
    code = main(["denoise", str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy"),
                 "--checkpoint", str(tmp_path / "c.npz"), "--resume"])
    assert code == 1 and "nothing to resume" in capsys.readouterr().err
    code = main(["denoise", str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy"), "--resume"])
    assert code == 1 and "--resume needs --checkpoint" in capsys.readouterr().err
