"""`gdfast bench memory`: the peak memory of a long Adam run.

Each scenario runs in a fresh interpreter (``python -m gdfast.bench.memory
SCENARIO N``): it imports gdfast, compiles the kernels on a small problem,
allocates the problem's own data (the start x0 for minimize), then reads
the resident set size (VmRSS, the baseline), resets the peak (writing 5 to
/proc/self/clear_refs) and runs 20 Adam steps on N parameters. The figure is
(peak VmHWM - baseline) against the bytes a run cannot do without: the
parameters, the gradient and Adam's two state arrays, 4 * 8 * N. Linux only.

Scenarios:
  step             a user's loop: x, g = empty(N); opt.step(x, g, state)
  minimize-raise   gdfast.minimize(jac='inplace', on_nonfinite='raise'):
                   the copy of x0, the gradient and the state, nothing else
  minimize-stop    the default on_nonfinite='stop': also a copy of the
                   previous iterate, to return the last finite one
  cli-denoise      `gdfast denoise in.npy -o out.npy` (20 heavy-ball
                   iterations, in the same interpreter through
                   gdfast.cli.main) on a float64 image of about N pixels
                   (gdfast.images' synthetic image with noise 0.1: what
                   the command is for, and lam='auto' chooses in a few
                   solves; on uniform noise it took minutes),
                   reading and writing included; measured against one
                   image buffer (8 * pixels): the run itself holds four (the
                   input f, two iterates, the momentum), and reading and
                   writing may add at most one more; --lam 0.1
  cli-denoise-auto the same with lam chosen (the default lam='auto'): one
                   buffer more, the perturbed f of the risk estimate
"""
import json
import math
import subprocess
import sys

import numpy as np
from numba import njit

from ..kernels.function_refs import cached_objective

SCENARIOS = ("step", "minimize-raise", "minimize-stop", "cli-denoise", "cli-denoise-auto")
STEPS = 20
TARGET = 1.1
# image buffers above the baseline for `gdfast denoise`: the run's four (f,
# two iterates, the momentum), a second momentum on the tiled path (2-D
# images of 1024^2 and more, as here), at most one for reading and writing;
# with lam chosen, the perturbed f besides
CLI_TARGET = 6.0
CLI_AUTO_TARGET = 7.0
# and, on the tiled path, the tiles' own buffers, whatever the image's size:
# per thread a tile with its halo ((512 + 66)^2 pixels) of the iterate, its
# scratch, f and the momentum (10 MiB), allowed three times over for what
# the allocator keeps of the tiles freed before
TILE_MIB = 64


@cached_objective          # minimize's loop for it is loaded from disk, not compiled per process
@njit(cache=True, nogil=True)
def _shifted_quadratic(x, g):
    """f = 1/2 |x - 1|^2, gradient written into g (no allocation)."""
    f = 0.0
    for i in range(x.size):
        d = x[i] - 1.0
        g[i] = d
        f += d * d
    return 0.5 * f


def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak():
    """Give the freed heap back (so the baseline holds no memory the run will
    reuse: glibc keeps freed blocks below its mmap threshold, up to 32 MiB
    each), then reset VmHWM to VmRSS."""
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):     # not glibc: nothing kept to speak of
        pass
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _run_cli(n, auto):
    """The cli-denoise scenarios: peak memory of gdfast denoise on a .npy file,
    with lam chosen (auto) or given."""
    import contextlib
    import io
    import tempfile

    from gdfast._denoise import BLOCK_MIN_PIXELS
    from gdfast.cli import main
    from gdfast.images import add_noise, synthetic_image
    side = math.isqrt(n)
    options = ["--max-iter", str(STEPS), "--tol", "0"] + ([] if auto else ["--lam", "0.1"])
    with tempfile.TemporaryDirectory() as folder:
        def job(size, name):
            src, dst = f"{folder}/{name}.npy", f"{folder}/{name}_tv.npy"
            np.save(src, add_noise(synthetic_image(size), 0.1, seed=0))
            code = main(["denoise", src, "-o", dst, *options])
            if code != 0:
                raise RuntimeError(f"gdfast denoise exited with {code}")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            # compile / load every kernel used: the fused ones and (from
            # BLOCK_MIN_PIXELS on) the tiled ones, outside the measured peak
            job(math.isqrt(BLOCK_MIN_PIXELS - 1) + 1, "small")
            src = f"{folder}/big.npy"
            np.save(src, add_noise(synthetic_image(side), 0.1, seed=1))
            _reset_peak()
            baseline = _status("VmRSS")
            code = main(["denoise", src, "-o", f"{folder}/big_tv.npy", *options])
            peak = _status("VmHWM")
        if code != 0:
            raise RuntimeError(f"gdfast denoise exited with {code}")
    image = 8 * side * side
    return dict(scenario="cli-denoise-auto" if auto else "cli-denoise", n=side * side,
                baseline_bytes=baseline, peak_bytes=peak, needed_bytes=image,
                ratio=(peak - baseline) / image)


def _run(scenario, n):
    if scenario.startswith("cli-denoise"):
        return _run_cli(n, auto=scenario == "cli-denoise-auto")
    import gdfast
    from gdfast import kernels
    # numba's threads started before minimize's cached loop is loaded: that
    # loop inlines Adam's parallel kernel, and loaded into a process whose
    # threading layer has not started it calls a null pointer (a segfault;
    # a gdfast cache bug, reported with issue 29). A no-op outside the peak.
    kernels.triad_parallel(np.zeros(4), np.ones(4), np.ones(4), 1.0)
    opt = gdfast.Adam(lr=1e-3)
    if scenario == "step":
        def job(size):
            x, g = np.zeros(size), np.empty(size)
            state = opt.init(x)
            for _ in range(STEPS):
                _shifted_quadratic(x, g)
                opt.step(x, g, state)
        job(300_000)                             # compile / load every kernel used
    else:
        mode = scenario.split("-")[1]
        x0 = np.zeros(n)

        def job(size):
            gdfast.minimize(_shifted_quadratic, x0[:size], opt, jac="inplace", max_iter=STEPS,
                            gtol=0.0, on_nonfinite=mode)
        job(300_000)
    _reset_peak()
    baseline = _status("VmRSS")
    job(n)
    peak = _status("VmHWM")
    return dict(scenario=scenario, n=n, baseline_bytes=baseline, peak_bytes=peak,
                needed_bytes=4 * 8 * n, ratio=(peak - baseline) / (4 * 8 * n))


def run_memory_benchmark(n=16_000_000, out=None):
    """Run every scenario in its own interpreter; print and return the figures."""
    out = sys.stdout if out is None else out
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    say(f"gdfast memory benchmark: Adam on n={n:,} parameters, {STEPS} steps; peak RSS above "
        "the baseline (interpreter, gdfast, compiled kernels and the problem's own data) / "
        f"(parameters + gradient + Adam state = 4 x 8 x n = {4 * 8 * n / 2**20:.0f} MiB)")
    rows = {}
    for scenario in SCENARIOS:
        if scenario == "cli-denoise":
            say(f"  cli-denoise: `gdfast denoise in.npy -o out.npy --lam 0.1`, float64 "
                f"{math.isqrt(n)}x{math.isqrt(n)}, {STEPS} iterations; peak above the baseline "
                "(no image read yet) in image buffers (8 x pixels); cli-denoise-auto: the "
                "same with lam chosen (no --lam)")
        proc = subprocess.run([sys.executable, "-m", "gdfast.bench.memory", scenario, str(n)],
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"memory scenario {scenario} failed:\n{proc.stderr}")
        row = rows[scenario] = json.loads(proc.stdout.strip().splitlines()[-1])
        say(f"  {scenario:<16} baseline {row['baseline_bytes'] / 2**20:8.0f} MiB   peak "
            f"{row['peak_bytes'] / 2**20:8.0f} MiB   above baseline "
            f"{(row['peak_bytes'] - row['baseline_bytes']) / 2**20:6.0f} MiB = {row['ratio']:.2f}x")
    say("targets:")
    targets = []

    def target(text, ok, goal, why=""):
        say(f"  {text}  (target {goal}{why}: {'met' if ok else 'NOT met'})")
        targets.append(dict(text=text, target=goal, met=bool(ok)))
    for scenario in ("step", "minimize-raise"):
        r = rows[scenario]["ratio"]
        target(f"{scenario}: peak above baseline / (x + g + state) = {r:.2f}x", r <= TARGET,
               f"<= {TARGET}x")
    r = rows["minimize-stop"]["ratio"]
    say(f"  minimize-stop (the default, keeps the last finite iterate): {r:.2f}x  (reported; "
        f"expected about 1.25x: one more copy of x)")
    tiles = TILE_MIB * 2**20 / (8 * math.isqrt(n) ** 2)           # in image buffers
    r = rows["cli-denoise"]["ratio"]
    target(f"cli-denoise: peak above baseline = {r:.2f} image buffers", r <= CLI_TARGET + tiles,
           f"<= {CLI_TARGET:g} + {TILE_MIB} MiB = {CLI_TARGET + tiles:.2f}",
           ": the run's 4, the tiled path's second momentum and tiles, at most 1 for reading "
           "and writing")
    r = rows["cli-denoise-auto"]["ratio"]
    target(f"cli-denoise-auto: peak above baseline = {r:.2f} image buffers",
           r <= CLI_AUTO_TARGET + tiles,
           f"<= {CLI_AUTO_TARGET:g} + {TILE_MIB} MiB = {CLI_AUTO_TARGET + tiles:.2f}",
           ": and the perturbed f while lam is chosen")
    # memory, unlike time, does not depend on the machine's load: no busy flag
    return dict(n=n, steps=STEPS, scenarios=rows, targets=targets,
                targets_met=sum(t["met"] for t in targets), tile_buffers=tiles)


if __name__ == "__main__":
    print(json.dumps(_run(sys.argv[1], int(sys.argv[2]))))
