"""Timing for the benchmark suites: candidates round-robin, and a STREAM triad.

Every candidate runs in the same process on its own copy of the same arrays,
after one warm-up call (so compile time is never timed); the candidates are
timed round-robin, one call each per round, so that a noisy machine slows
them alike, and each figure is a median. Bandwidth is effective bandwidth:
the minimum bytes a step must move over the median time, beside a STREAM
triad (24 bytes per element) measured in the same run.
"""
import statistics
import time

import numpy as np

from .. import kernels

TRIAD_BYTES_PER_ELEMENT = 24


def time_round_robin_samples(candidates, rounds, warmup=True):
    """Seconds of every timed call of each candidate, in round order.

    candidates: {name: (fn, reps)}; fn() does one call, reps <= rounds is how
    many rounds it takes part in (slow candidates take fewer). Each fn is
    called once untimed first (unless warmup is False: the caller ran them).
    Returns {name: [seconds of round 0, 1, ...]}.
    """
    for fn, _ in candidates.values() if warmup else ():
        fn()
    times = {name: [] for name in candidates}
    for r in range(rounds):
        for name, (fn, reps) in candidates.items():
            if r < reps:
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return times


def time_round_robin(candidates, rounds):
    """Median seconds per call of each candidate (see time_round_robin_samples)."""
    samples = time_round_robin_samples(candidates, rounds)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def triad_step(n):
    """(fn, bytes): fn() does one STREAM triad a = b + s*c over n float64
    with numba's threads (fn holds the three arrays), bytes what it moves;
    a candidate for time_round_robin beside the others."""
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    return (lambda: kernels.triad_parallel(a, b, c, 3.0)), TRIAD_BYTES_PER_ELEMENT * n


def stream_triad_bandwidth(n, reps=20):
    """STREAM triad a = b + s*c with numba's threads, timed alone; returns bytes/second."""
    step, moved = triad_step(n)
    med = time_round_robin({"triad": (step, reps)}, reps)
    return moved / med["triad"]


def skimage_available():
    """True if scikit-image's restoration module (the TV anchors) imports."""
    try:
        import skimage.restoration  # noqa: F401
    except ImportError:
        return False
    return True


def pyproximal_available():
    """True if pyproximal (the TV-prox anchor of `gdfast bench quality`) imports."""
    try:
        import pyproximal  # noqa: F401
    except ImportError:
        return False
    return True


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
