"""The nopython-driver benchmark (``gdfast bench driver``).

1. The classic cost x**2 + 5x + 10 with Adam (lr 0.1) for exactly 100
   iterations: the compiled driver, gdfast.minimize (nopython and Python
   loops), the pure-Python reference, and torch.optim.Adam with autograd.
2. The per-pixel relaxometry fit a exp(-b t) + c on a 256 x 256 x 16 stack:
   gdfast.minimize_batch with 2 threads and with 1, against Python loops that
   call gdfast.minimize once per pixel (timed on a sample of pixels and
   reported per pixel): with the objective written in numpy (minimize's own
   Python loop), and with the @njit objective (nopython mode per pixel).
Warm-up calls first (compilation is not timed); medians.
"""
import statistics
import sys
import time

import numba
import numpy as np

from .. import kernels, reference
from .._batch import minimize_batch
from .._minimize import minimize
from ..kernels.driver import minimize_nopython
from ..kernels.function_refs import cacheable, cached_objective
from ..optimizers import Adam
from ..problems import exp_decay_initial_guess, exp_decay_stack, exp_decay_value_and_grad
from ..schedules import inverse_time_decay
from .report import environment, fmt_time, machine_state, report_targets
from .timing import time_round_robin, torch_available

ADAM = (0.9, 0.999, 1e-8, 0.0, 0.0)


@cached_objective                  # the loops that call it are cached on disk too
@numba.njit(cache=True)
def _classic_inplace(x, g):
    g[0] = 2.0 * x[0] + 5.0
    return x[0] * x[0] + 5.0 * x[0] + 10.0


def _classic_python(x):
    return x[0] * x[0] + 5.0 * x[0] + 10.0, 2.0 * x + 5.0


def _classic_candidates(with_torch):
    # FunctionRefs, as minimize passes them: the driver compiled for them is
    # loaded from the disk cache by the next process (a dispatcher is not)
    fun, rule, schedule = (cacheable(f) for f in (_classic_inplace, kernels.adam_step,
                                                  kernels.constant))

    def driver():
        minimize_nopython(fun, np.array([5.0]), (), rule, (np.zeros(1), np.zeros(1)), ADAM,
                          schedule, 0.1, (), 100, 0.0, 0.0, 0.0, np.empty(0), np.empty(0))

    def facade_nopython():
        minimize(_classic_inplace, np.array([5.0]), Adam(lr=0.1), jac="inplace", max_iter=100,
                 gtol=0.0)

    def facade_python():
        minimize(_classic_python, np.array([5.0]), Adam(lr=0.1), max_iter=100, gtol=0.0)

    def pure_python():
        x, state = [5.0], ([0.0], [0.0])
        for t in range(1, 101):
            reference.adam_step(x, [2.0 * x[0] + 5.0], state, t, 0.1, ADAM)

    cands = {"gdfast driver (kernels.driver)": (driver, 50),
             "gdfast.minimize, nopython mode": (facade_nopython, 50),
             "gdfast.minimize, Python loop": (facade_python, 20),
             "pure-Python reference": (pure_python, 20)}
    if with_torch:
        import torch

        def torch_adam():
            x = torch.tensor([5.0], dtype=torch.float64, requires_grad=True)
            opt = torch.optim.Adam([x], lr=0.1)
            for _ in range(100):
                opt.zero_grad()
                (x * x + 5.0 * x + 10.0).sum().backward()
                opt.step()
        cands["torch.optim.Adam + autograd"] = (torch_adam, 10)
    return cands


def exp_decay_numpy(p, y, t):
    """The relaxometry objective in numpy: (f, grad f) for gdfast.minimize."""
    e = np.exp(-p[1] * t)
    r = p[0] * e + p[2] - y
    return float(r @ r), np.array([2.0 * (r @ e), -2.0 * p[0] * (r @ (t * e)), 2.0 * r.sum()])


def _per_pixel(fn, idx):
    t0 = time.perf_counter()
    for i in idx:
        fn(i)
    return (time.perf_counter() - t0) / idx.size


def run_driver_benchmark(pixels_per_side=256, sample=200, out=None):
    out = sys.stdout if out is None else out
    with_torch = torch_available()
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    results = dict(environment=environment(with_torch))
    say(f"gdfast driver benchmark: {results['environment']['summary']}")
    results["machine"] = machine_state(say)
    say("[1/2] classic cost, Adam lr=0.1, 100 iterations ...")
    med = time_round_robin(_classic_candidates(with_torch), 50)
    base = med["gdfast driver (kernels.driver)"]
    say("  implementation                          time per run    ratio")
    results["classic"] = {}
    for name, sec in sorted(med.items(), key=lambda kv: kv[1]):
        results["classic"][name] = dict(seconds=sec, ratio=sec / base)
        say(f"  {name:<38} {fmt_time(sec):>12} {sec / base:8.1f}x")

    say(f"[2/2] relaxometry fit, {pixels_per_side}x{pixels_per_side} pixels x 16 times ...")
    t, Y, _ = exp_decay_stack((pixels_per_side, pixels_per_side), 16, seed=0)
    P0 = exp_decay_initial_guess(Y)
    m = Y.shape[0]
    opt = lambda: Adam(lr=inverse_time_decay(0.05, 200))  # noqa: E731
    kw = dict(max_iter=3000, gtol=1e-10)
    minimize_batch(exp_decay_value_and_grad, P0[:64], opt(), batch_args=(Y[:64],), args=(t,), **kw)
    threads = numba.get_num_threads()
    batch = {}
    for n_threads in sorted({1, threads}, reverse=True):
        numba.set_num_threads(n_threads)
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = minimize_batch(exp_decay_value_and_grad, P0, opt(), batch_args=(Y,), args=(t,),
                                 **kw)
            ts.append(time.perf_counter() - t0)
        batch[n_threads] = statistics.median(ts)
    numba.set_num_threads(threads)
    minimize(exp_decay_value_and_grad, P0[0], opt(), jac="inplace", args=(Y[0], t), **kw)
    idx = np.random.default_rng(0).choice(m, min(sample, m), replace=False)
    per_pixel_njit = _per_pixel(lambda i: minimize(exp_decay_value_and_grad, P0[i], opt(),
                                                   jac="inplace", args=(Y[i], t), **kw), idx)
    few = idx[:max(1, idx.size // 4)]
    per_pixel_numpy = _per_pixel(lambda i: minimize(exp_decay_numpy, P0[i], opt(),
                                                    args=(Y[i], t), **kw), few)
    per_pixel_batch = batch[threads] / m
    results["batch"] = dict(pixels=m, seconds_by_threads=batch, success=float(res.success.mean()),
                            loop_numpy_seconds_per_pixel=per_pixel_numpy,
                            loop_njit_seconds_per_pixel=per_pixel_njit,
                            batch_seconds_per_pixel=per_pixel_batch,
                            ratio=per_pixel_numpy / per_pixel_batch,
                            ratio_njit_loop=per_pixel_njit / per_pixel_batch)
    for n_threads, sec in sorted(batch.items()):
        say(f"  gdfast.minimize_batch, {n_threads} thread(s): {fmt_time(sec)} for {m:,} pixels "
            f"({fmt_time(sec / m)} per pixel)")
    say(f"  Python loop over gdfast.minimize, numpy objective (timed on {few.size} pixels): "
        f"{fmt_time(per_pixel_numpy)} per pixel -> the batch is "
        f"{results['batch']['ratio']:.0f}x faster")
    say(f"  Python loop over gdfast.minimize, @njit objective, nopython per pixel (timed on "
        f"{idx.size} pixels): {fmt_time(per_pixel_njit)} per pixel -> the batch is "
        f"{results['batch']['ratio_njit_loop']:.1f}x faster")
    say(f"  converged (gtol): {100 * res.success.mean():.2f}% of pixels")

    torch_name = "torch.optim.Adam + autograd"
    lines = []
    if torch_name in med:
        r = med[torch_name] / base
        lines.append((f"classic Adam x100: torch / driver = {r:.0f}x", r >= 100, ">= 100x"))
    r = results["batch"]["ratio"]
    lines.append((f"batch fit vs Python loop over gdfast.minimize (numpy objective), per pixel: "
                  f"{r:.0f}x", r >= 50, ">= 50x"))
    if 1 in batch and threads > 1:
        r = batch[1] / batch[threads]
        lines.append((f"batch fit, {threads} threads vs 1: {r:.2f}x faster", r > 1, "> 1x"))
    report_targets(results, lines, say)
    return results
