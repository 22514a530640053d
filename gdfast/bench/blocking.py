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

For each --volumes side N (default 128 and 256), the same on an N^3 volume:
the fused 3-D pass (tv_descent_step_3d_parallel, gdfast.denoise's) against
kernels.tv_tiles.tv_descent_tiled_3d for each --volume-sweeps K and
--bricks P x R (tiles of P planes by R whole rows; R = N: slabs of P whole
planes), the energies from the tiles' row sums (tv_tiles.volume_records).
gdfast.denoise does not take the 3-D tiled path (yet): these rows tell
where it would win. Target (issue 32): the best tiling >= 1.2x the fused
pass from 256^3 on.

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
from ..kernels import tv_tiles
from ..kernels.function_refs import cacheable
from ..kernels.tv import ROW_SEGMENT, n_segments
from ..kernels.tv_descent import tv_descent_step_2d, tv_descent_workspace_2d
from .report import environment, fmt_time, machine_state, report_targets
from .stats import median_interval
from .timing import stream_triad_bandwidth, time_round_robin_samples

LAM, EPS, SIGMA, METHOD = 0.1, 0.03, 0.1, "momentum"
FUSED_BYTES = 40                 # read u, f, v; write u_next, v (bench denoise's count)
CACHED_SIDE = 256                # 256^2 x 4 arrays x 8 bytes = 2 MiB: in a core's L2
DENOISE_TILING = f"tiled K={BLOCK_ITERATIONS} c={BLOCK_TILE}"    # gdfast.denoise's choice


class Fused:
    """``iterations`` fused passes from f (2-D or 3-D), as gdfast.denoise runs them."""

    def __init__(self, f, iterations, parallel=True):
        self.f, self.iterations = f, iterations
        self.objective = TVObjective(f, LAM, EPS, False)
        if not parallel and f.ndim == 2:
            self.objective.descent = tv_descent_step_2d
            self.objective.work = tv_descent_workspace_2d(f.shape)
        self.opt = default_optimizer(METHOD, LAM, EPS, f.ndim)
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


class Tiled3D:
    """``iterations`` iterations on a volume by tiles of ``tile`` = (planes,
    rows, columns), K per block (tv_tiles.tv_descent_tiled_3d, then the
    energies from its row sums by tv_tiles.volume_records)."""

    def __init__(self, f, iterations, K, tile):
        self.f, self.iterations, self.K, self.tile = f, iterations, K, tile
        self.objective = TVObjective(f, LAM, EPS, False)
        self.opt = default_optimizer(METHOD, LAM, EPS, 3)
        self.u, self.u_next = np.empty_like(f), np.empty_like(f)
        self.state, self.state_next = self.opt.init(f.ravel()), self.opt.init(f.ravel())
        D, H, W = f.shape
        P, R, C = tile
        self.tile_records = np.empty((-(-D // P) * -(-H // R) * -(-W // C), K, 2))
        self.row_sums = np.empty((K, D, H, n_segments(W)))

    def block(self, u, u_next, state, state_next):
        """K iterations: u_next, state_next <- iterate t + K; (K, 2) records."""
        opt, K, (P, R, C) = self.opt, self.K, self.tile
        lrs = np.array([opt.lr(state.t + j + 1) for j in range(K)], dtype=np.float64)
        tv_tiles.tv_descent_tiled_3d(u, u_next, self.f, LAM, EPS, False,
                                     cacheable(opt.rule.step), state.arrays, state_next.arrays,
                                     state.t, lrs, opt.hyper, P, R, C, self.tile_records,
                                     self.row_sums)
        records = np.empty((K, 2))
        tv_tiles.volume_records(self.tile_records, self.row_sums, u.shape, records)
        state_next.t = state.t + K
        return records

    def __call__(self):
        u, u_next, state, state_next = self.u, self.u_next, self.state, self.state_next
        u[...] = self.f
        _restart(state)
        records = []
        for _ in range(0, self.iterations, self.K):
            records.append(self.block(u, u_next, state, state_next))
            u, u_next = u_next, u
            state, state_next = state_next, state
        self.result, self.records = u, np.concatenate(records)

    def bytes_per_pixel_iteration(self, shape):
        """Main-memory bytes per voxel-iteration: u, f and the momentum read
        over each tile and its halo, u_next and the momentum written over its
        own voxels, once per K iterations."""
        h = self.K + 1
        extent = 1
        for n, a in zip(shape, self.tile):
            extent *= sum(min(r + a, n) - r + min(h, r) + min(h, max(n - r - a, 0))
                          for r in range(0, n, a))
        count = shape[0] * shape[1] * shape[2]     # (the tiles' extents: a product of axes)
        return (3 * 8 * extent + 2 * 8 * count) / count / self.K


def run_blocking_benchmark(sizes=(512, 1024, 2048, 4096), sweeps=(16, 32), tiles=(256, 512),
                           slabs=(256,), iterations=64, rounds=5, say=print, volumes=(),
                           volume_sweeps=(4, 8), bricks=((16, 32), (32, 64), (32, 0))):
    """Measure and print the figures; return them as a dict. volumes: the
    3-D sides; bricks: (planes, rows) of the 3-D tiles, rows 0 = the
    volume's side (slabs of whole planes)."""
    if sizes and any(iterations % K for K in sweeps):
        raise ValueError(f"iterations: expected a multiple of every sweep {sweeps}, "
                         f"got {iterations}")
    if any(c % ROW_SEGMENT for c in tiles):
        raise ValueError(f"tiles: expected multiples of {ROW_SEGMENT} (the energies' row "
                         f"segments), got {tiles}")
    if volumes and any(iterations % K for K in volume_sweeps):
        raise ValueError(f"iterations: expected a multiple of every volume sweep "
                         f"{volume_sweeps}, got {iterations}")
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
    if volumes:
        results["volumes"] = {}
    for N in volumes:
        rows = _volume_rows(N, volume_sweeps, bricks, iterations, rounds, triad, say)
        results["volumes"][N] = rows
        tiled = {k: r for k, r in rows.items() if r["speedup"] is not None}
        if N >= 256 and tiled:
            best = max((r["speedup"], k) for k, r in tiled.items())
            targets.append((f"{N}^3: the best 3-D tiling ({best[1]}) runs {best[0]:.2f}x "
                            f"the fused pass's speed", best[0] >= 1.2, ">= 1.2x"))
        targets.append((f"{N}^3: every 3-D tiling gives the fused pass's bits",
                        all(r["same_bits"] for r in tiled.values()), "all"))
    report_targets(results, targets, say)
    return results


def _volume_rows(N, sweeps, bricks, iterations, rounds, triad, say):
    """The 3-D candidates at N^3: timed, printed, returned by name."""
    f = add_noise(_volume_phantom(N), SIGMA, seed=0)
    cands = {"fused (denoise's pass)": Fused(f, iterations)}
    for K in sweeps:
        for P, R in bricks:
            R = R or N
            name = (f"tiled K={K} slabs of {P} planes" if R >= N
                    else f"tiled K={K} bricks {P}x{R}x{N}")
            cands[name] = Tiled3D(f, iterations, K, (min(P, N), min(R, N), N))
    say(f"[{N}^3] {len(cands)} candidates ...")
    samples = time_round_robin_samples({k: (v, rounds) for k, v in cands.items()}, rounds)
    fused = cands["fused (denoise's pass)"]
    base = np.median(samples["fused (denoise's pass)"])
    say(f"  {'candidate':<34} {'per iteration':>13} {'ns/vx-it':>9} {'B/vx-it':>8} "
        f"{'GB/s':>6} {'% triad':>8} {'speed / fused (95%)':>22}")
    rows = {}
    for name, cand in cands.items():
        ts = np.array(samples[name])
        vx_its = iterations * N ** 3
        per_it = np.median(ts) / iterations
        ns = np.median(ts) / vx_its * 1e9
        bpx = (cand.bytes_per_pixel_iteration(f.shape) if isinstance(cand, Tiled3D)
               else FUSED_BYTES)
        gbps = bpx * vx_its / np.median(ts) / 1e9
        ratio = np.median(base / ts) if isinstance(cand, Tiled3D) else None
        lo, hi = median_interval(base / ts) if ratio is not None else (None, None)
        same = (bool(np.array_equal(cand.result, fused.result)
                     and np.array_equal(cand.records, fused.records))
                if isinstance(cand, Tiled3D) else None)
        rows[name] = dict(seconds_per_iteration=per_it, ns_per_voxel_iteration=ns,
                          bytes_per_voxel_iteration=bpx, GBps=gbps,
                          triad_fraction=gbps * 1e9 / triad,
                          speedup=ratio, speedup_interval=(lo, hi), same_bits=same)
        sp = (f"{ratio:.2f}x ({lo:.2f}..{hi:.2f})" + ("" if same else " BITS DIFFER")
              if ratio is not None else "")
        say(f"  {name:<34} {fmt_time(per_it):>13} {ns:9.2f} {bpx:8.1f} {gbps:6.1f} "
            f"{100 * gbps * 1e9 / triad:7.0f}% {sp:>22}")
    tiled = [(r["speedup"], k) for k, r in rows.items() if r["speedup"] is not None]
    if tiled:
        best = max(tiled)
        say(f"  best 3-D tiling: {best[1]}, {best[0]:.2f}x the fused pass's speed")
    return rows


def _volume_phantom(N):
    """A piecewise-constant N^3 volume: a ball and a box on a background."""
    z, y, x = np.ogrid[:N, :N, :N]
    c = (N - 1) / 2
    v = np.full((N, N, N), 0.2)
    v[(z - c) ** 2 + (y - c) ** 2 + (x - c) ** 2 < (N / 3) ** 2] = 0.8
    v[N // 8:N // 3, N // 8:N // 3, N // 2:] = 0.5
    return v


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
