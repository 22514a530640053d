"""``gdfast bench fit``: the batch relaxometry fit, y = a exp(-b t) + c per pixel.

Solvers side by side on one synthetic stack (gdfast.problems.exp_decay_stack,
16 time points): gdfast.least_squares_batch (Levenberg–Marquardt, with the
residuals and the Jacobian in one function, ``jac=True``, and as two
functions, scipy's interface), gdfast.minimize_batch with its default (L-BFGS) and with Adam as
docs/batches.md runs it (issue 30's "today"), and scipy.optimize.least_squares
and lmfit (if installed: the `bench` extra has it) in Python loops over a
subset of the pixels (their time per pixel quoted). Each compiled solver is
run once on a few pixels first (its compile time reported apart); then
rounds alternate the solvers and the median per-pixel time is quoted. A
pixel counts as fitted when its cost is within 1e-8 (relative) of the lowest
any solver reached on it.
"""
import importlib.util
import math
import statistics
import time
from collections.abc import Callable

import numpy as np

from .. import Adam, least_squares_batch, minimize_batch, schedules
from ..problems import (
    exp_decay_initial_guess,
    exp_decay_jacobian,
    exp_decay_residuals,
    exp_decay_residuals_and_jacobian,
    exp_decay_stack,
    exp_decay_value_and_grad,
)
from .report import machine_state

SOLVED_RTOL = 1e-8
TARGET_LM_OVER_ADAM = 10.0       # issue 30: LM >= 10x minimize_batch(Adam)
TARGET_LM_OVER_SCIPY = 100.0     # and >= 100x a Python loop over least_squares


def _costs_from_x(X, Y, t):
    r = np.empty(t.size)
    out = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        exp_decay_residuals(X[i], r, Y[i], t)
        out[i] = 0.5 * float(r @ r)
    return out


def _lm(X0, Y, t):
    res = least_squares_batch(exp_decay_residuals_and_jacobian, X0, jac=True,
                              n_residuals=t.size, batch_args=(Y,), args=(t,))
    return res.x, res.nit


def _lm_apart(X0, Y, t):
    res = least_squares_batch(exp_decay_residuals, X0, exp_decay_jacobian, n_residuals=t.size,
                              batch_args=(Y,), args=(t,))
    return res.x, res.nit


def _lbfgs(X0, Y, t):
    res = minimize_batch(exp_decay_value_and_grad, X0, batch_args=(Y,), args=(t,))
    return res.x, res.nit


def _adam(X0, Y, t):
    res = minimize_batch(exp_decay_value_and_grad, X0,
                         Adam(lr=schedules.inverse_time_decay(0.05, 200)), batch_args=(Y,),
                         args=(t,), max_iter=3000, gtol=1e-10)
    return res.x, res.nit


def _scipy_loop(X0, Y, t):
    import scipy.optimize
    r = np.empty(t.size)
    J = np.empty((t.size, 3))
    X = np.empty_like(X0)
    nit = np.empty(X0.shape[0], dtype=np.int64)
    for i in range(X0.shape[0]):
        def fun(p, y=Y[i]):
            exp_decay_residuals(p, r, y, t)
            return r.copy()

        def jac(p, y=Y[i]):
            exp_decay_jacobian(p, J, y, t)
            return J.copy()
        sol = scipy.optimize.least_squares(fun, X0[i], jac=jac, method="lm")
        X[i], nit[i] = sol.x, sol.nfev
    return X, nit


def _lmfit_loop(X0, Y, t):
    import lmfit
    r = np.empty(t.size)
    J = np.empty((t.size, 3))
    X = np.empty_like(X0)
    nit = np.empty(X0.shape[0], dtype=np.int64)
    params = lmfit.Parameters()
    for name in "abc":
        params.add(name, value=0.0)
    for i in range(X0.shape[0]):
        for name, v in zip("abc", X0[i]):
            params[name].set(value=float(v))

        def fun(p, y=Y[i]):
            exp_decay_residuals(np.array([p["a"].value, p["b"].value, p["c"].value]), r, y, t)
            return r.copy()

        def jac(p, y=Y[i]):
            exp_decay_jacobian(np.array([p["a"].value, p["b"].value, p["c"].value]), J, y, t)
            return J.copy()
        out = lmfit.minimize(fun, params, method="leastsq", Dfun=jac)
        X[i] = [out.params[name].value for name in "abc"]
        nit[i] = out.nfev
    return X, nit


SOLVERS: dict[str, Callable] = {
    "gdfast LM": _lm,
    "gdfast LM (r, J apart)": _lm_apart,
    "gdfast L-BFGS": _lbfgs,
    "gdfast Adam": _adam,
    "scipy least_squares loop": _scipy_loop,
}
if importlib.util.find_spec("lmfit") is not None:
    SOLVERS["lmfit loop"] = _lmfit_loop
LOOPS = ("scipy least_squares loop", "lmfit loop")       # timed on a subset of the pixels
COMPILED = ("gdfast LM", "gdfast LM (r, J apart)", "gdfast L-BFGS", "gdfast Adam")


def run_fit_benchmark(side: int = 256, scipy_pixels: int = 512, rounds: int = 3,
                      say: Callable[[str], None] = print) -> dict:
    """Time every solver on a side x side stack; print and return the figures.

    Parameters
    ----------
    side : int, default 256
        The stack is side^2 pixels (65,536 by default).
    scipy_pixels : int, default 512
        The pixels scipy's loop fits (its time per pixel is quoted).
    rounds : int, default 3
        Timed rounds, alternating the solvers; the median is quoted.
    say : callable, default print

    Returns
    -------
    dict
        machine, pixels, per solver (seconds per pixel in each round, their
        median, compile seconds, median iterations, fraction fitted) and
        targets, as JSON values.
    """
    from .report import report_targets
    results: dict = {"suite": "fit", "machine": machine_state(say)}
    t, Y, _ = exp_decay_stack((side, side), n_times=16)
    X0 = exp_decay_initial_guess(Y)
    m = X0.shape[0]
    sub = min(scipy_pixels, m)
    results["pixels"] = m
    compile_seconds = {}
    for name in COMPILED:                     # compile on a few pixels, timed apart
        start = time.perf_counter()
        SOLVERS[name](X0[:8], Y[:8], t)
        compile_seconds[name] = time.perf_counter() - start
    per_pixel: dict[str, list[float]] = {name: [] for name in SOLVERS}
    last = {}
    for _ in range(rounds):
        for name, solver in SOLVERS.items():
            rows = slice(0, sub) if name in LOOPS else slice(0, m)
            start = time.perf_counter()
            X, nit = solver(X0[rows], Y[rows], t)
            seconds = time.perf_counter() - start
            per_pixel[name].append(seconds / (rows.stop - rows.start))
            last[name] = (X, nit)
    costs = {name: _costs_from_x(X, Y[:X.shape[0]], t) for name, (X, _) in last.items()}
    best = np.minimum.reduce([c[:sub] for c in costs.values()])
    best_all = np.minimum.reduce([c for name, c in costs.items() if c.size == m])
    say(f"{m:,} pixels of {t.size} time points ({side}x{side}); the Python loops on the "
        f"first {sub}; fitted: cost within {SOLVED_RTOL:g} of the lowest any solver reached")
    say(f"{'solver':<26} {'us/pixel':>10} {'rounds':>24} {'compile s':>10} "
        f"{'median nit':>11} {'fitted':>8}")
    results["solvers"] = {}
    for name in SOLVERS:
        c = costs[name]
        ref = best if c.size == sub else best_all
        fitted = float(np.mean(c <= ref * (1 + SOLVED_RTOL) + 1e-300))
        median = statistics.median(per_pixel[name])
        nit_median = float(np.median(last[name][1]))
        rounds_text = " ".join(f"{v * 1e6:.3g}" for v in per_pixel[name])
        say(f"{name:<26} {median * 1e6:>10.3g} {rounds_text:>24} "
            f"{compile_seconds.get(name, math.nan):>10.3g} {nit_median:>11.0f} "
            f"{fitted:>8.1%}")
        results["solvers"][name] = dict(seconds_per_pixel=per_pixel[name],
                                        median_seconds_per_pixel=median,
                                        compile_seconds=compile_seconds.get(name),
                                        median_nit=nit_median, fitted=fitted)
    s = results["solvers"]
    lm = s["gdfast LM"]["median_seconds_per_pixel"]
    over_adam = s["gdfast Adam"]["median_seconds_per_pixel"] / lm
    over_scipy = s["scipy least_squares loop"]["median_seconds_per_pixel"] / lm
    report_targets(results, [
        (f"LM {over_adam:.3g}x faster than minimize_batch(Adam) (fitted: LM "
         f"{s['gdfast LM']['fitted']:.1%}, Adam {s['gdfast Adam']['fitted']:.1%})",
         over_adam >= TARGET_LM_OVER_ADAM and
         s["gdfast LM"]["fitted"] >= s["gdfast Adam"]["fitted"],
         f">= {TARGET_LM_OVER_ADAM:g}x, as accurate"),
        (f"LM {over_scipy:.3g}x faster than scipy's least_squares in a loop",
         over_scipy >= TARGET_LM_OVER_SCIPY, f">= {TARGET_LM_OVER_SCIPY:g}x"),
    ], say)
    return results
