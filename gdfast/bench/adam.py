"""Kernel benchmarks: Adam against numpy, pure Python and torch.optim.

Every candidate runs in the same process on its own copy of the same arrays,
after one warm-up call (so compile time is never timed); the candidates are
timed round-robin, one call each per round, so that a noisy machine slows
them alike, and each figure is a median. Bandwidth is effective bandwidth:
the minimum bytes a step must move (Adam reads x, g, m, v and writes x, m, v:
56 bytes per element) over the median time, beside a STREAM triad (24 bytes
per element) measured in the same run.
"""
import math
import sys

import numba
import numpy as np

from .. import kernels, reference
from .._rules import RULES
from .report import environment, fmt_time, machine_state, report_targets
from .timing import stream_triad_bandwidth, time_round_robin, torch_available

ADAM_BYTES_PER_ELEMENT = 56
ADAM_HYPER = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)


def numpy_adam_step(x, g, m, v, t, lr, beta1, beta2, eps):
    """Adam in numpy as it is usually written, from the paper's equations."""
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    x -= lr * m_hat / (np.sqrt(v_hat) + eps)


def numpy_adam_step_inplace(x, g, m, v, t, lr, beta1, beta2, eps, tmp):
    """Adam in numpy with no temporaries: every ufunc writes into m, v or tmp."""
    m *= beta1
    np.multiply(g, 1 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp *= 1 / math.sqrt(1 - beta2 ** t)
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= -lr / (1 - beta1 ** t)
    x += tmp


class _Stepper:
    """Calls one Adam implementation with an increasing step counter."""

    def __init__(self, step):
        self.step, self.t = step, 0

    def __call__(self):
        self.t += 1
        self.step(self.t)


def adam_candidates(n, reps, with_reference, with_torch, seed=0):
    """{name: (fn, reps)} for every Adam implementation at size n."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    g = rng.standard_normal(n)
    lr, b1, b2, eps = (ADAM_HYPER[k] for k in ("lr", "beta1", "beta2", "eps"))
    hyper = (b1, b2, eps, 0.0, 0.0)
    slow_reps = max(3, reps // 10)

    def fresh():
        return x0.copy(), np.zeros(n), np.zeros(n)

    out = {}
    for name, kernel in (("gdfast adam_step (serial)", kernels.adam_step),
                         ("gdfast adam_step_parallel", kernels.adam_step_parallel)):
        x, m, v = fresh()
        out[name] = (_Stepper(lambda t, x=x, m=m, v=v, k=kernel:
                              k(x, g, (m, v), t, lr, hyper)), reps)
    x, m, v = fresh()
    out["numpy, from the equations"] = (_Stepper(
        lambda t, x=x, m=m, v=v: numpy_adam_step(x, g, m, v, t, lr, b1, b2, eps)), slow_reps)
    x, m, v = fresh()
    tmp = np.empty(n)
    out["numpy, in place (out=)"] = (_Stepper(
        lambda t, x=x, m=m, v=v: numpy_adam_step_inplace(x, g, m, v, t, lr, b1, b2, eps, tmp)),
        slow_reps)
    if with_reference:
        xr, gr = x0.tolist(), g.tolist()
        state = ([0.0] * n, [0.0] * n)
        out["pure-Python reference"] = (_Stepper(
            lambda t: reference.adam_step(xr, gr, state, t, lr, hyper)), 3)
    if with_torch:
        out.update(_torch_candidates(x0, g, reps, slow_reps))
    return out


def _torch_candidates(x0, g, reps, slow_reps):
    import torch
    out = {}
    for label, options in (("fused=True", dict(fused=True)),
                           ("foreach=True", dict(foreach=True))):
        p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt = torch.optim.Adam([p], lr=ADAM_HYPER["lr"],
                               betas=(ADAM_HYPER["beta1"], ADAM_HYPER["beta2"]),
                               eps=ADAM_HYPER["eps"], **options)
        out[f"torch.optim.Adam({label})"] = (opt.step, reps if "fused" in label else slow_reps)
    return out


def facade_overhead(n=1000, rounds=30, calls=500, seed=0):
    """Median seconds per call of gdfast.Adam.step and of the bare kernel call.

    Each timed sample is ``calls`` back-to-back calls (one call is too short
    for the clock); bare and facade samples alternate.
    """
    from ..optimizers import Adam
    rng = np.random.default_rng(seed)
    x_bare, x_opt, g = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    opt = Adam(lr=1e-3)
    state = opt.init(x_opt)
    bare_state, hyper = (np.zeros(n), np.zeros(n)), opt.hyper
    step, kernel = opt.step, kernels.adam_step

    def facade():
        for _ in range(calls):
            step(x_opt, g, state)

    def bare():
        for t in range(1, calls + 1):
            kernel(x_bare, g, bare_state, t, 1e-3, hyper)

    med = time_round_robin({"bare": (bare, rounds), "facade": (facade, rounds)}, rounds)
    return med["bare"] / calls, med["facade"] / calls


def run_kernel_benchmark(n_large=16_000_000, n_small=10_000, reps=20,
                         with_torch=None, out=None):
    """Measure and print the Adam figures (to ``out``, default stdout); return them as a dict."""
    out = sys.stdout if out is None else out
    if with_torch is None:
        with_torch = torch_available()
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    results = dict(environment=environment(with_torch), sizes={})
    say(f"gdfast kernel benchmark: {results['environment']['summary']}")
    results["machine"] = machine_state(say)
    say(f"[1/3] STREAM triad, n={n_large:,} ...")
    triad = stream_triad_bandwidth(n_large, reps)
    results["triad_GBps"] = triad / 1e9
    say(f"STREAM triad (numba, {numba.get_num_threads()} threads) n={n_large:,}: "
        f"{triad / 1e9:.1f} GB/s")
    say("  (STREAM counts 24 bytes/element; its store also reads the line it writes, "
        "which Adam's stores do not pay, so Adam can show more than 100% of triad)")
    for k, n in enumerate((n_large, n_small), 2):
        gdfast_name = _facade_choice(n)
        cands = adam_candidates(n, reps if n == n_small else max(5, reps // 2),
                                with_reference=n <= 100_000, with_torch=with_torch)
        say(f"[{k}/3] Adam n={n:,}: {len(cands)} candidates, round-robin ...")
        rounds = max(r for _, r in cands.values())
        med = time_round_robin(cands, rounds)
        results["sizes"][str(n)] = _report_adam(n, med, gdfast_name, triad, say)
    bare, facade = facade_overhead()
    results["facade_overhead"] = dict(n=1000, kernel_seconds=bare, step_seconds=facade,
                                      overhead_seconds=facade - bare)
    say(f"Adam n=1,000: bare kernel call {bare * 1e6:.2f} us, gdfast.Adam.step "
        f"{facade * 1e6:.2f} us (validation and dispatch: {(facade - bare) * 1e6:+.2f} us)")
    _report_targets(results, n_large, n_small, say)
    return results


def _report_adam(n, med, gdfast_name, triad, say):
    base = med[gdfast_name]
    say(f"Adam n={n:,} ({ADAM_BYTES_PER_ELEMENT} bytes/element/step), median per step; "
        f"ratio = time / time of {gdfast_name}, the kernel gdfast.Adam runs at this size")
    say(f"  {'implementation':<30} {'time':>11} {'GB/s':>8} {'% triad':>8} {'ratio':>9}")
    rows = {}
    for name, sec in sorted(med.items(), key=lambda kv: kv[1]):
        gbps = ADAM_BYTES_PER_ELEMENT * n / sec / 1e9
        rows[name] = dict(seconds=sec, GBps=gbps, fraction_of_triad=gbps * 1e9 / triad,
                          ratio=sec / base)
        say(f"  {name:<30} {fmt_time(sec):>11} {gbps:8.2f} {100 * gbps * 1e9 / triad:7.0f}% "
            f"{sec / base:8.2f}x")
    return rows


def _report_targets(results, n_large, n_small, say):
    big = results["sizes"][str(n_large)]
    small = results["sizes"][str(n_small)]
    par = big[_facade_choice(n_large)]
    lines = [
        (f"Adam n={n_large:,}: gdfast bandwidth / triad = {100 * par['fraction_of_triad']:.0f}%",
         par["fraction_of_triad"] >= 0.8, ">= 80%"),
        (f"Adam n={n_large:,}: numpy (from the equations) / gdfast = "
         f"{big['numpy, from the equations']['ratio']:.1f}x",
         big['numpy, from the equations']['ratio'] >= 10, ">= 10x"),
        (f"Adam n={n_small:,}: numpy (from the equations) / gdfast = "
         f"{small['numpy, from the equations']['ratio']:.1f}x",
         small['numpy, from the equations']['ratio'] >= 3, ">= 3x"),
        (f"Adam n={n_small:,}: numpy (from the equations) / gdfast serial = "
         f"{_ratio(small, 'numpy, from the equations', 'gdfast adam_step (serial)'):.1f}x",
         _ratio(small, 'numpy, from the equations', 'gdfast adam_step (serial)') >= 3, ">= 3x"),
    ]
    over = results["facade_overhead"]["overhead_seconds"]
    lines.append((f"Adam n=1,000: gdfast.Adam.step - bare kernel = {over * 1e6:.2f} us",
                  over <= 2e-6, "<= 2 us"))
    if "torch.optim.Adam(fused=True)" in small:
        r = small["torch.optim.Adam(fused=True)"]["ratio"]
        lines.append((f"Adam n={n_small:,}: torch fused / gdfast = {r:.1f}x", r > 1, "> 1x"))
        r = _ratio(small, "torch.optim.Adam(fused=True)", "gdfast adam_step (serial)")
        lines.append((f"Adam n={n_small:,}: torch fused / gdfast serial = {r:.1f}x", r > 1, "> 1x"))
    inplace = big["numpy, in place (out=)"]["ratio"]
    say(f"also: Adam n={n_large:,}: numpy in place (out=, no temporaries) / gdfast = "
        f"{inplace:.1f}x (memory-bound: 13 passes on one thread against 1 pass on all)")
    report_targets(results, lines, say)


def _facade_choice(n):
    """The name of the candidate running the kernel gdfast.Adam.step runs at length n."""
    rule = RULES["adam"]
    return ("gdfast adam_step_parallel" if rule.kernel_for(n) is rule.step_parallel
            else "gdfast adam_step (serial)")


def _ratio(rows, name, baseline):
    return rows[name]["seconds"] / rows[baseline]["seconds"]
