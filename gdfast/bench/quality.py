"""`gdfast bench quality`: how good gdfast.denoise's defaults are, and how soon
they get there, against the exact TV minimiser and the library anchors.

1. lam='auto' on scikit-image's photographs (camera, astronaut, coffee,
   chelsea; gray, whole) at five noise levels, against the oracle: the best
   PSNR exact TV reaches over a grid of weights with the clean image known
   (skimage's denoise_tv_chambolle run to convergence); and on its textures
   (gravel, brick, grass) at low noise, where the finest scale reads the
   texture as noise and the guard must keep the result from falling below
   the noisy image.
2. eps=None (lam / 10, then lam / 100) against the exact TV minimiser at
   the same weight.
3. The frontier on camera tiled to each size: for gdfast.denoise (defaults,
   lam given), skimage's chambolle and split Bregman (weight = 1 / (2 lam):
   its energy is TV + weight * |u - f|^2, ours 1/2 |u - f|^2 + lam TV) and
   pyproximal's TV proximal operator (Beck and Teboulle's fast gradient
   projection) where installed, each with its weight tuned on a grid: the
   time to reach within 0.1 and 0.3 dB of the best PSNR any of them reached.
   An anchor's iterations are found by doubling from 10 until its PSNR stops
   rising, then the fewest iterations reaching each level by bisection;
   gdfast's from its PSNR history. Those runs are then timed round-robin
   (medians). lam='auto' is timed beside one solve at the lam it chose.
   Each method's PSNR against its iterations at its best weight is kept in
   the results (``gdfast demo --quality-json`` draws it against time, at the
   time per iteration measured).
"""
import math
import sys

import numpy as np

from .._denoise import denoise
from ..images import add_noise, camera_image, estimate_sigma, photo, psnr
from .report import environment, fmt_time, machine_state, report_targets
from .timing import pyproximal_available, time_round_robin

PHOTOS = ("camera", "astronaut", "coffee", "chelsea")
SIGMAS = (0.01, 0.02, 0.05, 0.1, 0.2)
TEXTURES = ("gravel", "brick", "grass")
TEXTURE_SIGMAS = (0.005, 0.01, 0.02, 0.05)
ORACLE_WEIGHTS = np.geomspace(0.2, 3.0, 12)          # x sigma: steps of 1.28x
FRONTIER_WEIGHTS = np.geomspace(0.5, 2.0, 5)         # x sigma: steps of sqrt(2)
FRONTIER_SIGMA = 0.1
LEVELS = (0.1, 0.3)                                  # dB below the best PSNR
# gdfast on the frontier: its defaults, and (to show what the first eps
# stage buys) eps = lam / 100 from the first iteration
DEFAULTS = "gdfast.denoise (defaults, lam given)"
GDFAST_VARIANTS = {DEFAULTS: lambda lam: None,
                   "gdfast.denoise (eps = lam/100 only)": lambda lam: lam / 100}


def exact_tv(f, weight, eps=1e-6):
    """The exact TV minimiser at weight (chambolle to relative energy change eps)."""
    from skimage.restoration import denoise_tv_chambolle
    return denoise_tv_chambolle(f, weight=weight, eps=eps, max_num_iter=20000)


def anchors(with_pyproximal):
    """{name: run(f, lam, iterations) -> u}: the library solvers of
    1/2 |u - f|^2 + lam TV(u), each running exactly ``iterations``."""
    from skimage.restoration import denoise_tv_bregman, denoise_tv_chambolle
    runs = {
        "skimage chambolle": lambda f, lam, n: denoise_tv_chambolle(
            f, weight=lam, eps=1e-300, max_num_iter=n),
        "skimage bregman": lambda f, lam, n: denoise_tv_bregman(
            f, weight=1.0 / (2.0 * lam), eps=1e-300, max_num_iter=n),
    }
    if with_pyproximal:
        import pyproximal
        runs["pyproximal TV prox"] = lambda f, lam, n: pyproximal.TV(
            f.shape, sigma=lam, niter=n, rtol=0.0).prox(f.ravel(), 1.0).reshape(f.shape)
    return runs


def run_quality_benchmark(sizes=(512, 2048), photo_side=None, photos=PHOTOS, sigmas=SIGMAS,
                          rounds=5, with_pyproximal=None, frontier_only=False, out=None,
                          textures=TEXTURES, texture_sigmas=TEXTURE_SIGMAS,
                          weights=FRONTIER_WEIGHTS):
    """Measure and print the quality figures (sections 1-3 above; only 3 with
    frontier_only); return a dict. photo_side: the photographs' centre crop
    (None: whole); weights: the frontier's, x FRONTIER_SIGMA."""
    out = sys.stdout if out is None else out
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    with_pyproximal = pyproximal_available() if with_pyproximal is None else with_pyproximal
    results = dict(environment=environment(False))
    say(f"gdfast denoising quality benchmark: {results['environment']['summary']}")
    results["machine"] = machine_state(say)
    if not frontier_only:
        say(f"[1/3] lam='auto' on {len(photos)} photographs x {len(sigmas)} noise levels, "
            f"against the best exact-TV PSNR over {len(ORACLE_WEIGHTS)} weights ...")
        results["auto"] = _auto_table(photos, sigmas, photo_side, say)
        say(f"  textures: {len(textures)} x {len(texture_sigmas)} noise levels (guard: '-' "
            "silent, 'lower' lam lowered, 'as is' left as it is)")
        results["textures"] = _auto_table(textures, texture_sigmas, photo_side, say)
        say("[2/3] eps=None (lam/10, then lam/100) against the exact TV minimiser at the same "
            "weight ...")
        results["eps"] = _eps_table(photos, photo_side, say)
    results["frontier"] = {}
    for i, size in enumerate(sizes):
        say(f"[3/3] frontier {i + 1}/{len(sizes)}: camera tiled to {size}x{size}, sigma "
            f"{FRONTIER_SIGMA}, weights sigma x {', '.join(f'{w:.2f}' for w in weights)}"
            " ...")
        results["frontier"][size] = _frontier(size, rounds, with_pyproximal, say, weights)
    if not with_pyproximal:
        say("  (pyproximal is not installed: pip install pyproximal for its TV prox)")
    _report_targets(results, say)
    return results


def _auto_table(photos, sigmas, side, say):
    say(f"  {'photo':<10} {'sigma':>5} {'est.':>7} {'lam/sigma':>9} {'auto dB':>8} "
        f"{'oracle dB':>9} {'gap':>6} {'noisy dB':>8} {'trials':>6} {'guard':>6}")
    rows = []
    for name in photos:
        clean = photo(name, side)
        for sigma in sigmas:
            f = add_noise(clean, sigma, seed=1)
            res = denoise(f, clean=clean)
            best = max(psnr(clean, exact_tv(f, w * sigma)) for w in ORACLE_WEIGHTS)
            guard = "-" if res.guard is None else "as is" if res.lam == 0 else "lower"
            row = dict(photo=name, sigma=sigma, sigma_estimate=res.sigma, lam=res.lam,
                       psnr=res.psnr, oracle_psnr=best, noisy_psnr=psnr(clean, f),
                       trials=len(res.sure), sigma_low=res.sigma_low, guard=guard)
            rows.append(row)
            say(f"  {name:<10} {sigma:5.3g} {res.sigma / sigma - 1:+7.1%} {res.lam / sigma:9.2f} "
                f"{res.psnr:8.2f} {best:9.2f} {best - res.psnr:6.2f} {row['noisy_psnr']:8.2f} "
                f"{row['trials']:6d} {guard:>6}")
    gaps = [r["oracle_psnr"] - r["psnr"] for r in rows]
    gains = [r["psnr"] - r["noisy_psnr"] for r in rows]
    say(f"  gap to the oracle: mean {np.mean(gaps):.2f} dB, largest {max(gaps):.2f} dB; "
        f"gain over the noisy image: smallest {min(gains):.2f} dB")
    return dict(rows=rows, mean_gap=float(np.mean(gaps)), largest_gap=float(max(gaps)),
                smallest_gain=float(min(gains)))


def _eps_table(photos, side, say):
    rows = []
    for name in photos:
        clean = photo(name, side)
        for sigma in (0.02, 0.1):
            f = add_noise(clean, sigma, seed=1)
            for ratio in (0.5, 1.0, 2.0):
                lam = ratio * sigma
                res = denoise(f, lam, clean=clean)
                exact = psnr(clean, exact_tv(f, lam, eps=1e-8))
                rows.append(dict(photo=name, sigma=sigma, lam=lam, psnr=res.psnr,
                                 exact_psnr=exact, nit=res.nit))
    diffs = [r["psnr"] - r["exact_psnr"] for r in rows]
    nits = [r["nit"] for r in rows]
    worst = rows[int(np.argmax(np.abs(diffs)))]
    say(f"  {len(rows)} cases (lam = sigma x 0.5, 1, 2 at sigma 0.02 and 0.1): PSNR minus the "
        f"exact minimiser's from {min(diffs):+.3f} to {max(diffs):+.3f} dB (largest: "
        f"{worst['photo']}, sigma {worst['sigma']}, lam {worst['lam']:.3g}); "
        f"{min(nits)}-{max(nits)} iterations")
    return dict(rows=rows, largest_difference=float(max(abs(d) for d in diffs)),
                largest_shortfall=float(max(0.0, -min(diffs))))


def _frontier(size, rounds, with_pyproximal, say, weights=FRONTIER_WEIGHTS):
    clean = camera_image(size)
    sigma = FRONTIER_SIGMA
    f = add_noise(clean, sigma, seed=0)
    weights = np.asarray(weights, dtype=float) * sigma
    # every method's (weight, iterations) -> PSNR; gdfast's from one history per weight
    curves = {}
    for name, eps in GDFAST_VARIANTS.items():
        histories = {lam: denoise(f, lam, eps=eps(lam), tol=0.0, clean=clean).psnr_history
                     for lam in weights}
        curves[name] = {(lam, k): p for lam, h in histories.items() for k, p in enumerate(h)}
    runs = anchors(with_pyproximal)
    for name, run in runs.items():
        curves[name] = {}
        for lam in weights:
            n, last = 10, -math.inf
            while n <= 5120:
                p = curves[name][(lam, n)] = psnr(clean, run(f, lam, n))
                if p < last + 0.005:
                    break
                n, last = 2 * n, p
    best = max(max(c.values()) for c in curves.values())
    row = dict(best_psnr=best, methods={})
    say(f"  best PSNR any method reached: {best:.2f} dB")
    for name, curve in curves.items():
        lam, _ = max(curve, key=curve.get)
        at_best = sorted((n, p) for (w, n), p in curve.items() if w == lam and n > 0)
        row["methods"][name] = dict(best_psnr=max(curve.values()), best_weight=lam,
                                    iterations=[n for n, _ in at_best],
                                    psnr=[p for _, p in at_best])
    plans = {}
    for level in LEVELS:
        goal = best - level
        for name, curve in curves.items():
            hits = [(n, lam) for (lam, n), p in curve.items() if p >= goal]
            if not hits:
                continue
            n, lam = min(hits)
            if name in runs:
                n = _fewest_iterations(lambda k, lam=lam, goal=goal, run=runs[name]:
                                       psnr(clean, run(f, lam, k)) >= goal, n // 2, n)
                plans[(name, level)] = (lam, n, lambda lam=lam, n=n, run=runs[name]: run(f, lam, n))
            else:
                eps = GDFAST_VARIANTS[name](lam)
                plans[(name, level)] = (lam, n, lambda lam=lam, n=n, eps=eps: denoise(
                    f, lam, eps=eps, tol=0.0, max_iter=n))
    auto = denoise(f)
    one = lambda: denoise(f, auto.lam)                               # noqa: E731
    cands = {key: (fn, rounds) for key, (_, _, fn) in plans.items()}
    cands["auto"] = (lambda: denoise(f), rounds)
    cands["one solve"] = (one, rounds)
    med = time_round_robin(cands, rounds)
    auto_psnr = psnr(clean, auto.x)
    row.update(auto=dict(lam=auto.lam, psnr=auto_psnr, seconds=med["auto"],
                         one_solve_seconds=med["one solve"],
                         ratio=med["auto"] / med["one solve"]))
    for level in LEVELS:
        say(f"  time to {best - level:.2f} dB (best - {level}):")
        for name in curves:
            m = row["methods"][name]
            if (name, level) not in plans:
                say(f"    {name:<38} never (best {m['best_psnr']:.2f} dB at weight "
                    f"{m['best_weight']:.3f})")
                continue
            lam, n, _ = plans[(name, level)]
            m[f"seconds_{level}"], m[f"weight_{level}"], m[f"iterations_{level}"] = \
                med[(name, level)], lam, n
            m.setdefault("seconds_per_iteration", med[(name, level)] / n)
            say(f"    {name:<38} {fmt_time(med[(name, level)]):>10}  (weight {lam:.3f}, "
                f"{n} iterations; best {m['best_psnr']:.2f} dB at weight {m['best_weight']:.3f})")
        ours = row["methods"][DEFAULTS].get(f"seconds_{level}")
        libs = [row["methods"][a][f"seconds_{level}"] for a in runs
                if f"seconds_{level}" in row["methods"][a]]
        if ours and libs:
            row[f"ratio_{level}"] = min(libs) / ours
            say(f"    -> gdfast {min(libs) / ours:.1f}x sooner than the fastest library")
    say(f"  lam='auto': sigma {estimate_sigma(f):.4f}, lam {auto.lam:.4f}, {auto_psnr:.2f} dB "
        f"in {fmt_time(med['auto'])}; one solve at that lam {fmt_time(med['one solve'])} -> "
        f"{row['auto']['ratio']:.1f}x")
    return row


def _fewest_iterations(reaches, low, high):
    """The smallest n in (low, high] with reaches(n), given reaches(high)."""
    while high - low > 1:
        mid = (low + high) // 2
        if reaches(mid):
            high = mid
        else:
            low = mid
    return high


def _report_targets(results, say):
    lines = []
    if "auto" in results:
        auto = results["auto"]
        lines += [
            (f"lam='auto' vs the oracle: mean gap {auto['mean_gap']:.2f} dB",
             auto["mean_gap"] <= 0.1, "<= 0.1 dB"),
            (f"lam='auto' vs the noisy image: smallest gain {auto['smallest_gain']:.2f} dB",
             auto["smallest_gain"] >= 1.0, ">= 1 dB in every case"),
            (f"lam='auto' on the textures vs the noisy image: smallest gain "
             f"{results['textures']['smallest_gain']:.2f} dB",
             results["textures"]["smallest_gain"] >= -0.5, ">= -0.5 dB in every case"),
            (f"eps=None vs the exact minimiser: largest difference "
             f"{results['eps']['largest_difference']:.3f} dB",
             results["eps"]["largest_difference"] <= 0.1, "<= 0.1 dB either way"),
            (f"eps=None vs the exact minimiser: largest shortfall "
             f"{results['eps']['largest_shortfall']:.3f} dB",
             results["eps"]["largest_shortfall"] <= 0.1, "<= 0.1 dB below"),
        ]
    for size, row in results["frontier"].items():
        if "ratio_0.1" in row:
            lines.append((f"{size}x{size}: time to best - 0.1 dB, fastest library / gdfast: "
                          f"{row['ratio_0.1']:.1f}x", row["ratio_0.1"] >= 20, ">= 20x"))
        lines.append((f"{size}x{size}: lam='auto' / one solve: {row['auto']['ratio']:.1f}x",
                      row["auto"]["ratio"] <= 10, "<= 10x"))
    report_targets(results, lines, say)
