"""The denoising benchmark behind ``gdfast bench``: smoothed-TV denoising of a
noisy image, one full iteration (TV gradient + optimizer update) at a time,
against numpy, the pure-Python reference and torch autograd + torch.optim,
beside a STREAM triad; and the time gdfast needs to reach the PSNR of
skimage.restoration.denoise_tv_chambolle.

As in every suite (gdfast.bench.timing): every candidate gets a warm-up call, candidates are
timed round-robin in one process, figures are medians. Effective bandwidth
counts the bytes an iteration must move: the TV gradient alone reads u and f
and writes g (24 bytes per pixel); a fused iteration reads u and f, writes
the new iterate and reads and writes each state array of its rule (plain GD
24 bytes per pixel, heavy ball and Nesterov 40, Adam 56).
"""
import sys
import time

import numba
import numpy as np

from .. import reference
from .._denoise import TVObjective, default_optimizer, denoise, lipschitz_bound
from ..images import add_noise, psnr, test_image
from .report import environment, fmt_time, machine_state, report_targets
from .timing import skimage_available, time_round_robin, torch_available, triad_step

TV_BYTES = 24
TRIAD = "STREAM triad"
TRIAD_N = 16_000_000
ITERATION_BYTES = {"gd": 24, "momentum": 40, "nesterov": 40, "adam": 56}
LAM, EPS, SIGMA = 0.1, 0.03, 0.1


def numpy_tv_energy_grad(u, f, lam, eps):
    """E(u) and dE/du in numpy, as it is usually written (2-D)."""
    dx = np.zeros_like(u)
    dx[:, :-1] = u[:, 1:] - u[:, :-1]
    dy = np.zeros_like(u)
    dy[:-1, :] = u[1:, :] - u[:-1, :]
    phi = np.sqrt(dx ** 2 + dy ** 2 + eps ** 2)
    px, py = dx / phi, dy / phi
    div = px + py
    div[:, 1:] -= px[:, :-1]
    div[1:, :] -= py[:-1, :]
    energy = 0.5 * np.sum((u - f) ** 2) + lam * np.sum(phi)
    return energy, (u - f) - lam * div


class GdfastIteration:
    """One gdfast iteration, as gdfast.denoise runs it: the fused kernel
    (TV gradient + optimizer update in one pass, two image buffers)."""

    def __init__(self, f, method):
        self.u, self.u_next = f.copy(), np.empty_like(f)
        self.objective = TVObjective(f, LAM, EPS, False)
        self.opt = default_optimizer(method, LAM, EPS, f.ndim)
        self.state = self.opt.init(self.u.ravel())

    def __call__(self):
        self.objective.descent_step(self.u, self.u_next, self.opt, self.state)
        self.u, self.u_next = self.u_next, self.u


class GdfastGradient:
    """gdfast's TV energy and gradient alone (kernels.tv), no update."""

    def __init__(self, f):
        self.u, self.g = f.copy(), np.empty_like(f)
        self.objective = TVObjective(f, LAM, EPS, False)

    def __call__(self):
        self.objective(self.u, self.g)


class NumpyIteration:
    """One gradient-descent iteration in numpy (lr = 1/L), the array baseline."""

    def __init__(self, f):
        self.u, self.f = f.copy(), f
        self.lr = 1.0 / lipschitz_bound(LAM, EPS, 2)

    def __call__(self):
        _, g = numpy_tv_energy_grad(self.u, self.f, LAM, EPS)
        self.u -= self.lr * g


def torch_iteration(f, method):
    """One torch autograd + optimizer iteration (SGD for 'gd', else Adam) as a
    closure over its tensors: what a torch user would write."""
    import torch
    u = torch.tensor(f, requires_grad=True)
    ft = torch.tensor(f)
    lr = 1.0 / lipschitz_bound(LAM, EPS, 2)
    opt = (torch.optim.SGD([u], lr=lr) if method == "gd" else torch.optim.Adam([u], lr=0.01))

    def step():
        opt.zero_grad()
        dx = torch.nn.functional.pad(u[:, 1:] - u[:, :-1], (0, 1))
        dy = torch.nn.functional.pad(u[1:, :] - u[:-1, :], (0, 0, 0, 1))
        energy = 0.5 * ((u - ft) ** 2).sum() + LAM * torch.sqrt(dx ** 2 + dy ** 2 + EPS ** 2).sum()
        energy.backward()
        opt.step()
    return step


def run_denoise_benchmark(size=2048, reps=10, reference_iterations=1, with_torch=None,
                          with_skimage=None, out=None):
    """Measure and print the denoising figures; return them as a dict."""
    out = sys.stdout if out is None else out
    with_torch = torch_available() if with_torch is None else with_torch
    with_skimage = skimage_available() if with_skimage is None else with_skimage
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    clean, image_name = test_image(size, "camera" if with_skimage else "synthetic")
    f = add_noise(clean, SIGMA, seed=0)
    px = f.size
    results = dict(environment=environment(with_torch), size=size, image=image_name,
                   lam=LAM, eps=EPS, sigma=SIGMA)
    say(f"gdfast denoising benchmark: {results['environment']['summary']}")
    say(f"image: {image_name}, {size}x{size}, Gaussian noise sigma={SIGMA}; "
        f"E(u) = 1/2|u - f|^2 + {LAM} * sum sqrt(|grad u|^2 + {EPS}^2)")

    results["machine"] = machine_state(say)

    say(f"[1/4] STREAM triad, n={TRIAD_N:,}: timed in the rounds of [2/4], alternating with "
        "the candidates (so a busy machine slows it alike)")
    triad_fn, triad_bytes = triad_step(TRIAD_N)
    cands = {TRIAD: (triad_fn, reps),
             "gdfast TV energy+gradient kernel": (GdfastGradient(f), reps)}
    for method in ITERATION_BYTES:
        cands[f"gdfast iteration, {method}"] = (GdfastIteration(f, method), reps)
    cands["numpy iteration, gd"] = (NumpyIteration(f), max(3, reps // 3))
    if with_torch:
        cands["torch autograd + SGD"] = (torch_iteration(f, "gd"), max(3, reps // 3))
        cands["torch autograd + Adam"] = (torch_iteration(f, "adam"), max(3, reps // 3))
    say(f"[2/4] one iteration, {len(cands)} candidates, round-robin ...")
    med = time_round_robin(cands, reps)
    del cands, triad_fn                 # the triad's 384 MB back before the reference runs
    triad = triad_bytes / med.pop(TRIAD)
    results["triad_GBps"] = triad / 1e9
    say(f"STREAM triad (numba, {numba.get_num_threads()} threads): {triad / 1e9:.1f} GB/s")

    say(f"[3/4] pure-Python reference: {reference_iterations} iteration(s) at {size}x{size} "
        f"(slow on purpose, about 2 us per pixel) ...")
    u_ref, f_ref = f.ravel().tolist(), f.ravel().tolist()
    lr = 1.0 / lipschitz_bound(LAM, EPS, 2)
    t0 = time.perf_counter()
    for _ in range(reference_iterations):
        reference.tv_denoise_iteration(u_ref, f_ref, f.shape, LAM, EPS, lr)
    med["pure-Python reference iteration, gd"] = (time.perf_counter() - t0) / reference_iterations
    results["iteration"] = _report_iterations(med, px, triad, say)

    if with_skimage:
        say("[4/4] time to chambolle's PSNR ...")
        results["time_to_quality"] = _time_to_quality(f, clean, reps, say)
    else:
        say("[4/4] time to chambolle's PSNR: skipped, scikit-image is not installed "
            "(pip install scikit-image)")
    _report_targets(results, say)
    return results


def _report_iterations(med, px, triad, say):
    base = med["gdfast iteration, gd"]
    say("one iteration (TV gradient + update), median; ratio = time / time of gdfast gd iteration")
    say(f"  {'implementation':<38} {'time':>10} {'GB/s':>7} {'ratio':>9}")
    rows = {}
    for name, sec in sorted(med.items(), key=lambda kv: kv[1]):
        method = name.rsplit(" ", 1)[-1]
        nbytes = None
        if name.startswith("gdfast TV energy+gradient"):
            nbytes = TV_BYTES * px
        elif name.startswith("gdfast iteration"):
            nbytes = ITERATION_BYTES[method] * px
        gbps = nbytes / sec / 1e9 if nbytes else None
        rows[name] = dict(seconds=sec, GBps=gbps, ratio=sec / base)
        gb = f"{gbps:7.1f}" if gbps else f"{'-':>7}"
        say(f"  {name:<38} {fmt_time(sec):>10} {gb} {sec / base:8.1f}x")
    roofline = TV_BYTES * px / triad
    grad = rows["gdfast TV energy+gradient kernel"]
    grad["roofline_seconds"] = roofline
    grad["over_roofline"] = grad["seconds"] / roofline
    say(f"  TV gradient roofline (24 bytes/pixel at the triad bandwidth): {fmt_time(roofline)};"
        f" the kernel takes {grad['over_roofline']:.2f}x that")
    return rows


TIME_TO_QUALITY_METHODS = ("momentum", "nesterov")   # denoise's default first


def _time_to_quality(f, clean, reps, say):
    """gdfast.denoise's time to the PSNR of denoise_tv_chambolle (weight = lam),
    beside chambolle's own time, for denoise's default method (Polyak's heavy
    ball) and Nesterov: all timed round-robin, medians."""
    from skimage.restoration import denoise_tv_chambolle
    target = psnr(clean, denoise_tv_chambolle(f, weight=LAM))
    row = dict(chambolle_psnr=target, methods={})
    rounds = max(5, reps // 2)
    cands = {"chambolle": (lambda: denoise_tv_chambolle(f, weight=LAM), rounds)}
    for method in TIME_TO_QUALITY_METHODS:
        run = denoise(f, LAM, EPS, method=method, max_iter=300, tol=0.0, clean=clean)
        hits = np.flatnonzero(run.psnr_history >= target)
        m = row["methods"][method] = dict(best_psnr=float(run.psnr_history.max()))
        if hits.size:
            k = m["iterations"] = int(hits[0])
            m["psnr"] = float(run.psnr_history[k])
            cands[method] = (lambda k=k, method=method:
                             denoise(f, LAM, EPS, method=method, max_iter=k, tol=0.0), rounds)
    med = time_round_robin(cands, rounds)
    row["chambolle_seconds"] = med["chambolle"]
    say(f"  skimage denoise_tv_chambolle(weight={LAM}): {target:.2f} dB in "
        f"{fmt_time(med['chambolle'])}")
    for method, m in row["methods"].items():
        if method not in med:
            say(f"  gdfast.denoise (method={method!r}, eps={EPS}) never reached it in 300 "
                f"iterations (best {m['best_psnr']:.2f} dB)")
            continue
        m.update(seconds=med[method], ratio=med["chambolle"] / med[method])
        say(f"  gdfast.denoise (method={method!r}, eps={EPS}): {m['psnr']:.2f} dB after "
            f"{m['iterations']} iterations in {fmt_time(m['seconds'])} -> {m['ratio']:.1f}x "
            f"sooner (it goes on to {m['best_psnr']:.2f} dB)")
    default = row["methods"][TIME_TO_QUALITY_METHODS[0]]
    if "ratio" in default:
        row["ratio"] = default["ratio"]
    return row


def _report_targets(results, say):
    it = results["iteration"]
    lines = []
    for method in ITERATION_BYTES:
        name = f"gdfast iteration, {method}"
        ratio = it["pure-Python reference iteration, gd"]["seconds"] / it[name]["seconds"]
        lines.append((f"iteration ({method}) vs pure Python: {ratio:.0f}x", ratio >= 500,
                      ">= 500x"))
    r = it["numpy iteration, gd"]["seconds"] / it["gdfast iteration, gd"]["seconds"]
    lines.append((f"iteration (gd) vs numpy: {r:.1f}x", r >= 15, ">= 15x"))
    over = it["gdfast TV energy+gradient kernel"]["over_roofline"]
    text = f"TV gradient / roofline: {over:.2f}x"
    if over < 1:        # faster than memory allows: the triad was slowed, not the kernel fast
        text += " (implausible: below the bound, the triad was measured low)"
    lines.append((text, 1 <= over <= 2, "<= 2x"))
    ttq = results.get("time_to_quality")
    if ttq and "ratio" in ttq:
        lines.append((f"time to chambolle's PSNR (denoise's default method): {ttq['ratio']:.1f}x "
                      "shorter", ttq["ratio"] >= 10, ">= 10x"))
    report_targets(results, lines, say)
