"""`gdfast bench blocking`: K iterations by tiles (temporal blocking) against the fused pass.

gdfast.denoise runs one fused pass per iteration (kernels.tv_descent): the
whole image goes through main memory once per iteration. The tiled kernel
(kernels.tv_tiles, the kernel of a gdfast.dask task) copies tiles of side c
with a halo of K + 1 into buffers of their own and runs K iterations there,
so the image goes through main memory once per K iterations, at the price
of ((c + 2K + 2) / c)^2 - 1 redundant halo work.

For each --sizes side N (default 512, 1024, 2048 and 4096), heavy-ball iterations
(denoise's default method) on a noisy synthetic image, --iterations per call
(default 64), candidates alternating round by round:

- fused: gdfast.denoise's pass, numba's threads;
- tiled K / c: gdfast.denoise's tiled path (TVObjective.descent_block: the
  tiled kernel and the energies from its row sums), for each --sweeps K and
  --tiles c (multiples of kernels.tv.ROW_SEGMENT), and on slabs of --slabs
  r whole rows;
- fused, one thread, on the N^2 image and on a 256^2 image that fits in a
  core's L2 cache: the arithmetic bound (when a core is as slow on the
  cached image as on the streamed one, memory is not what limits it).

Printed: time per iteration, ns per pixel-iteration, the bytes per
pixel-iteration each must move (fused: read u, f, the momentum and write
u_next, the momentum: 40; tiled: the tile's reads with its halo and its own
pixels' writes, once per K iterations) and that as GB/s beside a STREAM
triad of the same run. The tiled iterate and energies (E, max|g| of every
iterate) are checked to be the fused pass's to the bit. Compile time is
excluded (every candidate is called once first).
"""
import numba
import numpy as np

from .._denoise import (
    BLOCK_ITERATIONS,
    BLOCK_MIN_PIXELS,
    BLOCK_TILE,
    TVObjective,
    default_optimizer,
)
from ..images import add_noise, test_image
from ..kernels.tv import ROW_SEGMENT
from ..kernels.tv_descent import tv_descent_step_2d, tv_descent_workspace_2d
from .report import environment, fmt_time, machine_state, report_targets
from .stats import median_interval
from .timing import stream_triad_bandwidth, time_round_robin_samples

LAM, EPS, SIGMA, METHOD = 0.1, 0.03, 0.1, "momentum"
FUSED_BYTES = 40                 # read u, f, v; write u_next, v (bench denoise's count)
CACHED_SIDE = 256                # 256^2 x 4 arrays x 8 bytes = 2 MiB: in a core's L2
DENOISE_TILING = f"tiled K={BLOCK_ITERATIONS} c={BLOCK_TILE}"    # gdfast.denoise's choice


class Fused:
    """``iterations`` fused passes from f, as gdfast.denoise runs them."""

    def __init__(self, f, iterations, parallel=True):
        self.f, self.iterations = f, iterations
        self.objective = TVObjective(f, LAM, EPS, False)
        if not parallel:
            self.objective.descent = tv_descent_step_2d
            self.objective.work = tv_descent_workspace_2d(f.shape)
        self.opt = default_optimizer(METHOD, LAM, EPS, 2)
        self.u, self.u_next = np.empty_like(f), np.empty_like(f)   # touched before timing
        self.state = self.opt.init(f.ravel())

    def __call__(self):
        u, u_next, state = self.u, self.u_next, self.state
        u[...] = self.f
        _restart(state)
        records = []
        for _ in range(self.iterations):
            records.append(self.objective.descent_step(u, u_next, self.opt, state))
            u, u_next = u_next, u
        self.result, self.records = u, np.array(records)


class Tiled:
    """``iterations`` iterations by tiles of ``tile`` = (rows, columns), K per
    block, as gdfast.denoise runs them (TVObjective.descent_block: the tiled
    kernel, then the energies from its row sums)."""

    def __init__(self, f, iterations, K, tile):
        self.f, self.iterations, self.K, self.tile = f, iterations, K, tile
        self.objective = TVObjective(f, LAM, EPS, False)
        self.objective.tile = tile
        self.opt = default_optimizer(METHOD, LAM, EPS, 2)
        self.u, self.u_next = np.empty_like(f), np.empty_like(f)
        self.state, self.state_next = self.opt.init(f.ravel()), self.opt.init(f.ravel())

    def __call__(self):
        u, u_next, state, state_next = self.u, self.u_next, self.state, self.state_next
        u[...] = self.f
        _restart(state)
        records = []
        for _ in range(0, self.iterations, self.K):
            records.append(self.objective.descent_block(u, u_next, self.opt, state, state_next,
                                                        self.K))
            u, u_next = u_next, u
            state, state_next = state_next, state
        self.result, self.records = u, np.concatenate(records)

    def bytes_per_pixel_iteration(self, shape):
        """Main-memory bytes per pixel-iteration: each tile reads u, f and the
        momentum over the tile and its halo and writes its own pixels of
        u_next and the momentum, once per K iterations."""
        H, W = shape
        (a, c), h = self.tile, self.K + 1
        read = sum((min(r + a, H) - r + min(h, r) + min(h, max(H - r - a, 0)))
                   * (min(q + c, W) - q + min(h, q) + min(h, max(W - q - c, 0)))
                   for r in range(0, H, a) for q in range(0, W, c))
        return (3 * 8 * read + 2 * 8 * H * W) / (H * W) / self.K


def run_blocking_benchmark(sizes=(512, 1024, 2048, 4096), sweeps=(16, 32), tiles=(256, 512),
                           slabs=(256,), iterations=64, rounds=5, say=print):
    """Measure and print the figures; return them as a dict."""
    if any(iterations % K for K in sweeps):
        raise ValueError(f"iterations: expected a multiple of every sweep {sweeps}, "
                         f"got {iterations}")
    if any(c % ROW_SEGMENT for c in tiles):
        raise ValueError(f"tiles: expected multiples of {ROW_SEGMENT} (the energies' row "
                         f"segments), got {tiles}")
    results = dict(environment=environment(False), method=METHOD, lam=LAM, eps=EPS,
                   iterations=iterations, sizes={})
    say(f"gdfast blocking benchmark: {results['environment']['summary']}")
    results["machine"] = machine_state(say)
    say(f"heavy-ball iterations on a noisy synthetic image (lam={LAM}, eps={EPS}), "
        f"{iterations} per call, {rounds} rounds, candidates alternating; medians")
    triad = stream_triad_bandwidth(16_000_000, 20)
    results["triad_GBps"] = triad / 1e9
    say(f"STREAM triad (numba, {numba.get_num_threads()} threads): {triad / 1e9:.1f} GB/s")
    cached = add_noise(test_image(CACHED_SIDE, "synthetic")[0], SIGMA, seed=1)
    targets = []
    for N in sizes:
        f = add_noise(test_image(N, "synthetic")[0], SIGMA, seed=0)
        cands = {"fused (denoise's pass)": Fused(f, iterations)}
        for K in sweeps:
            for c in tiles:
                cands[f"tiled K={K} c={c}"] = Tiled(f, iterations, K, (c, c))
            for r in slabs:
                cands[f"tiled K={K} slabs of {r} rows"] = Tiled(f, iterations, K, (r, N))
        cands["fused, one thread"] = Fused(f, iterations, parallel=False)
        reps = max(1, round(N * N / CACHED_SIDE ** 2))      # as many pixels as the image
        cands[f"fused, one thread, {CACHED_SIDE}^2 (L2)"] = _Repeated(
            Fused(cached, iterations, parallel=False), reps)
        say(f"[{N}^2] {len(cands)} candidates ...")
        samples = time_round_robin_samples({k: (v, rounds) for k, v in cands.items()}, rounds)
        fused = cands["fused (denoise's pass)"]
        rows = {}
        base = np.median(samples["fused (denoise's pass)"])
        say(f"  {'candidate':<34} {'per iteration':>13} {'ns/px-it':>9} {'B/px-it':>8} "
            f"{'GB/s':>6} {'% triad':>8} {'speed / fused (95%)':>22}")
        for name, cand in cands.items():
            ts = np.array(samples[name])
            px_its = iterations * (N * N if not isinstance(cand, _Repeated)
                                   else cand.reps * CACHED_SIDE ** 2)
            per_it = np.median(ts) / iterations
            ns = np.median(ts) / px_its * 1e9
            bpx = (cand.bytes_per_pixel_iteration(f.shape) if isinstance(cand, Tiled)
                   else FUSED_BYTES if not isinstance(cand, _Repeated) else None)
            gbps = bpx * px_its / np.median(ts) / 1e9 if bpx else None
            ratio = np.median(base / ts) if name.startswith("tiled") else None
            lo, hi = (median_interval(base / ts) if ratio is not None else (None, None))
            same = (bool(np.array_equal(cand.result, fused.result)
                         and np.array_equal(cand.records, fused.records))
                    if isinstance(cand, Tiled) else None)
            rows[name] = dict(seconds_per_iteration=per_it, ns_per_pixel_iteration=ns,
                              bytes_per_pixel_iteration=bpx, GBps=gbps,
                              triad_fraction=gbps * 1e9 / triad if bpx else None, speedup=ratio,
                              speedup_interval=(lo, hi), same_bits=same)
            sp = (f"{ratio:.2f}x ({lo:.2f}..{hi:.2f})" + ("" if same else " BITS DIFFER")
                  if ratio is not None else "")
            bw = (f"{bpx:8.1f} {gbps:6.1f} {100 * gbps * 1e9 / triad:7.0f}%"
                  if not isinstance(cand, _Repeated) else f"{'-':>8} {'-':>6} {'-':>8}")
            say(f"  {name:<34} {fmt_time(per_it):>13} {ns:9.2f} {bw} {sp:>22}")
        best = max((r["speedup"], k) for k, r in rows.items() if r["speedup"] is not None)
        say(f"  best tiling: {best[1]}, {best[0]:.2f}x the fused pass's speed")
        results["sizes"][N] = rows
        tiled = N * N >= BLOCK_MIN_PIXELS
        ours = rows.get(DENOISE_TILING)
        if tiled and ours is not None:
            targets.append((f"{N}^2 (denoise tiles it): {DENOISE_TILING} runs "
                            f"{ours['speedup']:.2f}x the fused pass's speed",
                            ours["speedup"] > 1.0, "> 1.0x"))
        elif not tiled:
            targets.append((f"{N}^2 (denoise keeps the fused pass): the best tiling runs "
                            f"{best[0]:.2f}x its speed", best[0] <= 1.0, "<= 1.0x"))
        targets.append((f"{N}^2: every tiling gives the fused pass's bits",
                        all(r["same_bits"] for r in rows.values() if r["same_bits"] is not None),
                        "all"))
    report_targets(results, targets, say)
    return results


def _restart(state):
    """A fresh heavy-ball state in place: no steps taken, the momentum zero."""
    state.t = 0
    for a in state.arrays:
        a[...] = 0.0


class _Repeated:
    """A candidate called ``reps`` times per timed call (the small image)."""

    def __init__(self, fn, reps):
        self.fn, self.reps = fn, reps

    def __call__(self):
        for _ in range(self.reps):
            self.fn()
        self.result = self.fn.result
