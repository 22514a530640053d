"""Determinism: every kernel, energy and whole run is bitwise identical across
repeated runs and across NUMBA_NUM_THREADS=1 and 2.

tests/determinism_probe.py runs a fixed, seeded workload and prints one JSON
line mapping each case to the SHA-256 of its outputs (the raw bytes of every
array, ``float.hex()`` of every scalar). It covers every update rule of
gdfast.RULES (serial and parallel kernels, 5 steps over 300,007 elements with
non-default options), the reductions (max_abs, max_abs_diff,
mean_squared_difference, serial and parallel, on 10^6 values of mixed
magnitudes), the smoothed-TV kernels in 2-D and 3-D (energy and gradient,
isotropic and anisotropic, serial, parallel and energy-only), the fused
tv_descent iterations (serial and parallel), and whole runs: gdfast.minimize
with jac='inplace' (nopython driver and Python loop), jac=True (numpy
objective) and jac='3-point' (parallel central differences of an @njit
function), gdfast.gradient, gdfast.denoise in 2-D (momentum, nesterov, adam,
and momentum again through gdfast.minimize on denoise's objective) and 3-D,
and gdfast.minimize_batch on the relaxometry stack.

Why subprocesses: numba fixes its thread pool when a process starts, so the
only way to compare thread counts is to run the probe in fresh processes with
NUMBA_NUM_THREADS set (the rest of the environment is kept). The probe runs
twice with 2 threads and once with 1. Cases named ``<case>@<variant>``
promise the same bits for every variant (serial == parallel kernel, denoise
== minimize), which is checked within each run as well.

The parallel code paths split work into a fixed number of blocks and combine
block results in a fixed order (see docs/design.md, "Reductions must be
deterministic for any thread count"); a reduction whose partial sums followed
the threads would show up here as a digest that changes with the thread count.
"""
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

import gdfast

# every test reads the three probe processes of the module's fixture
pytestmark = pytest.mark.slow

PROBE = Path(__file__).parents[1] / "determinism_probe.py"
RUNS = (("2 threads, run 1", 2), ("2 threads, run 2", 2), ("1 thread", 1))


def _run_probe(threads):
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True,
                         timeout=600, cwd=PROBE.parent.parent)
    elapsed = time.perf_counter() - start
    assert run.returncode == 0, (f"probe failed with NUMBA_NUM_THREADS={threads} "
                                 f"after {elapsed:.1f} s:\n{run.stderr[-4000:]}")
    lines = run.stdout.strip().splitlines()
    assert lines, f"probe printed nothing with NUMBA_NUM_THREADS={threads}"
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def determinism_runs():
    """{label: {case: digest}} for each run in RUNS, one fresh process each."""
    return {label: _run_probe(threads) for label, threads in RUNS}


def _differences(a, b):
    """Lines naming every case missing from one side or with different digests."""
    lines = [f"only in the first run: {k}" for k in sorted(a.keys() - b.keys())]
    lines += [f"only in the second run: {k}" for k in sorted(b.keys() - a.keys())]
    lines += [f"{k}: {a[k][:16]}... != {b[k][:16]}..." for k in sorted(a.keys() & b.keys())
              if a[k] != b[k]]
    return lines


def _groups(digests):
    """{case: {variant: digest}} for the keys of the form case@variant."""
    groups = defaultdict(dict)
    for key, value in digests.items():
        case, sep, variant = key.partition("@")
        if sep:
            groups[case][variant] = value
    return groups


def test_the_probe_covers_every_kernel_family(determinism_runs):
    cases = determinism_runs["2 threads, run 1"]
    expected = [f"rule/{name}@{variant}" for name in gdfast.RULES
                for variant in ("serial", "parallel")]
    expected += [f"reduction/{name}@{variant}"
                 for name in ("max_abs", "max_abs_diff", "mean_squared_difference")
                 for variant in ("serial", "parallel")]
    expected += [f"tv/{dims}/{what}@{variant}" for dims in ("2d", "2d_anisotropic", "3d",
                                                            "3d_anisotropic")
                 for what, variant in (("energy", "serial"), ("energy", "parallel"),
                                       ("energy", "energy_only"), ("grad", "serial"),
                                       ("grad", "parallel"))]
    expected += [f"tv_descent/{case}@{variant}"
                 for case in ("2d_nesterov", "2d_adam", "3d_momentum")
                 for variant in ("serial", "parallel")]
    expected += ["minimize/inplace_njit@nopython", "minimize/inplace_njit@python_loop",
                 "minimize/jac_true_numpy", "minimize/3_point_njit",
                 "gradient/njit@serial", "gradient/njit@parallel",
                 "denoise/2d_momentum@denoise", "denoise/2d_momentum@minimize_inplace",
                 "denoise/2d_nesterov@denoise", "denoise/2d_adam@denoise",
                 "denoise/3d_momentum", "minimize_batch/exp_decay_64x64"]
    missing = sorted(set(expected) - cases.keys())
    assert not missing, f"the probe no longer reports: {missing}"


def test_different_cases_give_different_digests(determinism_runs):
    """A guard on the probe itself: a digest of nothing would make every check pass."""
    by_digest = defaultdict(set)
    for key, value in determinism_runs["2 threads, run 1"].items():
        by_digest[value].add(key.partition("@")[0])
    shared = [sorted(cases) for cases in by_digest.values() if len(cases) > 1]
    assert not shared, f"different cases with the same digest: {shared}"


def test_repeated_runs_give_the_same_bits(determinism_runs):
    diff = _differences(determinism_runs["2 threads, run 1"], determinism_runs["2 threads, run 2"])
    assert not diff, ("two runs with NUMBA_NUM_THREADS=2 differ in "
                      f"{len(diff)} case(s):\n" + "\n".join(diff))


def test_one_and_two_threads_give_the_same_bits(determinism_runs):
    diff = _differences(determinism_runs["2 threads, run 1"], determinism_runs["1 thread"])
    assert not diff, ("NUMBA_NUM_THREADS=2 and =1 differ in "
                      f"{len(diff)} case(s):\n" + "\n".join(diff))


@pytest.mark.parametrize("label", [label for label, _ in RUNS])
def test_variants_of_a_case_give_the_same_bits(determinism_runs, label):
    """serial == parallel kernels, energy-only == fused energy, nopython driver ==
    Python loop, denoise == minimize on its objective: bit for bit."""
    groups = _groups(determinism_runs[label])
    assert groups
    lines = [f"{case}: " + ", ".join(f"{variant} {value[:16]}..."
                                     for variant, value in sorted(variants.items()))
             for case, variants in sorted(groups.items())
             if len(set(variants.values())) > 1]
    assert not lines, (f"variants that promise the same bits differ ({label}):\n"
                       + "\n".join(lines))
