"""The startup benchmark (``gdfast bench startup``): whole processes, as a user runs them.

Each candidate is a fresh Python process, timed from its start to its exit:

- ``gdfast denoise noisy.png -o out.png --lam 0.1 --eps 0.03`` on a 512x512
  8-bit PNG (the default method; lam as the scikit-image script's weight,
  and the eps the figures in docs/benchmarks.md were taken with, before
  eps=None became the default), run as ``python -m gdfast``;
- the same file through scikit-image: a six-line script that reads it with
  Pillow, runs ``denoise_tv_chambolle(weight=0.1)`` and writes the PNG;
- ``gdfast.minimize_batch`` with gdfast.problems' relaxometry objective on
  16x16 pixels (10 Adam iterations), and ``gdfast.minimize(...,
  jac='inplace')`` (the nopython loop) on one of those pixels;
- ``import gdfast`` and ``import numba`` alone.

First run: every gdfast candidate once on an empty cache folder (a
NUMBA_CACHE_DIR of its own), which is what compiling costs on a new machine
or after an upgrade. Second run: the candidates in turn, ``reps`` rounds,
on the cache the first run wrote; medians with their 95% intervals. The
processes run as a user's Python does, writing and reading bytecode (the
suite drops PYTHONDONTWRITEBYTECODE from their environment).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from .report import environment, fmt_time, machine_state, report_targets
from .stats import median_interval
from .timing import skimage_available

SKIMAGE_SCRIPT = """\
import numpy as np
from PIL import Image
from skimage.restoration import denoise_tv_chambolle
f = np.asarray(Image.open({src!r}), dtype=np.float64) / 255.0
u = denoise_tv_chambolle(f, weight=0.1)
Image.fromarray(np.clip(np.rint(u * 255.0), 0, 255).astype(np.uint8)).save({dst!r})
"""

BATCH_SCRIPT = """\
import gdfast
from gdfast import problems
t, Y, P = problems.exp_decay_stack((16, 16), 16)
r = gdfast.minimize_batch(problems.exp_decay_value_and_grad,
                          problems.exp_decay_initial_guess(Y), "adam",
                          batch_args=(Y,), args=(t,), max_iter=10)
assert r.x.shape == (256, 3)
"""

INPLACE_SCRIPT = """\
import gdfast
from gdfast import problems
t, Y, P = problems.exp_decay_stack((16, 16), 16)
x0 = problems.exp_decay_initial_guess(Y)[0]
r = gdfast.minimize(problems.exp_decay_value_and_grad, x0, "adam", jac="inplace",
                    args=(Y[0], t), max_iter=10)
assert r.nopython
"""


FIRST_RUN = ("gdfast denoise", "minimize_batch 16x16", "minimize jac='inplace'")


def _noisy_png(path, size):
    from PIL import Image

    from ..images import add_noise, test_image
    clean, source = test_image(size)
    noisy = np.clip(add_noise(clean, 0.1, seed=0), 0.0, 1.0)
    Image.fromarray(np.rint(noisy * 255.0).astype(np.uint8)).save(path)
    return source


def _timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return seconds


def run_startup_benchmark(size=512, reps=7, python=None, warm_only=False, out=None):
    """Measure and print the startup figures; return them as a dict.

    python: the interpreter of the gdfast and import candidates (default:
    this one), e.g. that of an environment with gdfast's minimal install;
    the scikit-image script always runs with this interpreter.
    warm_only: no first run; the second run uses the compile cache this
    Python already uses (NUMBA_CACHE_DIR when set, else gdfast's own folders),
    the first round filling what it lacks."""
    out = sys.stdout if out is None else out

    def say(text=""):
        print(text, file=out, flush=True)

    env_info = environment(False)
    results = dict(environment=env_info, size=size, reps=reps, warm_only=warm_only)
    work = tempfile.mkdtemp(prefix="gdfast-startup-")
    try:
        src, dst = os.path.join(work, "noisy.png"), os.path.join(work, "out.png")
        source = _noisy_png(src, size)
        # a user's Python: bytecode written and read (PYTHONDONTWRITEBYTECODE
        # would compile every module of an editable install in every process)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NUMBA_") and k != "PYTHONDONTWRITEBYTECODE"}
        if not warm_only:
            env["NUMBA_CACHE_DIR"] = os.path.join(work, "numba-cache")
        elif "NUMBA_CACHE_DIR" in os.environ:
            env["NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
        py = python or sys.executable
        candidates = {
            "gdfast denoise": [py, "-m", "gdfast", "denoise", src, "-o", dst, "--force",
                               "--lam", "0.1", "--eps", "0.03"],
            "minimize_batch 16x16": [py, "-c", BATCH_SCRIPT],
            "minimize jac='inplace'": [py, "-c", INPLACE_SCRIPT],
            "import gdfast": [py, "-c", "import gdfast"],
            "import numba": [py, "-c", "import numba"],
        }
        if skimage_available():
            script = os.path.join(work, "skimage_tv.py")
            with open(script, "w") as fh:
                fh.write(SKIMAGE_SCRIPT.format(src=src, dst=os.path.join(work, "sk.png")))
            candidates["skimage chambolle script"] = [sys.executable, script]
        say(f"startup: whole processes, {size}x{size} 8-bit PNG ({source}, sigma 0.1); "
            f"{env_info['summary']}")
        if python:
            say(f"gdfast and import candidates run with {python}; the scikit-image script "
                f"with {sys.executable}")
        results["machine"] = machine_state(say)
        first = {}
        if warm_only:
            say("first run: left out (--warm-only); the second run on this Python's own cache")
        else:
            say("first run (empty cache folder: compiling included):")
        for name in () if warm_only else FIRST_RUN:
            first[name] = _timed(candidates[name], env)
            say(f"  {name:<28}{fmt_time(first[name]):>10}")
        samples = {name: [] for name in candidates}
        for _ in range(reps):                    # alternating, on the warm cache
            for name, cmd in candidates.items():
                samples[name].append(_timed(cmd, env))
        say(f"second run (cache warm; median of {reps}, 95% interval"
            + ("; its first round may compile what the cache lacks" if warm_only else "") + "):")
        med = {}
        for name, values in samples.items():
            med[name] = float(np.median(values))
            lo, hi = median_interval(values)
            say(f"  {name:<28}{fmt_time(med[name]):>10}   [{fmt_time(lo)}, {fmt_time(hi)}]")
        results.update(python=py, first_run=first, second_run=med,
                       samples={k: list(map(float, v)) for k, v in samples.items()})
        lines = [(f"gdfast denoise second run: {fmt_time(med['gdfast denoise'])}",
                  med["gdfast denoise"] <= 1.0, "<= 1.0 s")]
        if "skimage chambolle script" in med:
            ratio = med["gdfast denoise"] / med["skimage chambolle script"]
            lines.append((f"gdfast denoise / skimage script: {ratio:.2f}x", ratio <= 1.0,
                          "<= 1.0x"))
        lines.append((f"minimize_batch 16x16 second run: "
                      f"{fmt_time(med['minimize_batch 16x16'])}",
                      med["minimize_batch 16x16"] <= 1.0, "<= 1.0 s"))
        ratio = med["import gdfast"] / med["import numba"]
        lines.append((f"import gdfast / import numba: {ratio:.2f}x", ratio <= 1.3, "<= 1.3x"))
        report_targets(results, lines, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results
