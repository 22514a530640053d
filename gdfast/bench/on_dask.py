"""`gdfast bench dask`: gdfast.dask.denoise beside the in-memory run, apply_parallel's seams,
out of core.

1. Throughput: a volume of --size^3 voxels (default 512^3) denoised for
   --iterations heavy-ball iterations (default 64, tol 0) by gdfast.denoise in memory
   (numba's threads) and by gdfast.dask.denoise on a LocalCluster of
   --workers worker processes of one thread each (loopback), f read from a
   zarr array on disk, three ways: the work group on disk between sweeps
   (in_memory=False), the work in the workers' memory (in_memory=True, the
   work group written at the end), and the same checkpointed every
   --checkpoint-every sweeps (default 8); rounds alternate the four. A dask run's time is
   end to end: storing f into the work group, every sweep, the record; its
   compile time is excluded (a small run first warms the workers' cache).
   Throughput is voxel-iterations per second; the result is checked to be
   the in-memory one's to the bit.
2. Seams: scikit-image's apply_parallel(denoise_tv_chambolle) on --seam-size^3
   in chunks of half its side (depth 0 and depth 8), --seam-iterations
   iterations (default 50), its time and its
   largest deviation from chambolle on the whole volume (same weight and
   iterations); beside gdfast.dask.denoise's deviation from gdfast.denoise.
3. Out of core (--out-of-core): a volume whose in-memory working set (f,
   two iterates, the momentum) is at least 1.5x this machine's RAM, f drawn
   lazily (never held), two sweeps, workers with a memory limit; their peak
   resident memory (VmHWM) and disk traffic (/proc/<pid>/io) are printed.
"""
import logging
import math
import os
import shutil
import statistics
import tempfile
import time

import numpy as np

from .report import environment, fmt_time, machine_state, report_targets
from .stats import median_interval

RATIO_TARGET = 0.6            # the work group on disk between sweeps
IN_MEMORY_TARGET = 0.9        # the work in the workers' memory
CHECKPOINTED_TARGET = 0.8     # the same, the work group written every --checkpoint-every sweeps


def dask_paths(every):
    """(name, in_memory, checkpoint_every, target) of the dask runs timed."""
    return [("on disk", False, None, RATIO_TARGET),
            ("in memory", True, None, IN_MEMORY_TARGET),
            (f"in memory, checkpoint every {every}", True, every, CHECKPOINTED_TARGET)]
OOC_FACTOR = 1.5
OOC_SWEEP = 8


def _peak_and_io():
    """On a worker: (VmHWM bytes, bytes read from and written to storage)."""
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
    io = {}
    with open("/proc/self/io") as fh:
        for line in fh:
            key, value = line.split(":")
            io[key] = int(value)
    return hwm, io["read_bytes"], io["write_bytes"]


def _cluster(workers, memory_limit=None):
    import distributed
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR,
                                       memory_limit=memory_limit or "auto")
    return cluster, distributed.Client(cluster)


def run_dask_benchmark(size=512, iterations=64, sweep="auto", workers=2, rounds=3, seam_size=256,
                       out_of_core=False, folder=None, say=print, seam_iterations=50,
                       checkpoint_every=8):
    """Run the suite; returns the figures as a dict (see the module docstring)."""
    import dask.array as da
    import zarr

    import gdfast
    import gdfast.dask
    results = dict(suite="dask", environment=environment(False),
                   settings=dict(size=size, iterations=iterations, sweep=sweep, workers=workers,
                                 rounds=rounds, seam_size=seam_size,
                                 seam_iterations=seam_iterations,
                                 checkpoint_every=checkpoint_every))
    say(f"gdfast bench dask: {results['environment']['summary']}; {workers} worker processes "
        f"of 1 thread on a LocalCluster (loopback)")
    results["machine"] = machine_state(say)
    work = tempfile.mkdtemp(prefix="gdfast-bench-dask-", dir=folder)
    targets = []
    try:
        if out_of_core:
            _check_room_for_out_of_core(work)
        lam, eps = 0.1, 0.01
        shape = (size,) * 3
        source = zarr.create_array(os.path.join(work, "f.zarr"), shape=shape,
                                   chunks=(min(64, size),) * 3, dtype="f8", compressors=None)
        rng = np.random.default_rng(0)
        for k in range(0, size, 64):
            source[k:k + 64] = rng.random((min(64, size - k), size, size))
        f = source[...]
        say(f"[1/3] throughput: {size}^3 voxels, {iterations} iterations (momentum, lam {lam}, "
            f"eps {eps}, tol 0), sweeps of {sweep}; {rounds} rounds alternating the in-memory "
            "run and the dask runs")
        cluster, client = _cluster(workers)
        paths = [(name, dict(in_memory=in_memory, checkpoint_every=every), target)
                 for name, in_memory, every, target in dask_paths(checkpoint_every)]
        try:
            store = os.path.join(work, "run")
            gdfast.denoise(f[:32, :32, :32], lam=lam, eps=eps, max_iter=2, tol=0)   # compile
            for _, kw, _ in paths:
                gdfast.dask.denoise(f[:32, :32, :32], lam, eps, max_iter=2, tol=0, store=store,
                                    sweep=1, chunks=(16, 32, 32), **kw)
            memory, times, phases = [], {name: [] for name, _, _ in paths}, []
            for r in range(rounds):
                t0 = time.perf_counter()
                want = gdfast.denoise(f, lam=lam, eps=eps, max_iter=iterations, tol=0)
                memory.append(time.perf_counter() - t0)
                say(f"  round {r + 1}: in memory {fmt_time(memory[-1])}")
                for name, kw, _ in paths:
                    t0 = time.perf_counter()
                    got = gdfast.dask.denoise(da.from_zarr(source), lam, eps, max_iter=iterations,
                                              tol=0, store=store, sweep=sweep, **kw)
                    times[name].append(time.perf_counter() - t0)
                    same = bool(np.array_equal(got.x.compute(), want.x))
                    say(f"    on dask, {name}: {fmt_time(times[name][-1])} ({got.sweeps} sweeps "
                        f"of up to {got.sweep} on chunks {got.chunks}); bit for bit: {same}")
                    phases.append(same)
                del want
        finally:
            client.close()
            cluster.close()
            for name in ("run", "f.zarr"):          # the disk goes to the out-of-core volume
                shutil.rmtree(os.path.join(work, name), ignore_errors=True)
        voxel_its = size ** 3 * iterations
        med_m = statistics.median(memory)
        say(f"  in memory: {fmt_time(med_m)} median, {voxel_its / med_m / 1e6:.1f} Mvoxel-it/s")
        results["throughput"] = dict(memory_seconds=memory, bitwise=all(phases))
        for name, _, target in paths:
            ratios = [m / d for m, d in zip(memory, times[name])]
            lo, hi = median_interval(ratios)
            med_d, med_r = statistics.median(times[name]), statistics.median(ratios)
            say(f"  on dask, {name}: {fmt_time(med_d)} median, {voxel_its / med_d / 1e6:.1f} "
                f"Mvoxel-it/s (f stored into the work group included); ratio to in memory "
                f"{med_r:.2f} median (per-round {lo:.2f}..{hi:.2f})")
            results["throughput"][name] = dict(dask_seconds=times[name], ratios=ratios,
                                               median_ratio=med_r)
            targets.append((f"throughput on dask, {name}, {med_r:.2f}x in-memory at {size}^3, "
                            f"{workers} workers", med_r >= target and all(phases),
                            f">= {target}x, bit for bit"))
        say(f"  every run bit for bit: {all(phases)}")
        del f
        results["seams"] = _seams(seam_size, lam, sweep, work, say, seam_iterations)
        if out_of_core:
            results["out_of_core"] = _out_of_core(work, lam, eps, sweep, workers, say)
            ooc = results["out_of_core"]
            targets.append((f"out of core: working set {ooc['working_set_ratio']:.2f}x RAM, "
                            f"worker peaks {max(ooc['peaks']) / 2**30:.2f} GiB under "
                            f"{ooc['limit'] / 2**30:.2f} GiB", ooc["working_set_ratio"]
                            >= OOC_FACTOR and max(ooc["peaks"]) < ooc["limit"],
                            f">= {OOC_FACTOR}x RAM, every worker under its limit"))
        else:
            say(f"[3/3] out of core: pass --out-of-core (minutes; disk: {1.25 * OOC_FACTOR:.2f}x "
                "RAM)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report_targets(results, targets, say)
    return results


def _seams(side, lam, sweep, work, say, iters=50):
    """apply_parallel(chambolle) per chunk against chambolle on the whole volume."""
    import dask.array as da

    import gdfast
    import gdfast.dask

    from .timing import skimage_available
    if not skimage_available():
        say("[2/3] seams: scikit-image not installed (pip install 'gdfast[bench]'); left out")
        return None
    from skimage.restoration import denoise_tv_chambolle
    from skimage.util import apply_parallel
    f = np.random.default_rng(1).random((side,) * 3)
    chunk = max(side // 2, 1)
    say(f"[2/3] seams: {side}^3, chunks of {chunk}^3; chambolle weight {lam}, {iters} "
        "iterations, against chambolle on the whole volume")
    t0 = time.perf_counter()
    whole = denoise_tv_chambolle(f, weight=lam, max_num_iter=iters)
    t_whole = time.perf_counter() - t0
    say(f"  chambolle, whole volume: {fmt_time(t_whole)}")
    out = dict(side=side, chunk=chunk, whole_seconds=t_whole)
    for depth in (0, 8):
        t0 = time.perf_counter()
        parts = apply_parallel(denoise_tv_chambolle, f, chunks=chunk, depth=depth,
                               mode="none", extra_keywords=dict(weight=lam, max_num_iter=iters))
        seconds = time.perf_counter() - t0
        dev = float(np.abs(parts - whole).max())
        say(f"  apply_parallel depth {depth}: {fmt_time(seconds)}, largest deviation from the "
            f"whole-volume result {dev:.3g}")
        out[f"apply_parallel_depth{depth}"] = dict(seconds=seconds, max_deviation=dev)
    want = gdfast.denoise(f, lam=lam, eps=lam / 100, max_iter=iters, tol=0)
    t0 = time.perf_counter()
    got = gdfast.dask.denoise(da.from_array(f, chunks=chunk), lam, lam / 100, max_iter=iters,
                              tol=0, store=os.path.join(work, "seams"), sweep=sweep, chunks=None)
    say(f"  (gdfast: sweeps of up to {got.sweep})")
    seconds = time.perf_counter() - t0
    dev = float(np.abs(got.x.compute() - want.x).max())
    say(f"  gdfast.dask.denoise, the same chunks ({iters} iterations, threads scheduler): "
        f"{fmt_time(seconds)}, largest deviation from gdfast.denoise {dev:.3g}")
    out["gdfast_dask"] = dict(seconds=seconds, max_deviation=dev)
    return out


def _out_of_core_volume():
    """(RAM, side, working set, work group bytes) of the out-of-core volume."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    side = math.ceil((OOC_FACTOR * ram / (4 * 8)) ** (1 / 3))
    return ram, side, 4 * 8 * side ** 3, 5 * 8 * side ** 3


def _check_room_for_out_of_core(work):
    """ValueError before any work when the folder cannot hold the out-of-core work group."""
    need = 1.05 * _out_of_core_volume()[3]
    free = shutil.disk_usage(work).free
    if free < need:
        raise ValueError(f"--folder: the out-of-core volume needs {need / 2**30:.1f} GiB free, "
                         f"{work} has {free / 2**30:.1f} GiB")


def _out_of_core(work, lam, eps, sweep, workers, say):
    """A volume whose in-memory working set is OOC_FACTOR x RAM, f drawn lazily.

    The working set of the in-memory run (denoise's default heavy ball) is
    f, two iterates and the momentum; the work group on disk holds f and two
    of each of the others (1.25x the working set). Two sweeps of OOC_SWEEP
    iterations (or --sweep) run, so the second reads the first's iterate
    and momentum back from disk.
    """
    import dask.array as da

    import gdfast.dask
    ram, side, working_set, _ = _out_of_core_volume()
    limit = 2 * 2**30
    sweep = OOC_SWEEP if sweep == "auto" else sweep
    free = shutil.disk_usage(work).free
    say(f"[3/3] out of core: {side}^3 voxels, working set (f, two iterates, momentum) "
        f"{working_set / 2**30:.1f} GiB = {working_set / ram:.2f}x RAM "
        f"({ram / 2**30:.1f} GiB); {workers} workers limited to {limit / 2**30:.1f} GiB; "
        f"2 sweeps of {sweep} iterations; disk free {free / 2**30:.1f} GiB")
    cluster, client = _cluster(workers, memory_limit=limit)
    try:
        before = client.run(_peak_and_io)
        f = da.random.RandomState(0).random_sample((side,) * 3, chunks=(64, 64, side))
        t0 = time.perf_counter()
        res = gdfast.dask.denoise(f, lam, eps, max_iter=2 * sweep, tol=0,
                                  store=os.path.join(work, "ooc"), sweep=sweep)
        seconds = time.perf_counter() - t0
        after = client.run(_peak_and_io)
    finally:
        client.close()
        cluster.close()
    peaks = [a[0] for a in after.values()]
    read = sum(a[1] - before[k][1] for k, a in after.items())
    written = sum(a[2] - before[k][2] for k, a in after.items())
    say(f"  {fmt_time(seconds)} ({res.sweeps} sweeps, chunks {res.chunks}, status {res.status}); "
        f"worker peaks {', '.join(f'{p / 2**30:.2f} GiB' for p in peaks)} (limit "
        f"{limit / 2**30:.1f} GiB); storage read {read / 2**30:.1f} GiB, written "
        f"{written / 2**30:.1f} GiB")
    return dict(side=side, working_set=working_set, ram=ram, working_set_ratio=working_set / ram,
                limit=limit, peaks=peaks, read_bytes=read, written_bytes=written,
                seconds=seconds)
