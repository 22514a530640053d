"""Determinism probe: run a fixed, seeded workload and print one JSON line of digests.

    NUMBA_NUM_THREADS=2 python tests/determinism_probe.py [-v]

prints ``{"<case>@<variant>": "<sha256 hex>", ...}``: for every case, the
SHA-256 of the raw bytes of each output array (dtype and shape included) and
of ``float.hex()`` of each returned scalar, in a fixed order. ``-v`` writes
the time of each group of cases to stderr.

tests/facade/test_determinism.py runs this script in fresh processes (numba fixes
its thread count when a process starts) and compares the digests across
repeated runs and across thread counts. Keys that share the part before
``@`` are variants that promise the same bits (serial and parallel kernels,
gdfast.denoise and gdfast.minimize on the same energy, ...): the test checks
that they agree within each run too.

Every input is seeded; nothing here depends on the clock or on the machine
except the thread count, which the probe checks against NUMBA_NUM_THREADS.
"""
import hashlib
import json
import math
import os
import sys
import time

import numba
import numpy as np
from numba import njit

import gdfast
from gdfast import kernels
from gdfast._denoise import TVObjective, default_optimizer
from gdfast.images import add_noise, synthetic_image
from gdfast.kernels import tv_descent
from gdfast.kernels.finite_differences import central_differences
from gdfast.kernels.function_refs import cacheable
from gdfast.problems import exp_decay_initial_guess, exp_decay_stack, exp_decay_value_and_grad

RULE_SIZE = 300_007        # > every rule's parallel_min_size, not a multiple of anything
RULE_STEPS = 5
REDUCTION_SIZE = 1_000_003

# Non-default options, so that the optional branches of the rules run too.
RULE_OPTIONS = {
    "momentum": dict(dampening=0.1),
    "rmsprop_full": dict(centered=1.0, momentum=0.5),
    "adamw": dict(amsgrad=1.0),
    "nadam": dict(decoupled=1.0),
    "radam": dict(decoupled=1.0),
}


def digest(*items):
    """SHA-256 hex of arrays (dtype, shape, raw C-order bytes) and scalars (float.hex)."""
    h = hashlib.sha256()
    for item in items:
        if isinstance(item, np.ndarray):
            a = np.ascontiguousarray(item)
            h.update(f"array {a.dtype.str} {a.shape}:".encode())
            h.update(a.tobytes())
        elif isinstance(item, (bool, np.bool_)):
            h.update(f"bool {bool(item)};".encode())
        elif isinstance(item, (int, np.integer)):
            h.update(f"int {int(item)};".encode())
        elif isinstance(item, (float, np.floating)):
            h.update(f"float {float(item).hex()};".encode())
        elif isinstance(item, str):
            h.update(f"str {item};".encode())
        else:
            raise TypeError(f"cannot digest {type(item).__name__}")
    return h.hexdigest()


# --- update rules ------------------------------------------------------------

def _rule_state(rule, n, lr):
    if rule.name == "rprop":                       # (prev, step): step starts at lr
        return (np.zeros(n), np.full(n, lr))
    return tuple(np.zeros(n) for _ in rule.state)


def rule_cases(out):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(RULE_SIZE)
    grads = [rng.standard_normal(RULE_SIZE) * 10.0 ** rng.uniform(-3, 3, RULE_SIZE)
             for _ in range(RULE_STEPS)]
    for name, rule in gdfast.RULES.items():
        options = dict(RULE_OPTIONS.get(name, {}))
        if rule.defaults.get("weight_decay") == 0.0:    # adamw and lion decay by default
            options["weight_decay"] = 0.01
        hyper = rule.hyper_tuple(**options)
        lr0 = rule.defaults["lr"]
        for variant, kernel in (("serial", rule.step), ("parallel", rule.step_parallel)):
            x = x0.copy()
            state = _rule_state(rule, RULE_SIZE, lr0)
            for t in range(1, RULE_STEPS + 1):
                kernel(x, grads[t - 1], state, t, lr0 / (1.0 + 0.1 * t), hyper)
            out[f"rule/{name}@{variant}"] = digest(x, *state)


# --- reductions ----------------------------------------------------------------

def reduction_cases(out):
    rng = np.random.default_rng(2)
    n = REDUCTION_SIZE
    a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)      # mixed magnitudes
    b = a + rng.standard_normal(n) * 10.0 ** rng.uniform(-12, 4, n)
    for name, arrays in (("max_abs", (a,)), ("max_abs_diff", (a, b)),
                         ("mean_squared_difference", (a, b))):
        out[f"reduction/{name}@serial"] = digest(getattr(kernels, name)(*arrays))
        out[f"reduction/{name}@parallel"] = digest(getattr(kernels, f"{name}_parallel")(*arrays))


# --- TV kernels ----------------------------------------------------------------

def tv_cases(out):
    rng = np.random.default_rng(3)
    lam, eps = 0.15, 0.03
    for ndim, shape in ((2, (601, 517)), (3, (37, 90, 71))):
        serial = getattr(kernels, f"tv_energy_grad_{ndim}d")
        parallel = getattr(kernels, f"tv_energy_grad_{ndim}d_parallel")
        energy_only = getattr(kernels, f"tv_energy_{ndim}d")
        workspace = getattr(kernels, f"tv_workspace_{ndim}d")
        u = rng.random(shape)
        f = u + 0.1 * rng.standard_normal(shape)
        for anisotropic in (False, True):
            case = f"tv/{ndim}d" + ("_anisotropic" if anisotropic else "")
            for variant, kernel in (("serial", serial), ("parallel", parallel)):
                g = np.full(shape, np.nan)
                e = kernel(u, f, lam, eps, g, workspace(shape), anisotropic)
                out[f"{case}/energy@{variant}"] = digest(e)
                out[f"{case}/grad@{variant}"] = digest(g)
            e = energy_only(u, f, lam, eps, workspace(shape), anisotropic)
            out[f"{case}/energy@energy_only"] = digest(e)


def tv_descent_cases(out):
    """Fused iterations (gdfast.kernels.tv_descent) with the rules denoise uses."""
    rng = np.random.default_rng(4)
    lam, eps = 0.1, 0.03
    for ndim, shape, optimizers in (
            (2, (600, 500), {"nesterov": gdfast.SGD(lr=0.02, momentum=0.7, nesterov=True),
                             "adam": gdfast.Adam(lr=0.01)}),
            (3, (24, 120, 110), {"momentum": gdfast.SGD(lr=0.02, momentum=0.8)})):
        f = rng.random(shape)
        workspace = getattr(tv_descent, f"tv_descent_workspace_{ndim}d")
        for name, opt in optimizers.items():
            # the rule as denoise passes it: a FunctionRef, so the kernels
            # compiled for it are cached on disk and the probe's later
            # processes load them (a dispatcher compiles in every process)
            step = cacheable(opt.rule.step)
            for variant in ("serial", "parallel"):
                fused = getattr(tv_descent, f"tv_descent_step_{ndim}d"
                                + ("_parallel" if variant == "parallel" else ""))
                u, u_next = f.copy(), np.empty(shape)
                state = opt.init(u.ravel())
                work = workspace(shape)
                scalars = []
                for t in range(1, 6):
                    e, g_max = fused(u, u_next, f, lam, eps, False, step, state.arrays,
                                     t, opt.lr(t), opt.hyper, work)
                    scalars += [e, g_max]
                    u, u_next = u_next, u
                out[f"tv_descent/{ndim}d_{name}@{variant}"] = digest(u, *state.arrays, *scalars)


# --- whole runs ------------------------------------------------------------------

# The objectives are registered (gdfast.cached_objective), as the docs tell
# users to: the loops compiled for them are cached on disk, so only the first
# of the test's three probe processes compiles them (unregistered, each
# process compiled them again, most of a probe's time).


def _run_digest(res):
    """Everything an OptimizeResult of minimize or denoise reports, but the message."""
    return digest(res.x, res.fun, res.jac, res.nit, res.nfev, res.status.value,
                  res.fun_history, res.grad_norm_history)


@gdfast.cached_objective
@njit(cache=True, error_model="numpy")
def separable_value_and_grad(x, g, a, c):
    """f = sum a_i (d_i^2 / 2 + d_i^4 / 12), d = x - c; g written in place."""
    f = 0.0
    for i in range(x.size):
        d = x[i] - c[i]
        d2 = d * d
        f += a[i] * d2 * (0.5 + d2 / 12.0)
        g[i] = a[i] * d * (1.0 + d2 / 3.0)
    return f


@gdfast.cached_objective
@njit(cache=True, error_model="numpy")
def rosenbrock(x):
    f = 0.0
    for i in range(x.size - 1):
        f += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return f


@gdfast.cached_objective
@njit(cache=True, error_model="numpy")
def wavy(x, w):
    """A non-separable smooth function for gdfast.gradient."""
    s = 0.0
    c = 0.0
    for i in range(x.size):
        s += math.sin(w[i] * x[i]) * x[i]
        c += x[i] * x[i]
    return s + math.sqrt(1.0 + c) + s * s / (1.0 + c)


def _numpy_value_and_grad(x, a, c):
    d = x - c
    return float(np.sum(a * np.logaddexp(d, -d))) + 0.05 * float(d @ d), a * np.tanh(d) + 0.1 * d


def minimize_cases(out):
    rng = np.random.default_rng(5)
    n = 100_003                  # > 3x PARALLEL_MIN_SIZE: the parallel kernels and norms
    a, c = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)
    x0 = rng.standard_normal(n)

    def run(**kw):
        return gdfast.minimize(separable_value_and_grad, x0, gdfast.Adam(lr=0.05),
                               jac="inplace", args=(a, c), max_iter=60, gtol=0.0, **kw)

    res = run()
    assert res.nopython
    out["minimize/inplace_njit@nopython"] = _run_digest(res)
    res = run(callback=lambda r: None)                # a callback forces the Python loop
    assert not res.nopython
    out["minimize/inplace_njit@python_loop"] = _run_digest(res)

    m = 50_001
    res = gdfast.minimize(_numpy_value_and_grad, x0[:m], gdfast.RMSprop(lr=0.01, momentum=0.5),
                          jac=True, args=(a[:m], c[:m]), max_iter=40, gtol=0.0)
    out["minimize/jac_true_numpy"] = _run_digest(res)

    x0r = np.linspace(-1.5, 1.5, 200)                   # >= 64 coordinates: parallel kernel
    res = gdfast.minimize(rosenbrock, x0r, gdfast.Adam(lr=2e-3), jac="3-point",
                          max_iter=300, gtol=0.0)
    out["minimize/3_point_njit"] = _run_digest(res)


def gradient_cases(out):
    rng = np.random.default_rng(6)
    n = 3001
    x, w = rng.standard_normal(n), rng.uniform(0.5, 5.0, n)
    out["gradient/njit@parallel"] = digest(gdfast.gradient(wavy, x, args=(w,)))
    g = np.empty(n)
    central_differences(cacheable(wavy), x, gdfast._gradients.default_steps(x), g, (w,))
    out["gradient/njit@serial"] = digest(g)


def denoise_cases(out):
    lam, eps = 0.1, 0.03
    f = add_noise(synthetic_image(600), 0.1, seed=7)
    for method in ("momentum", "nesterov", "adam"):
        res = gdfast.denoise(f, lam, eps=eps, method=method, max_iter=120, tol=1e-7)
        out[f"denoise/2d_{method}@denoise"] = _run_digest(res)
    # the same run through gdfast.minimize(jac='inplace') on denoise's objective
    res = gdfast.minimize(TVObjective(f, lam, eps, False), f,
                          default_optimizer("momentum", lam, eps, 2), jac="inplace",
                          max_iter=120, ftol=1e-7, gtol=0.0)
    out["denoise/2d_momentum@minimize_inplace"] = _run_digest(res)

    clean = synthetic_image(128)
    f3 = add_noise(np.broadcast_to(clean, (24, 128, 128)), 0.1, seed=8)   # >= 65,536 voxels
    res = gdfast.denoise(f3, lam, eps=eps, method="momentum", max_iter=60, tol=0.0)
    out["denoise/3d_momentum"] = _run_digest(res)


def batch_cases(out):
    t, Y, _ = exp_decay_stack((64, 64), n_times=16)
    res = gdfast.minimize_batch(exp_decay_value_and_grad, exp_decay_initial_guess(Y),
                                gdfast.Adam(lr=gdfast.schedules.inverse_time_decay(0.05, 200)),
                                batch_args=(Y,), args=(t,), max_iter=3000, gtol=1e-10)
    out["minimize_batch/exp_decay_64x64"] = digest(res.x, res.fun, res.nit,
                                                   res.status.astype("U"))


GROUPS = (rule_cases, reduction_cases, tv_cases, tv_descent_cases, minimize_cases,
          gradient_cases, denoise_cases, batch_cases)


def main(argv):
    verbose = "-v" in argv
    wanted = os.environ.get("NUMBA_NUM_THREADS")
    if wanted is not None and numba.get_num_threads() != int(wanted):
        sys.exit(f"numba runs {numba.get_num_threads()} threads, NUMBA_NUM_THREADS={wanted}")
    out = {}
    for group in GROUPS:
        start = time.perf_counter()
        group(out)
        if verbose:
            print(f"{group.__name__}: {time.perf_counter() - start:.2f} s", file=sys.stderr)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
