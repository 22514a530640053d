"""`gdfast denoise` never destroys or silently drops a user's data (issue 19):
each test reproduces one report of the adversarial run, and passes now.

1. a --checkpoint path that is the input, the output or another channel's
   checkpoint (symbolic and hard links included) is refused before any work;
2. resuming with a smaller --max-iter returns the checkpoint's result (it
   hung and ruined the checkpoint);
3. a run that cannot give, or did not end with, a finite energy writes no
   output and exits 1 with what to change;
4. a header declaring more pixels than memory holds: one line, exit 1;
5. multi-page TIFFs and animated PNGs: every page denoised, none dropped;
6. an output that cannot be written is found before the work, and errors
   name the user's path;
7. temporaries left by a killed run are cleaned up by the next one.
"""
import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from PIL import Image

import gdfast
from gdfast._files import temporary_name
from gdfast.checkpoint import load_checkpoint
from gdfast.cli import main
from gdfast.images import add_noise, synthetic_image

SIZE = 48


@pytest.fixture(scope="module")
def noisy():
    return np.clip(add_noise(synthetic_image(SIZE), 0.1, seed=5), 0.0, 1.0)


def _run(argv, capsys):
    """`gdfast denoise ARGV` in this process: (exit status, stdout, stderr)."""
    code = main(["denoise"] + [str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _png(path, unit):
    Image.fromarray(np.rint(unit * 255).astype(np.uint8)).save(path)
    return path


def _refused_before_work(code, out, err, *words):
    """Exit 1 with one error line naming ``words``; no iteration ran."""
    assert code == 1, (code, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gdfast denoise: error:"), err
    for w in words:
        assert w in err, (w, err)
    assert "energy" not in out and "Traceback" not in err


# 1. the checkpoint path never overwrites the input, the output or another checkpoint

def _same_as_input(tmp_path, src):
    link = tmp_path / "link.npz"
    link.symlink_to(src)
    return link


def _hard_link_to_input(tmp_path, src):
    link = tmp_path / "hard.npz"
    os.link(src, link)
    return link


@pytest.mark.parametrize("suffix", [".png", ".npy"])
@pytest.mark.parametrize("how", ["same path", "symbolic link", "hard link", "other spelling"])
def test_checkpoint_on_the_input_is_refused_before_any_work(tmp_path, capsys, noisy, suffix, how):
    src = tmp_path / f"photo{suffix}"
    if suffix == ".png":
        _png(src, noisy)
    else:
        np.save(src, noisy)
    before = src.read_bytes()
    ckpt = {"same path": lambda: src,
            "symbolic link": lambda: _same_as_input(tmp_path, src),
            "hard link": lambda: _hard_link_to_input(tmp_path, src),
            "other spelling": lambda: tmp_path / "." / f"../{tmp_path.name}/photo{suffix}"}[how]()
    dst = tmp_path / f"photo_tv{suffix}"
    for more in ([], ["--tol", "0"]):
        code, out, err = _run([src, "-o", dst, "--checkpoint", ckpt, "--checkpoint-every", "10",
                               *more], capsys)
        _refused_before_work(code, out, err, "same file", "INPUT", "--checkpoint")
        assert src.read_bytes() == before and not dst.exists()


def test_checkpoint_on_the_output_is_refused_before_any_work(tmp_path, capsys, noisy):
    src, dst = tmp_path / "in.npy", tmp_path / "myout.npy"
    np.save(src, noisy)
    code, out, err = _run([src, "-o", dst, "--checkpoint", dst, "--tol", "0"], capsys)
    _refused_before_work(code, out, err, "same file", "OUTPUT")
    assert not dst.exists()
    dst.write_bytes(b"keep me")                       # with --force, an existing output too
    code, out, err = _run([src, "-o", dst, "--checkpoint", dst, "--force"], capsys)
    _refused_before_work(code, out, err, "same file")
    assert dst.read_bytes() == b"keep me"


def test_a_channel_checkpoint_on_the_output_is_refused(tmp_path, capsys, noisy):
    src = tmp_path / "rgb.png"
    rgb = np.stack([noisy, noisy[::-1], noisy.T], axis=-1)
    Image.fromarray(np.rint(rgb * 255).astype(np.uint8)).save(src)
    dst = tmp_path / "run.G.png"                      # what --checkpoint run.png names channel G
    code, out, err = _run([src, "-o", dst, "--checkpoint", tmp_path / "run.png"], capsys)
    _refused_before_work(code, out, err, "same file", "run.G.png")
    assert not dst.exists()


def test_a_file_that_is_not_a_checkpoint_is_never_overwritten(tmp_path, capsys, noisy):
    src, dst, notes = tmp_path / "in.npy", tmp_path / "out.npy", tmp_path / "notes.npz"
    np.save(src, noisy)
    notes.write_bytes(b"my notes")
    code, out, err = _run([src, "-o", dst, "--checkpoint", notes, "--tol", "0"], capsys)
    _refused_before_work(code, out, err, "not a gdfast checkpoint")
    assert notes.read_bytes() == b"my notes" and not dst.exists()


# 2. resuming with a smaller --max-iter

def test_resume_with_a_smaller_max_iter_finishes_with_the_checkpoints_result(tmp_path, noisy):
    np.save(tmp_path / "in.npy", noisy)

    def denoise(max_iter, out, *more):
        return subprocess.run(
            [sys.executable, "-m", "gdfast", "denoise", str(tmp_path / "in.npy"), "-o",
             str(tmp_path / out), "--max-iter", str(max_iter), "--tol", "0", "--checkpoint",
             str(tmp_path / "ck5.npz"), *more], capture_output=True, text=True, timeout=240)
    first = denoise(5, "o5.npy")
    assert first.returncode == 0, first.stderr
    saved = load_checkpoint(tmp_path / "ck5.npz")[1]["x"]
    again = denoise(2, "again.npy", "--resume")        # hung for ever before
    assert again.returncode == 0, again.stderr
    assert "after 5 iterations" in again.stdout
    assert np.load(tmp_path / "again.npy").tobytes() == np.load(tmp_path / "o5.npy").tobytes()
    meta, arrays = load_checkpoint(tmp_path / "ck5.npz")
    assert meta["counters"]["nit"] == 5 and arrays["x"].tobytes() == saved.tobytes()


# 3. failed runs write nothing and exit non-zero

@pytest.mark.parametrize("flags,words", [
    (["--lam", "1e308"], ("overflows", "rescale")),
    (["--lam", "1e306", "--eps", "1e3"], ("overflows",)),
])
def test_parameters_that_cannot_give_a_finite_energy_write_nothing(tmp_path, capsys, noisy,
                                                                   flags, words):
    src, dst = _png(tmp_path / "noisy.png", noisy), tmp_path / "oa.png"
    code, out, err = _run([src, "-o", dst, *flags], capsys)
    assert code == 1 and not dst.exists(), (out, err)
    assert "wrote" not in out and all(w in err for w in words), err


@pytest.mark.parametrize("eps", ["1e308", "1e-200"])
def test_an_eps_whose_square_is_not_a_normal_float_is_a_bad_argument(tmp_path, capsys, noisy, eps):
    src, dst = _png(tmp_path / "noisy.png", noisy), tmp_path / "oa.png"
    with pytest.raises(SystemExit) as exit_:
        main(["denoise", str(src), "-o", str(dst), "--eps", eps])
    assert exit_.value.code == 2 and "--eps must be in" in capsys.readouterr().err
    assert not dst.exists()


def test_data_beyond_the_float_range_of_the_energy_write_nothing(tmp_path, capsys, noisy):
    src, dst = tmp_path / "huge.npy", tmp_path / "out.npy"
    np.save(src, noisy * 1e160)
    code, out, err = _run([src, "-o", dst], capsys)
    assert code == 1 and not dst.exists() and "wrote" not in out
    assert "rescale f" in err


def test_a_run_that_diverges_writes_nothing(tmp_path, capsys, noisy, monkeypatch):
    """A method that diverges (here plain descent with a step 1e10 too long,
    put in place of the default heavy ball) ends 'non-finite': no output."""
    module = sys.modules["gdfast._denoise"]          # the module, not the function
    monkeypatch.setattr(module, "default_optimizer", lambda *a: gdfast.SGD(lr=1e10))
    src, dst = _png(tmp_path / "noisy.png", noisy), tmp_path / "out.png"
    code, out, err = _run([src, "-o", dst, "--tol", "0"], capsys)
    assert code == 1 and not dst.exists() and "wrote" not in out
    assert "NaN or inf" in err and "not written" in err and "--method" in err


# 4. headers that declare more than memory holds

def _png_header_only(path, width, height):
    """A PNG whose IHDR declares width x height 8-bit gray and whose data is one empty IDAT."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def _npy_header_only(path, shape):
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, dict(descr="<f8", fortran_order=False, shape=shape))
    return path


@pytest.mark.parametrize("make", [
    lambda p: _png_header_only(p / "bomb.png", 30000, 30000),
    lambda p: _png_header_only(p / "huge.png", 2_000_000, 2_000_000),
    lambda p: _npy_header_only(p / "huge.npy", (2_000_000, 2_000_000)),
])
def test_a_huge_declared_size_is_one_line_not_a_traceback(tmp_path, capsys, make):
    src = make(tmp_path)
    dst = tmp_path / ("out" + src.suffix)
    code, out, err = _run([src, "-o", dst], capsys)
    _refused_before_work(code, out, err, str(src))
    assert not dst.exists()


def test_a_declared_size_beyond_memory_says_how_much(tmp_path, capsys):
    src = _npy_header_only(tmp_path / "huge.npy", (2_000_000, 2_000_000))
    code, out, err = _run([src, "-o", tmp_path / "out.npy"], capsys)
    assert code == 1 and "GiB of memory" in err and "available" in err


# 5. pages

def _pages(noisy, n=3):
    return [np.rint(np.roll(noisy, 7 * k, axis=1) * 255).astype(np.uint8) for k in range(n)]


def _save_pages(path, pages):
    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:])
    return path


def _read_pages(path):
    with Image.open(path) as image:
        out = []
        for k in range(image.n_frames):
            image.seek(k)
            out.append(np.asarray(image).copy())
    return out


@pytest.mark.parametrize("source", ["stack.tif", "anim.png"])
def test_every_page_is_denoised_at_the_stacks_lam(tmp_path, capsys, noisy, source):
    # one lam for the stack (issue 28: a lam per page flickered), chosen as
    # gdfast.denoise chooses it for the pages side by side
    pages = _pages(noisy)
    src = _save_pages(tmp_path / source, pages)
    dst = tmp_path / "stack_tv.tif"
    code, out, err = _run([src, "-o", dst], capsys)
    assert code == 0, err
    assert "page stack 48x48x3 uint8" in out and "  3 pages: sigma " in out
    assert "page1:" not in out and "3 pages denoised at lam " in out
    lam = gdfast.denoise(np.concatenate([p / 255.0 for p in pages], axis=1), max_iter=0).lam
    result = _read_pages(dst)
    assert len(result) == 3
    for k, page in enumerate(pages):                 # each page as its own file at that lam
        single, single_out = _png(tmp_path / f"p{k}.png", page / 255.0), tmp_path / f"p{k}_tv.png"
        assert _run([single, "-o", single_out, "--lam", repr(lam)], capsys)[0] == 0
        np.testing.assert_array_equal(result[k], np.asarray(Image.open(single_out)))
    as_npy = tmp_path / "stack_tv.npy"
    code, out, _ = _run([src, "-o", as_npy, "--verbose"], capsys)
    assert code == 0 and all(f"page{k}: eps " in out for k in (1, 2, 3))
    np.testing.assert_array_equal(np.load(as_npy), np.stack(result))


def test_a_stack_with_volume_is_denoised_in_3d(tmp_path, capsys, noisy):
    pages = _pages(noisy)
    src, dst = _save_pages(tmp_path / "stack.tif", pages), tmp_path / "vol_tv.tif"
    code, out, err = _run([src, "-o", dst, "--volume", "--max-iter", "40"], capsys)
    assert code == 0, err
    expected = gdfast.denoise(np.stack(pages) / 255.0, max_iter=40).x      # lam chosen in 3-D
    expected = np.rint(np.clip(expected, 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(np.stack(_read_pages(dst)), expected)


def test_pages_that_cannot_be_kept_are_refused_never_dropped(tmp_path, capsys, noisy):
    pages = _pages(noisy)
    src = _save_pages(tmp_path / "stack.tif", pages)
    code, out, err = _run([src, "-o", tmp_path / "one.png"], capsys)     # PNG holds one page
    _refused_before_work(code, out, err, "multi-page TIFF")
    mixed = _save_pages(tmp_path / "mixed.tif", [pages[0], pages[1][:, :40]])
    code, out, err = _run([mixed, "-o", tmp_path / "m.tif"], capsys)
    _refused_before_work(code, out, err, "differ in size")
    colour = tmp_path / "colour.tif"
    rgb = [np.stack([p, p, p], axis=-1) for p in pages]
    _save_pages(colour, rgb)
    code, out, err = _run([colour, "-o", tmp_path / "c.tif"], capsys)
    _refused_before_work(code, out, err, "colour pages")
    assert sorted(os.listdir(tmp_path)) == ["colour.tif", "mixed.tif", "stack.tif"]


# 6. outputs that cannot be written are found before the work

def test_an_unwritable_folder_is_found_before_the_work(tmp_path, capsys, noisy, unwritable_folder):
    src = _png(tmp_path / "x.png", noisy)
    dst = os.path.join(unwritable_folder, "x.png")
    code, out, err = _run([src, "-o", dst], capsys)
    _refused_before_work(code, out, err, dst)
    assert ".tmp" not in err and "gdfast-tmp" not in err


def test_an_output_that_is_a_folder_is_found_before_the_work(tmp_path, capsys, noisy):
    src = _png(tmp_path / "x.png", noisy)
    (tmp_path / "out.png").mkdir()
    for more in ([], ["--force"]):
        code, out, err = _run([src, "-o", tmp_path / "out.png", *more], capsys)
        _refused_before_work(code, out, err, "is a folder", str(tmp_path / "out.png"))


def test_a_dangling_symlink_output_is_found_before_the_work(tmp_path, capsys, noisy):
    src = _png(tmp_path / "x.png", noisy)
    link = tmp_path / "out.png"
    link.symlink_to(tmp_path / "nowhere" / "y.png")
    for more in ([], ["--force"]):
        code, out, err = _run([src, "-o", link, *more], capsys)
        _refused_before_work(code, out, err, "dangling", str(link))
    assert os.path.islink(link) and not os.path.exists(link)


def test_an_unwritable_checkpoint_folder_is_found_before_the_work(tmp_path, capsys, noisy,
                                                                  unwritable_folder):
    src = _png(tmp_path / "x.png", noisy)
    ckpt = os.path.join(unwritable_folder, "run.npz")
    code, out, err = _run([src, "-o", tmp_path / "out.png", "--checkpoint", ckpt], capsys)
    _refused_before_work(code, out, err, ckpt)
    assert not (tmp_path / "out.png").exists()


# 7. leftovers of killed runs

def test_the_next_run_removes_what_a_killed_run_left(tmp_path, capsys, noisy):
    out = tmp_path / "out.npy"
    # a real writer killed with SIGKILL while its temporary file is open
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from gdfast._files import temporary_name; "
         "p = temporary_name(sys.argv[1]); open(p, 'wb').write(b'x' * 1000); print(p, flush=True); "
         "time.sleep(600)", str(out)], stdout=subprocess.PIPE, text=True)
    left = child.stdout.readline().strip()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert os.path.exists(left)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        in_progress = tmp_path / f".out.npy.gdfast-tmp-{alive.pid}-0123abcd"  # a running writer's
        in_progress.write_bytes(b"in progress")
        others = [tmp_path / n for n in (".out.npy.tmp", "notes.gdfast-tmp-1-0123abcd",
                                         ".x.gdfast-tmp-1-0123abcz")]
        for p in others:
            p.write_bytes(b"not ours")
        future = tmp_path / f".z.gdfast-tmp-{child.pid}-00000000"     # newer than the run
        future.write_bytes(b"newer")
        os.utime(future, (time.time() + 3600,) * 2)
        np.save(tmp_path / "in.npy", noisy)
        code, _, err = _run([tmp_path / "in.npy", "-o", out], capsys)
        assert code == 0, err
        assert not os.path.exists(left)
        assert in_progress.exists() and future.exists() and all(p.exists() for p in others)
    finally:
        alive.kill()
        alive.wait()


def test_temporary_names_are_recognisable(tmp_path):
    name = os.path.basename(temporary_name(tmp_path / "out.png"))
    assert name.startswith(".out.png.gdfast-tmp-") and f"-{os.getpid()}-" in name
