"""Demo figures: what gdfast does, drawn as PNGs (behind ``gdfast demo -o DIR``).

``write_demo(out_dir)`` writes five figures with matplotlib (an optional
dependency: ``pip install "gdfast[plots]"``):

1. ``classic_path.png``: the tutorials' cost f(x) = x**2 + 5x + 10 on
   [-6, 6] and the iterates of plain gradient descent on it (x0 = 5, lr 0.1,
   derivative by central differences) down to the minimum at x = -2.5.
2. ``optimizers.png``: the six rules (gd, momentum, nesterov, adagrad,
   rmsprop, adam, with PLANE_SETTINGS) on one 2-D problem, the classic cost
   in x plus an ill-conditioned 6y^2, from (5, 2) with the exact gradient:
   left, each path over the cost's contour lines; right, f(x_k, y_k) - 3.75
   against the iteration k on a log axis.
3. ``curve_fit.png``: the noisy data of ``gdfast.problems.PolynomialFit``,
   the quadratic fitted by ``gdfast.minimize`` with Adam (the README
   quickstart) and the true 2t^2 - 5t + 3.
4. ``denoise.png``: the synthetic test image clean, with Gaussian noise
   (sigma 0.1) and denoised by ``gdfast.denoise`` with its defaults (lam
   chosen from the data), PSNRs in dB (titles on two lines, so they fit).
5. ``bench.png``: from ``gdfast bench --json`` (or a small benchmark run
   in-process), the speed-up of one gdfast denoising iteration per optimizer
   over the pure-Python reference and over numpy (and torch when measured).
   A footnote says where the figures come from; for the in-process run, its
   size and the 1-minute load average against the cores before it, with
   "busy machine: ratios not trustworthy" above half the cores.
6. ``quality.png``, only from a ``gdfast bench quality --json`` file
   (minutes to measure, so never run here): PSNR against time for gdfast
   and the library anchors at each size, the time being the iterations
   times the time per iteration the suite measured.

Figures are ``matplotlib.figure.Figure`` objects rendered by the Agg canvas:
no pyplot, no global backend state, nothing left open after saving.
"""
import io
import json
import math
import pathlib
import textwrap

import numpy as np

from ..bench.report import BUSY_LOAD_FRACTION, BUSY_WARNING, is_busy, machine_load
from ..problems import CLASSIC_SETTINGS

MATPLOTLIB_HINT = ('gdfast demo needs matplotlib: pip install matplotlib '
                   '(or pip install "gdfast[plots]")')
DPI = 100
FIGURE_NAMES = ("classic_path.png", "optimizers.png", "curve_fit.png", "denoise.png",
                "bench.png")
CURVE_RANGE = (-6.0, 6.0)
MAX_MARKERS = 25           # optimizers.png: markers per path on the cost curve
GAP_FLOOR = 1e-16          # f(x_k) - f_min is clipped here so exact zeros plot on a log axis

# optimizers.png: f(x, y) = x**2 + 5x + 10 + (PLANE_CURVATURE / 2) y**2, curvatures
# 2 and 12, from PLANE_START; each rule until |(x, y) - PLANE_MINIMUM| < PLANE_TOL.
# CLASSIC_SETTINGS but for the adaptive rules, whose steps do not depend on the
# curvature: these reach PLANE_TOL within CLASSIC_BUDGET steps, on paths apart
PLANE_CURVATURE = 12.0
PLANE_START = (5.0, 2.0)
PLANE_MINIMUM = (-2.5, 0.0)
PLANE_TOL = 1e-6
PLANE_SETTINGS = {**CLASSIC_SETTINGS, "adagrad": dict(lr=2.0),
                  "rmsprop": dict(lr=0.02, alpha=0.99), "adam": dict(lr=0.3)}

# bench.png: the in-process run, and when its ratios are not to be trusted
QUICK_ROUNDS = 3
NOTE_WIDTH = 110           # characters per line of bench.png's footnote

# bench.png: the baselines a gdfast iteration is compared with, when the JSON has them
REFERENCE_ROW = "pure-Python reference iteration, gd"
NUMPY_ROW = "numpy iteration, gd"
BASELINES = (
    (REFERENCE_ROW, "pure-Python reference (gd)"),
    (NUMPY_ROW, "numpy (gd)"),
    ("torch autograd + SGD", "torch autograd + SGD"),
    ("torch autograd + Adam", "torch autograd + Adam"),
)
GDFAST_ROW_PREFIX = "gdfast iteration, "


class MatplotlibMissing(ModuleNotFoundError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib():
    """Return matplotlib's ``Figure`` class, or raise MatplotlibMissing (a
    ModuleNotFoundError) with the pip command that installs matplotlib."""
    try:
        # the package first: a cached matplotlib.figure must not hide a missing matplotlib
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MatplotlibMissing(MATPLOTLIB_HINT, name="matplotlib") from err
    return Figure


# ---------------------------------------------------------------- data

def classic_runs():
    """Run every rule of CLASSIC_SETTINGS on the classic cost from x0 = 5.

    Returns {name: (settings, path)}, path the float64 iterates x_0..x_nit
    (gdfast.problems.run_classic: central differences, stop at |x + 2.5| < 1e-6).
    """
    from .._rules import RULES
    from ..problems import CLASSIC_SETTINGS, run_classic
    return {name: (settings, run_classic(RULES[name], **settings)[0])
            for name, settings in CLASSIC_SETTINGS.items()}


def plane_cost(x, y):
    """optimizers.png's cost: x**2 + 5x + 10 + (PLANE_CURVATURE / 2) y**2,
    element-wise; its minimum 3.75 lies at PLANE_MINIMUM."""
    from ..problems import classic_cost
    return classic_cost(x) + 0.5 * PLANE_CURVATURE * y * y


def run_plane(rule, max_iter=None, **settings):
    """Minimise plane_cost from PLANE_START with one rule of gdfast.RULES,
    the exact gradient, until |(x, y) - PLANE_MINIMUM| < PLANE_TOL or
    max_iter steps (CLASSIC_BUDGET). Returns the iterates, float64 (nit + 1, 2)."""
    from ..problems import CLASSIC_BUDGET
    max_iter = CLASSIC_BUDGET if max_iter is None else max_iter
    lr = settings.pop("lr", rule.defaults["lr"])
    hyper = rule.hyper_tuple(**settings)
    x, target = np.array(PLANE_START), np.array(PLANE_MINIMUM)
    g = np.zeros(2)
    state = tuple(np.zeros(2) for _ in rule.state)
    path = [x.copy()]
    while len(path) <= max_iter and np.hypot(*(x - target)) >= PLANE_TOL:
        g[:] = 2.0 * x[0] + 5.0, PLANE_CURVATURE * x[1]
        rule.step(x, g, state, len(path), lr, hyper)
        path.append(x.copy())
    return np.array(path)


def plane_runs():
    """Every rule of PLANE_SETTINGS on plane_cost: {name: (settings, path)}."""
    from .._rules import RULES
    return {name: (settings, run_plane(RULES[name], **settings))
            for name, settings in PLANE_SETTINGS.items()}


def fit_polynomial(problem):
    """The README quickstart: Adam with an inverse-time-decay lr on the
    PolynomialFit problem; returns gdfast.minimize's result."""
    from .. import schedules
    from .._minimize import minimize
    from ..optimizers import Adam
    return minimize(problem.value_and_grad, problem.x0,
                    Adam(lr=schedules.inverse_time_decay(0.5, 1000)),
                    max_iter=50_000, gtol=1e-9)


def denoise_images(size, sigma=0.1):
    """(clean, noisy, result): the synthetic image of side ``size``, with
    Gaussian noise (seed 0), and gdfast.denoise's result with its defaults
    (lam='auto'; with psnr)."""
    from .._denoise import denoise
    from ..images import add_noise, synthetic_image
    clean = synthetic_image(size)
    noisy = add_noise(clean, sigma, seed=0)
    return clean, noisy, denoise(noisy, clean=clean)


def run_small_benchmark(size=512):
    """gdfast bench's denoising figures at ``size`` x ``size``, quietly, in
    this process (no torch, no scikit-image, QUICK_ROUNDS rounds); returns its dict."""
    from ..bench.denoise import run_denoise_benchmark
    return run_denoise_benchmark(size=size, reps=QUICK_ROUNDS, with_torch=False,
                                 with_skimage=False, out=io.StringIO())


def quick_run_note(size, load, cores):
    """bench.png's footnote for the in-process run: its size, the machine's
    load before it (and BUSY_WARNING when busy), where the documented figures come from."""
    state = ("load average unknown" if load is None else
             f"1-minute load average {load:.2f} on {cores} cores before the run")
    warning = ([f"{BUSY_WARNING} (load above {BUSY_LOAD_FRACTION:g} x cores; rerun on an "
                "idle machine)"] if is_busy(load, cores) else [])
    return _wrap(f"Quick in-process run: {size}x{size}, {QUICK_ROUNDS} rounds; {state}.",
                 *warning,
                 "The documented figures come from `gdfast bench` (2048x2048, 10 rounds; "
                 "docs/benchmarks.md).",
                 "To chart such a run: gdfast bench --json F && gdfast demo --bench-json F")


def _wrap(*paragraphs):
    """The paragraphs filled to NOTE_WIDTH characters a line, one after another."""
    return "\n".join(textwrap.fill(p, NOTE_WIDTH, break_long_words=False, break_on_hyphens=False)
                     for p in paragraphs)


def load_bench_json(path):
    """Read the JSON written by ``gdfast bench --json PATH`` (the denoise suite).

    Raises FileNotFoundError if it is missing and ValueError if it is not JSON
    or lacks the one-iteration table (the "iteration" rows of gdfast, numpy
    and the pure-Python reference, each with "seconds"); both name the file.
    """
    path = pathlib.Path(path)
    how = f"write one with: gdfast bench --json {path}"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"bench JSON {path} not found ({how})") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not JSON ({err}); {how}") from None
    try:
        results = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not JSON ({err}); {how}") from None
    problem = _bench_problem(results)
    if problem:
        raise ValueError(f"{path} is not a gdfast bench denoise JSON: {problem}; {how}")
    return results


def load_quality_json(path):
    """Read the JSON written by ``gdfast bench quality --json PATH``.

    Raises FileNotFoundError if it is missing and ValueError if it is not
    JSON or has no frontier with curves; both name the file."""
    path = pathlib.Path(path)
    how = f"write one with: gdfast bench quality --json {path}"
    try:
        results = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"quality JSON {path} not found ({how})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not JSON ({err}); {how}") from None
    frontier = results.get("frontier") if isinstance(results, dict) else None
    if not isinstance(frontier, dict) or not frontier or not all(
            isinstance(row, dict) and isinstance(row.get("methods"), dict)
            and any("seconds_per_iteration" in m and "psnr" in m
                    for m in row["methods"].values())
            for row in frontier.values()):
        raise ValueError(f"{path} is not a gdfast bench quality JSON (no frontier curves); {how}")
    return results


def plot_quality(fig, results):
    """PSNR against time per method, one panel per size of the frontier."""
    sizes = list(results["frontier"])
    axes = fig.subplots(1, len(sizes), squeeze=False)[0]
    for ax, size in zip(axes, sizes):
        row = results["frontier"][size]
        for name, m in row["methods"].items():
            if "seconds_per_iteration" not in m:
                continue
            seconds = np.array(m["iterations"]) * m["seconds_per_iteration"]
            ax.plot(seconds, m["psnr"], marker="." if len(seconds) < 40 else None,
                    label=f"{name} (weight {m['best_weight']:.3g})")
        auto = row.get("auto")
        if auto:
            ax.plot([auto["seconds"]], [auto["psnr"]], "k*", markersize=10,
                    label=f"gdfast.denoise(f), lam='auto' chosen {auto['lam']:.3g}")
        for level in (0.1, 0.3):
            ax.axhline(row["best_psnr"] - level, color="gray", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_ylim(row["best_psnr"] - 3.0, row["best_psnr"] + 0.3)
        ax.set_xlabel("time (s): iterations x measured time per iteration")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(f"camera tiled to {size}x{size}, sigma 0.1; dashed: best - 0.1, - 0.3 dB")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("TV denoising: PSNR against time, each method at its best weight "
                 "(gdfast bench quality)")


def _bench_problem(results):
    """What keeps ``results`` from being plotted as bench.png, or None."""
    if not isinstance(results, dict) or not isinstance(results.get("iteration"), dict):
        return 'no "iteration" table'
    rows = results["iteration"]
    gdfast_rows = [n for n in rows if n.startswith(GDFAST_ROW_PREFIX)]
    if not gdfast_rows:
        return f'no "{GDFAST_ROW_PREFIX}<method>" row in "iteration"'
    needed = [REFERENCE_ROW, NUMPY_ROW] + [k for k, _ in BASELINES[2:] if k in rows] + gdfast_rows
    for name in needed:
        sec = rows.get(name, {}).get("seconds") if isinstance(rows.get(name), dict) else None
        if not isinstance(sec, (int, float)) or not sec > 0 or not math.isfinite(sec):
            return f'"iteration" has no positive "seconds" for {name!r}'
    return None


def bench_speedups(results):
    """{baseline label: {gdfast method: baseline seconds / gdfast seconds}}
    for every baseline of BASELINES in results["iteration"], the gdfast
    methods in gdfast bench's order (gd, momentum, nesterov, adam, others)."""
    from ..bench.denoise import ITERATION_BYTES
    rows = results["iteration"]
    order = list(ITERATION_BYTES)
    methods = sorted((n[len(GDFAST_ROW_PREFIX):] for n in rows if n.startswith(GDFAST_ROW_PREFIX)),
                     key=lambda m: (order.index(m) if m in order else len(order), m))
    return {label: {m: rows[key]["seconds"] / rows[GDFAST_ROW_PREFIX + m]["seconds"]
                    for m in methods}
            for key, label in BASELINES if key in rows}


# ---------------------------------------------------------------- drawing

def _settings_text(settings):
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def _poly_text(coef, var="t", digits=2):
    """Coefficients lowest first as 'a t^2 - b t + c' (highest power first)."""
    terms = []
    for power in range(len(coef) - 1, -1, -1):
        c = float(coef[power])
        mag = f"{abs(c):.{digits}f}" + ("" if power == 0 else var if power == 1
                                         else f"{var}^{power}")
        sign = ("-" if c < 0 else "") if not terms else (" - " if c < 0 else " + ")
        terms.append(sign + mag)
    return "".join(terms)


def _draw_cost_curve(ax):
    """The classic cost on CURVE_RANGE, its minimum starred, labelled axes."""
    from ..problems import CLASSIC_MINIMUM, classic_cost
    x = np.linspace(*CURVE_RANGE, 400)
    ax.plot(x, classic_cost(x), color="0.6", lw=2, label="f(x) = x² + 5x + 10", zorder=1)
    ax.plot([CLASSIC_MINIMUM], [classic_cost(CLASSIC_MINIMUM)], "*", color="gold", ms=16,
            mec="k", zorder=4,
            label=f"minimum ({CLASSIC_MINIMUM}, {classic_cost(CLASSIC_MINIMUM)})")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.grid(alpha=0.3)


def plot_classic_path(fig, path, settings):
    """Plain gradient descent's iterates (x_k, f(x_k)) on the cost curve."""
    from ..problems import CLASSIC_X0, classic_cost
    ax = fig.add_subplot()
    _draw_cost_curve(ax)
    ax.plot(path, classic_cost(path), "o-", color="tab:blue", ms=5, lw=1, zorder=3,
            label=f"gradient descent iterates x_k ({len(path) - 1} steps)")
    ax.annotate(f"x0 = {CLASSIC_X0:g}", (path[0], classic_cost(path[0])), xytext=(10, -5),
                textcoords="offset points", ha="left")
    ax.set_title("Gradient descent on f(x) = x² + 5x + 10\n"
                 f"x0 = {CLASSIC_X0:g}, {_settings_text(settings)}, f'(x) by central "
                 f"differences, until |x + 2.5| < 1e-6")
    ax.legend(loc="upper center")


def _draw_plane(ax, runs):
    """plane_cost's contour lines over the box the paths span, its minimum starred."""
    points = np.vstack([path for _, path in runs.values()] + [PLANE_MINIMUM])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.08 * (hi - lo)
    x, y = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 300),
                       np.linspace(lo[1] - pad[1], hi[1] + pad[1], 300))
    f_min = float(plane_cost(*PLANE_MINIMUM))
    levels = f_min + np.geomspace(0.05, float(plane_cost(x, y).max()) - f_min, 12)
    contours = ax.contour(x, y, plane_cost(x, y), levels=levels, colors="0.75",
                          linewidths=0.8, zorder=1)
    ax.clabel(contours, fmt="%.3g", fontsize="x-small")
    ax.plot(*PLANE_MINIMUM, "*", color="gold", ms=16, mec="k", zorder=5,
            label=f"minimum {PLANE_MINIMUM}, f = {f_min:g}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _plane_title():
    return f"f(x, y) = x² + 5x + 10 + {PLANE_CURVATURE / 2:g}y²"


def plot_optimizers(fig, runs):
    """Each rule's path over plane_cost's contours (left) and f - f_min
    against k on a log axis (right); runs as returned by plane_runs()."""
    f_min = float(plane_cost(*PLANE_MINIMUM))
    left, right = fig.subplots(1, 2)
    _draw_plane(left, runs)
    markers = "osD^vP"
    for (name, (settings, path)), marker in zip(runs.items(), markers):
        label = f"{name} ({_settings_text(settings)}): {len(path) - 1} steps"
        line, = left.plot(path[:, 0], path[:, 1], marker + "-", ms=5, lw=1.2, alpha=0.85,
                          mfc="none", markevery=math.ceil(len(path) / MAX_MARKERS),
                          label=label, zorder=3)
        gap = np.maximum(plane_cost(path[:, 0], path[:, 1]) - f_min, GAP_FLOOR)
        right.semilogy(np.arange(len(path)), gap, "-", color=line.get_color(), label=label)
    left.annotate(f"start {PLANE_START}", PLANE_START, xytext=(-8, 8),
                  textcoords="offset points", ha="right")
    left.set_title(f"paths (x_k, y_k) over the contour lines of f "
                   f"(at most {MAX_MARKERS} markers each)")
    left.legend(fontsize="small", loc="lower right")
    right.set_title(f"f(x_k, y_k) - {f_min:g} (clipped at {GAP_FLOOR:g})")
    right.set_xlabel("iteration k")
    right.set_ylabel(f"f(x_k, y_k) - {f_min:g}")
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize="small")
    fig.suptitle(f"Every optimizer on {_plane_title()} from {PLANE_START}: the classic cost "
                 f"in x, curvature 2 against {PLANE_CURVATURE:g} in y\nexact gradient, each "
                 f"run until |(x, y) - {PLANE_MINIMUM}| < {PLANE_TOL:g} (settings: "
                 "gdfast.cli.demo.PLANE_SETTINGS)")


def plot_curve_fit(fig, problem, result):
    """PolynomialFit's data, the polynomial gdfast.minimize fitted and the truth."""
    ax = fig.add_subplot()
    t = np.linspace(problem.t.min(), problem.t.max(), 400)
    ax.plot(problem.t, problem.y, "o", ms=4, color="0.5",
            label=f"data ({problem.t.size} noisy points)")
    ax.plot(t, np.polynomial.polynomial.polyval(t, result.x), color="tab:red", lw=2,
            label=f"fitted: {_poly_text(result.x)}")
    ax.plot(t, 2 * t ** 2 - 5 * t + 3, "--", color="k", lw=1, label="true: 2t^2 - 5t + 3")
    ax.set_xlabel("t")
    ax.set_ylabel("y")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"Curve fit by gdfast.minimize with Adam (inverse-time-decay lr): "
                 f"y = {_poly_text(result.x)}\nmean squared error {result.fun:.2f}, "
                 f"stopped by {result.status} after {result.nit} iterations")


def plot_denoise(fig, clean, noisy, result, sigma=0.1):
    """Clean, noisy and denoised images side by side, PSNRs in the titles."""
    from ..images import psnr
    axes = fig.subplots(1, 3)
    h, w = clean.shape
    # two lines each: on one, the denoised image's title is wider than its panel
    titles = (f"clean\n(synthetic, {h}x{w})",
              f"noisy (sigma {sigma:g})\nPSNR {psnr(clean, noisy):.1f} dB",
              f"denoised (lam {result.lam:.3g} chosen, {result.nit} iterations)\n"
              f"PSNR {result.psnr:.1f} dB")
    for ax, image, title in zip(axes, (clean, noisy, result.x), titles):
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(title)
        ax.set_axis_off()
    fig.suptitle("Total-variation denoising with gdfast.denoise")


def plot_bench(fig, results, note="", warn=False):
    """Grouped bars (log axis): speed-up of one gdfast denoising iteration per
    optimizer over each baseline in results (gdfast bench's JSON dict);
    ``note``, where the figures come from, as a footnote (red when ``warn``)."""
    speedups = bench_speedups(results)
    methods = list(next(iter(speedups.values())))
    ax = fig.add_subplot()
    width = 0.8 / len(speedups)
    x = np.arange(len(methods))
    values = []
    for i, (label, by_method) in enumerate(speedups.items()):
        v = [by_method[m] for m in methods]
        values += v
        bars = ax.bar(x + (i - (len(speedups) - 1) / 2) * width, v, width,
                      label=f"over {label}")
        ax.bar_label(bars, labels=[f"{s:.0f}x" if s >= 10 else f"{s:.1f}x" for s in v],
                     fontsize="small", padding=2)
    ax.set_yscale("log")
    ax.set_ylim(min(0.5, min(values) / 2), max(values) * 4)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, methods)
    ax.set_xlabel("gdfast iteration (TV gradient + update, one fused pass), by optimizer")
    ax.set_ylabel("speed-up: baseline time / gdfast time")
    ax.grid(axis="y", alpha=0.3, which="both")
    ax.legend()
    size = results.get("size", "?")
    env = results.get("environment", {}).get("summary", "")
    ax.set_title(f"One smoothed-TV denoising iteration, {size}x{size} image: gdfast's speed-up"
                 + (f"\n{env}" if env else ""))
    if note:
        fig.supxlabel(note, fontsize="small", color="tab:red" if warn else "0.3",
                      fontweight="bold" if warn else "normal")


def bench_for_figure(bench_json, results, bench_size, out_dir, say):
    """bench.png's data: (results, footnote, busy, source), running the
    in-process benchmark (saved as out_dir/bench.json) when results is None,
    the machine's load read just before it."""
    from ..bench.report import write_json
    if results is not None:
        size = results.get("size", "?")
        return (results, _wrap(f"From {bench_json}: a `gdfast bench --json` run at "
                               f"{size}x{size} (its machine's load is not recorded)."),
                False, f"from {bench_json}")
    say(f"running a {bench_size}x{bench_size} denoising benchmark for bench.png "
        "(about 15 s; pass --bench-json to chart a `gdfast bench --json` file instead) ...")
    load, cores = machine_load()
    results = run_small_benchmark(bench_size)
    json_path = out_dir / "bench.json"
    write_json(results, json_path)
    busy = is_busy(load, cores)
    source = f"benchmark run in-process at {bench_size}x{bench_size}, saved as {json_path}"
    if busy:
        source += f"; {BUSY_WARNING} (load {load:.2f} on {cores} cores)"
    return results, quick_run_note(bench_size, load, cores), busy, source


# ---------------------------------------------------------------- all of it

def write_demo(out_dir, bench_json=None, size=256, say=print, bench_size=512,
               quality_json=None):
    """Write the five demo PNGs into ``out_dir`` (created with its parents),
    and quality.png with ``quality_json``, and return their paths, in the
    order of this module's docstring.

    bench_json  path of a ``gdfast bench --json`` file for bench.png; None
                runs a small benchmark in-process (``bench_size`` x
                ``bench_size``, about 15-20 s at 512, most of it numba
                compiling the fused iterations) and saves it as
                ``out_dir/bench.json``.
    size        side of the image in denoise.png.
    quality_json  path of a ``gdfast bench quality --json`` file for
                quality.png; None: no quality.png.
    say         called with one line per file written (and one before the
                in-process benchmark).

    Raises MatplotlibMissing if matplotlib is not installed, and, before
    anything is drawn, FileNotFoundError / ValueError for a missing or
    unusable bench_json.
    """
    Figure = require_matplotlib()
    from ..problems import PolynomialFit
    results = None if bench_json is None else load_bench_json(bench_json)
    quality = None if quality_json is None else load_quality_json(quality_json)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name, figsize, draw, what, layout="constrained"):
        fig = Figure(figsize=figsize, dpi=DPI, layout=layout)
        draw(fig)
        path = out_dir / name
        fig.savefig(path, dpi=DPI)
        fig.clear()
        written.append(path)
        say(f"wrote {path}: {what}")

    runs = classic_runs()
    gd_settings, gd_path = runs["gd"]
    save(FIGURE_NAMES[0], (8, 6), lambda fig: plot_classic_path(fig, gd_path, gd_settings),
         f"plain gradient descent on x**2 + 5x + 10 from x0 = 5, {len(gd_path) - 1} steps")
    plane = plane_runs()
    save(FIGURE_NAMES[1], (15, 6.5), lambda fig: plot_optimizers(fig, plane),
         f"{len(plane)} optimizers on {_plane_title()} from {PLANE_START}, paths over "
         "its contours and f - f_min per iteration")

    problem = PolynomialFit()
    fit = fit_polynomial(problem)
    save(FIGURE_NAMES[2], (9, 6), lambda fig: plot_curve_fit(fig, problem, fit),
         f"quadratic fitted by gdfast.minimize + Adam: y = {_poly_text(fit.x)}")

    clean, noisy, denoised = denoise_images(size)
    save(FIGURE_NAMES[3], (15, 6), lambda fig: plot_denoise(fig, clean, noisy, denoised),
         f"clean / noisy / denoised {size}x{size} image, PSNR {denoised.psnr:.1f} dB",
         layout="compressed")    # images of fixed aspect: room for their titles

    results, note, busy, source = bench_for_figure(bench_json, results, bench_size, out_dir, say)
    save(FIGURE_NAMES[4], (10, 7), lambda fig: plot_bench(fig, results, note, busy),
         f"speed-up of one gdfast denoising iteration per optimizer ({source})")
    if quality is not None:
        save("quality.png", (7 * len(quality["frontier"]), 6),
             lambda fig: plot_quality(fig, quality),
             f"PSNR against time, gdfast and the TV anchors (from {quality_json})")
    return written
