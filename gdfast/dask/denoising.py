"""gdfast.dask.denoise: gdfast.denoise's iterations over a chunked array, in sweeps on Dask.

The run is the in-memory run's, bit for bit (the iterate; the energies are
summed in another order): the steps are cut into sweeps of at most
``sweep`` iterations (each stage's steps in sweeps of equal length, within
one: 64 steps at sweep=50 are two sweeps of 32, less halo work than 50 and
14), each sweep one task per chunk (gdfast.dask.tiles), the iterate and
state kept in the workers' memory when they hold them (gdfast.dask.resident:
only halos move, the work group is the checkpoint), else double-buffered in
a zarr group on disk (gdfast.dask.workdir). Between sweeps the client applies denoise's stopping
rules to every iterate of the sweep, in order; a rule that fires inside a
sweep re-runs the sweep's start for the iterations up to there. Sweeps end
where an eps stage starts, so a sweep's tasks run one stage.
"""
import math
import os
import shutil
import time

import dask
import dask.array as da
import numpy as np
import zarr

from .. import _validation as check
from .._denoise import checked_method, checked_settings, stages_of
from .._denoise import denoise as gdfast_denoise
from .._run import (
    History,
    OptimizeResult,
    Status,
    deferred_interrupt,
    energy_status,
    progress_bar,
    run_result,
)
from ..checkpoint import CheckpointError, optimizer_fingerprint, stage_start
from ..optimizers import Optimizer
from . import workdir
from .resident import InMemory
from .tiles import Sweep, chunk_slices, run_chunk

# sweep='auto': the longest sweep whose redundant work ((c + 2 (K + 1)) /
# c)^d - 1 stays within SWEEP_REDUNDANCY - 1, at most MAX_SWEEP: a sweep's
# read and write of the work group cost about as much as 8 iterations at
# 512^3 on the project's machine (measured per task), so fewer, longer
# sweeps win until the halo's work catches up (docs/benchmarks.md)
SWEEP_REDUNDANCY = 1.4
MAX_SWEEP = 64
NOMINAL_SWEEP = 8
# lam='auto': chosen on the central crop of this side, by ndim (2 MiB and
# 16 MiB of float64; SURE's dozen solves on it take seconds)
AUTO_CROP = {2: 512, 3: 128}
# chunks='auto': a task's arrays (tiles of the iterate, its copy, f and the
# state) take at most TASK_MEMORY_SHARE of what a worker thread's memory
# limit leaves above WORKER_BASELINE (a worker with numpy, numba, dask,
# zarr and gdfast's kernels loaded: 225 MB measured), or
# DEFAULT_TASK_MEMORY without a limit; a split axis's side is at least
# MIN_SIDE_HALOS halos, so that the redundant work ((c + 2h) / c - 1 per
# split axis) stays at most a half
TASK_MEMORY_SHARE = 0.3
WORKER_BASELINE = 320 << 20
MIN_TASK_MEMORY = 16 << 20
DEFAULT_TASK_MEMORY = 1 << 30
MIN_SIDE_HALOS = 4
# in memory (gdfast.dask.resident): sweep='auto' takes the longest K with at
# most 10% redundant work (a sweep costs only a copy of each tile there, and
# the halos' exchange); the work takes at most IN_MEMORY_SHARE of the
# workers' memory above their baseline (distributed spills to disk from 60%)
IN_MEMORY_REDUNDANCY = 1.1
IN_MEMORY_SHARE = 0.6
# a sweep on a distributed cluster that has had no worker for this long
# stops the run (NoWorkers): workers killed (a memory limit below their
# baseline, Ctrl-C in their process group) would otherwise be waited for
# forever
NO_WORKER_TIMEOUT = 30.0
# a run stopped while its tasks store f waits this long at most for the
# started ones before it removes the store they write into
SETTLE_TIMEOUT = 10.0
WORKER_POLL = 1.0


class NoWorkers(RuntimeError):
    """The cluster has had no worker for NO_WORKER_TIMEOUT seconds."""


def denoise(f, lam: "float | str" = "auto", eps: float | None = None,
            method: "str | Optimizer" = "momentum", max_iter: int = 300, tol: float = 1e-7,
            anisotropic: bool = False, *, store: "str | os.PathLike", sweep: "int | str" = "auto",
            chunks="auto", resume: bool = False, progress: bool | str = False,
            sigma: float | None = None, in_memory: "bool | str" = False,
            checkpoint_every: int | None = None) -> OptimizeResult:
    """gdfast.denoise on Dask: the same iterates, for arrays larger than memory.

    Parameters
    ----------
    f : array_like, shape (H, W) or (D, H, W)
        A dask array, a zarr array or any array (numpy: chunked by
        ``chunks``); real, finite (checked while it is copied into the store).
        Irregular chunks are made regular (each axis's first chunk size):
        zarr's chunks are.
    lam, eps, method, max_iter, tol, anisotropic, sigma
        As in `gdfast.denoise`, but lam='auto' (the default) is chosen on the
        central crop of f (``AUTO_CROP``: 512 pixels a side in 2-D, 128 in 3-D,
        read into memory): ``gdfast.denoise(crop, lam='auto', sigma=sigma)``'s
        lam (SURE over the whole of f would take a dozen distributed runs).
        The result records it (lam, sigma, sigma_low, sigma_read_from, guard,
        sure: the crop's; auto_crop).
    store : str or os.PathLike
        A folder for the zarr work group (new, empty, or one of an earlier
        run, which is replaced): f, the iterate and the optimizer state
        double-buffered, and the progress (``gdfast.dask.workdir``). Needs
        2 + 2 * (state arrays) + 1 arrays of f's size on disk (momentum: 5).
    sweep : int or 'auto', default 'auto'
        Iterations per sweep at most (K >= 1; a stage's steps are cut into
        sweeps of equal length, within one): each task reads its chunk with a
        halo of K + 1 and runs K iterations; the redundant work is
        ``((c + 2 (K + 1)) / c)^d - 1`` for chunks of side c split along d
        axes, against one read and write of the arrays per sweep. 'auto':
        ``auto_sweep``, the longest K with at most 40% redundant work (slabs of
        256 planes: K = 50).
    chunks : 'auto', None or tuple of int, default 'auto'
        The chunks the sweeps run on (one task each): 'auto' (see
        ``auto_chunks``: slabs of whole planes, or rows, as thick as a task's
        memory allows; then pencils, then cubes), None (f's own chunks), or a
        chunk shape; f is rechunked to them on the way into the store.
    resume : bool, default False
        Go on from the last complete sweep stored in ``store`` (the same f,
        lam, eps, method and anisotropic, else
        `gdfast.checkpoint.CheckpointError`); sweep and max_iter may differ.
    progress : bool or str, default False
        True (or a label) shows a tqdm bar, advanced after every sweep.
    in_memory : 'auto', True or False, default False
        Keep f, the iterate and the state in the workers' memory between
        sweeps (gdfast.dask.resident: one part per chunk, only the halos move
        between neighbouring chunks; the work group is the start and the
        checkpoint), or in the zarr work group (False: every sweep writes
        and reads it; out of core). 'auto': in memory when a distributed
        Client is active and its workers' memory limits hold the work
        (``holds_in_memory``); True needs a Client. Same bits either way.
        Not the default yet: a Ctrl-C while a run's work group is being
        created can leave it without a record (the CLI's Ctrl-C test of a
        multi-channel OME-Zarr failed 1 run in 4 with 'auto'), and the
        in-memory sweeps are not yet at their speed target
        (docs/benchmarks.md, ``gdfast bench dask``).
    checkpoint_every : int or None, default None
        In memory: write the work group (the iterate and state, the record)
        every this many sweeps; None: at the end only (and on Ctrl-C). On
        disk every sweep is a checkpoint.

    Returns
    -------
    OptimizeResult
        As `gdfast.denoise`'s, with x a dask array of the result, read from the
        store (it stays valid until the store is used for another run:
        ``x.to_zarr(...)`` keeps it), jac None, nfev the iterates evaluated, and
        ``lam``, ``eps``, ``sweeps`` (the sweeps run), ``sweep`` (K) and
        ``chunks``.

    Notes
    -----
    The tasks run on the current Dask scheduler: a distributed Client if one is
    active (``with distributed.Client(...)``), else dask's threads.

    x equals ``gdfast.denoise(f, lam, eps, method, max_iter, tol=0,
    anisotropic)`` bit for bit for any chunks and sweep; with tol > 0 the
    energies (summed chunk by chunk) may differ in the last bits, and the run
    stop one iterate apart when a change is within rounding of tol.

    Ctrl-C stops after the sweep in progress (status 'interrupted'; resume goes
    on from it).
    """
    x = _as_dask_array("f", f, None if isinstance(chunks, str) else chunks)
    lam, sigma, eps, tol, max_iter, anisotropic = checked_settings(lam, sigma, eps, tol,
                                                                   max_iter, anisotropic)
    checked_method(method)
    if sweep != "auto":
        sweep = check.whole_number("sweep", sweep, 1)
    resume = check.boolean("resume", resume)
    if isinstance(in_memory, str):
        if in_memory != "auto":
            raise ValueError(f"in_memory must be 'auto', True or False, got {in_memory!r}")
    else:
        in_memory = check.boolean("in_memory", in_memory)
    if checkpoint_every is not None:
        checkpoint_every = check.whole_number("checkpoint_every", checkpoint_every, 1)
    client = _client()
    if in_memory is True and client is None:
        raise ValueError("in_memory=True needs a distributed Client (with "
                         "distributed.Client(...)): the parts live in its workers")
    if isinstance(chunks, str) and chunks != "auto":
        raise ValueError(f"chunks must be 'auto', None or a chunk shape, got {chunks!r}")
    path = workdir.store_path(store)
    with workdir.locked(path):
        workdir.check_store(path, resume)
        _refuse_reading_from(path, x)
        return _denoise_in(path, x, lam, sigma, eps, method, max_iter, tol, anisotropic, sweep,
                           chunks, resume, progress, client, in_memory, checkpoint_every)


def _client():
    """The active distributed Client, or None."""
    try:
        from distributed import get_client
        return get_client()
    except (ImportError, ValueError):
        return None


def _settle(client, timeout=SETTLE_TIMEOUT):
    """Wait (at most ``timeout`` seconds) until the cluster's workers run no
    task: cancelled tasks that had started run to their end (the scheduler
    forgets them at once, the workers do not)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not any(client.run(_executing).values()):
                return
        except Exception:                 # a worker gone: nothing of it to wait for
            return
        time.sleep(0.02)


def _executing(dask_worker):
    """On a worker: the tasks it is running (cancelled ones too)."""
    return dask_worker.state.executing_count


def _denoise_in(path, x, lam, sigma, eps, method, max_iter, tol, anisotropic, sweep, chunks,
                resume, progress, client, in_memory, checkpoint_every):
    """denoise's run, its arguments checked and the store locked."""
    auto = lam == "auto"
    choice = {}
    if auto:
        chosen = gdfast_denoise(central_crop(x).compute(), "auto", eps,
                                anisotropic=anisotropic, max_iter=0, sigma=sigma)
        lam, sigma = chosen.lam, chosen.sigma
        choice = {k: chosen[k] for k in ("sigma_low", "sigma_read_from", "guard", "sure")}
    stages = stages_of(lam, eps, method, x.ndim)
    state_names = _state_names(stages)
    if chunks == "auto":
        budget, threads = _task_memory_and_threads()
        k = NOMINAL_SWEEP if sweep == "auto" else sweep
        x = x.rechunk(auto_chunks(x.shape, k + 1, 3 + len(state_names), budget, threads))
        if sweep == "auto":           # the chunks again, for the halo of the sweep they allow
            k = auto_sweep(tuple(c[0] for c in x.chunks), x.shape)
            x = x.rechunk(auto_chunks(x.shape, k + 1, 3 + len(state_names), budget, threads))
    auto_k = sweep == "auto"
    if auto_k:
        sweep = auto_sweep(tuple(c[0] for c in x.chunks), x.shape)
    chunk = tuple(c[0] for c in x.chunks)
    if isinstance(progress, str):
        bar = progress_bar(True, max_iter, progress)
    else:
        bar = progress_bar(progress, max_iter, "denoise")
    try:
        if resume:
            record = workdir.read(path)      # the stored chunks: f's digest is taken in them
            chunk = tuple(record["chunk"])
            if list(x.shape) != record["fingerprint"]["shape"]:
                raise CheckpointError(f"{path} was made by a run on shape "
                                      f"{tuple(record['fingerprint']['shape'])}, f has shape "
                                      f"{x.shape}")
            x = x.rechunk(chunk)
            workdir.check(path, record, _fingerprint(stages, lam, anisotropic, x,
                                                     _digest(x, None)))
            workdir.check_complete(path, _arrays_read(record["buffer"], state_names))
        if in_memory == "auto":
            in_memory = client is not None and holds_in_memory(
                client.scheduler_info(n_workers=-1)["workers"].values(), x.shape, chunk,
                sweep + 1, len(state_names))
        if in_memory and auto_k:
            sweep = auto_sweep(chunk, x.shape, IN_MEMORY_REDUNDANCY)
        if not resume:
            try:
                record = workdir.create(path, x.shape, chunk, None, state_names, sweep + 1)
                digest = _digest(x, path)
            except BaseException:     # f unreadable or not finite, Ctrl-C before the record
                if client is not None:    # names a work group: no store, once the tasks
                    _settle(client)       # storing f that had started are done with it
                shutil.rmtree(path, ignore_errors=True)
                raise
            record["fingerprint"] = _fingerprint(stages, lam, anisotropic, x, digest)
            record["ready"] = True
            workdir.save(path, record)
        engine: "OnDisk | InMemory"
        if in_memory:
            engine = InMemory(client, wait_futures, path, record, x.shape, chunk, state_names,
                              sweep, checkpoint_every)
        else:
            engine = OnDisk(path, record, x.shape, chunk, state_names)
        with deferred_interrupt() as interrupted:
            res = _sweeps(engine, record, x.shape, chunk, stages, lam, anisotropic, max_iter, tol,
                          sweep, bar, interrupted)
        res["in_memory"] = bool(in_memory)
    finally:
        bar.close()
    res["lam"], res["eps"], res["chunks"], res["sweep"] = lam, stages[-1][1], chunk, sweep
    if auto:
        res["sigma"], res["auto_crop"] = sigma, tuple((s.start, s.stop) for s in crop_of(x.shape))
        res.update(choice)
    return res


def crop_of(shape):
    """The slices of the central crop lam='auto' is chosen on: AUTO_CROP a side at most."""
    side = AUTO_CROP[len(shape)]
    return tuple(slice((n - min(n, side)) // 2, (n - min(n, side)) // 2 + min(n, side))
                 for n in shape)


def central_crop(x):
    """The central crop of the dask array x (lazy)."""
    return x[crop_of(x.shape)]


def auto_chunks(shape, halo, n_arrays, budget, threads):
    """chunks='auto': the chunk shape whose tiles (chunk + halo on each
    side, n_arrays float64 arrays) fit in ``budget`` bytes. Slabs (only the
    first axis split) when a slab can be MIN_SIDE_HALOS halos thick; else
    the first two axes split alike (pencils); else all (cubes, at least a
    halo a side). The split side is cut so that the chunks come in a
    multiple of ``threads`` (the tasks that run at once), as even as it can.
    """
    ndim = len(shape)
    for split in range(1, ndim + 1):
        rest = math.prod(shape[split:]) * 8 * n_arrays
        side = int((budget / rest) ** (1.0 / split)) - 2 * halo
        longest = max(shape[:split])
        if side >= longest:
            side = longest
        if side >= MIN_SIDE_HALOS * halo or side == longest or split == ndim:
            side = max(side, halo, 1)
            break
    per_axis = [-(-n // side) if a < split else 1 for a, n in enumerate(shape)]
    if split == 1:                               # slabs: a multiple of the threads in number
        count = -(-per_axis[0] // threads) * threads
        side = max(-(-shape[0] // min(count, shape[0])), 1)
    return tuple(min(side, n) if a < split else n for a, n in enumerate(shape))


def auto_sweep(chunk, shape, redundancy=SWEEP_REDUNDANCY):
    """sweep='auto': the largest K <= MAX_SWEEP with ((c + 2 (K + 1)) / c)^d
    <= redundancy (SWEEP_REDUNDANCY on disk, IN_MEMORY_REDUNDANCY in
    memory), c the smallest side of the d split axes (at least 1;
    MAX_SWEEP when no axis is split)."""
    split = [c for c, n in zip(chunk, shape) if c < n]
    if not split:
        return MAX_SWEEP
    per_axis = redundancy ** (1.0 / len(split)) - 1.0
    return max(1, min(MAX_SWEEP, int(per_axis * min(split) / 2.0) - 1))


def holds_in_memory(workers, shape, chunk, halo, n_state):
    """in_memory='auto': True when the workers (scheduler_info's records:
    memory_limit, nthreads) hold the in-memory path's arrays: f's tiles
    (chunk + halo), the iterate and n_state state arrays over the tiles twice
    (a sweep's parts and the next's), and every running task's tile arrays, within
    IN_MEMORY_SHARE of what their limits leave above WORKER_BASELINE. A
    worker without a limit (0 or None) makes it False: nothing tells."""
    workers = list(workers)
    if not workers or not all(w.get("memory_limit") for w in workers):
        return False
    tile = math.prod(min(c + 2 * halo, n) for c, n in zip(chunk, shape))
    redundancy = tile / math.prod(chunk)
    threads = sum(w["nthreads"] for w in workers)
    need = 8 * (math.prod(shape) * redundancy * (1 + 2 * (1 + n_state))
                + threads * tile * (4 + n_state))
    room = len(workers) * min(w["memory_limit"] - WORKER_BASELINE for w in workers)
    return need <= IN_MEMORY_SHARE * room


def _task_memory_and_threads():
    """(bytes a task may hold, tasks that run at once) on the current scheduler."""
    try:
        from distributed import get_client
        workers = get_client().scheduler_info(n_workers=-1)["workers"].values()
    except (ImportError, ValueError):
        return DEFAULT_TASK_MEMORY, os.cpu_count() or 1
    limits = [w["memory_limit"] / max(w["nthreads"], 1) for w in workers if w["memory_limit"]]
    threads = sum(w["nthreads"] for w in workers) or 1
    if not limits:
        return DEFAULT_TASK_MEMORY, threads
    return max((min(limits) - WORKER_BASELINE) * TASK_MEMORY_SHARE, MIN_TASK_MEMORY), threads


def _as_dask_array(name, f, chunks):
    """f as a float64 dask array with regular chunks (2-D or 3-D)."""
    if isinstance(f, zarr.Array):
        f = da.from_zarr(f)
    elif not isinstance(f, da.Array):
        a = np.asarray(f)
        f = da.from_array(a, chunks="auto" if chunks is None else chunks)
    if chunks is not None:
        f = f.rechunk(chunks)
    if f.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {f.dtype}")
    if f.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2-D image (H, W) or a 3-D volume (D, H, W), "
                         f"got shape {f.shape}")
    if f.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {f.shape}")
    chunk = tuple(c[0] for c in f.chunks)
    if any(any(c != first for c in cs[:-1]) or cs[-1] > first
           for cs, first in zip(f.chunks, chunk)):
        f = f.rechunk(chunk)
    return f.astype(np.float64)


def _zarr_sources(x):
    """The folders of the zarr arrays x's graph reads."""
    for v in dict(x.__dask_graph__()).values():
        if isinstance(v, zarr.Array):
            root = getattr(v.store, "root", None) or getattr(v.store, "path", None)
            if root is not None:
                yield os.path.realpath(os.path.join(str(root), v.path))


def _refuse_reading_from(path, x):
    """ValueError when f is read from inside the store (it would be replaced),
    through symbolic links too."""
    real = os.path.realpath(path)
    for source in _zarr_sources(x):
        if os.path.commonpath([source, real]) in (source, real):
            raise ValueError(f"f is read from {source}, inside (or holding) the store {path}: "
                             "the run would overwrite its own input; give another store")


def _arrays_read(buffer, state_names):
    """The arrays of the work group the next sweep reads, with its iterate
    in ``buffer`` (None: f, the start)."""
    if buffer is None:
        return ["f"]
    return ["f", f"u.{buffer}", *(f"{name}.{buffer}" for name in state_names)]


def _state_names(stages):
    """The names of the state arrays in use (the same for every stage)."""
    state = stages[0][2].init(np.zeros(1))
    return [name for name, a in zip(state.names, state.arrays) if a.size]


def _fingerprint(stages, lam, anisotropic, x, digest):
    return dict(shape=list(x.shape), f_sha256=digest, lam=lam, anisotropic=anisotropic,
                stages=[[first, e, optimizer_fingerprint(opt)] for first, e, opt in stages])


def _store_chunk(path, index, chunk, block):
    """Write one chunk of f into the store; its digest, and whether it is finite."""
    block = np.ascontiguousarray(block, dtype=np.float64)
    finite = bool(np.isfinite(block).all())
    if finite:
        zarr.open_group(path, mode="r+")["f"][chunk] = block
    return workdir.chunk_digest(block), finite, index


def _digest(x, path):
    """f's digest (chunk by chunk, in C order of the chunk grid); with a
    path, f is also written into the store. ValueError when f holds NaN or inf."""
    blocks = x.to_delayed()
    chunk = tuple(c[0] for c in x.chunks)
    tasks = []
    for index in np.ndindex(blocks.shape):
        if path is None:
            tasks.append(dask.delayed(lambda b, i: (workdir.chunk_digest(b),
                                                    bool(np.isfinite(b).all()), i))(
                blocks[index], index))
        else:
            tasks.append(dask.delayed(_store_chunk)(path, index,
                                                    chunk_slices(x.shape, chunk, index),
                                                    blocks[index]))
    results = compute(tasks)
    bad = [i for _, finite, i in results if not finite]
    if bad:
        raise ValueError(f"f must hold only finite numbers; NaN or inf in chunk {bad[0]} (of "
                         f"{len(results)}, chunks {chunk})")
    return workdir.digest_of([d for d, _, _ in results])


def compute(tasks):
    """The results of the delayed ``tasks``, on the current scheduler. On a
    distributed Client, NoWorkers when the cluster has had no worker for
    NO_WORKER_TIMEOUT seconds (the tasks cancelled)."""
    try:
        from distributed import get_client
        client = get_client()
    except (ImportError, ValueError):
        return dask.compute(*tasks)
    return wait_futures(client, client.compute(list(tasks)))


def wait_futures(client, futures):
    """The results of ``futures`` on ``client``: NoWorkers when the cluster
    has had no worker for NO_WORKER_TIMEOUT seconds (the futures cancelled,
    as on any error)."""
    from distributed import wait
    alone_since = None
    try:
        while True:
            try:
                wait(futures, timeout=WORKER_POLL)
                break
            except TimeoutError:
                pass
            if client.nthreads():
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > NO_WORKER_TIMEOUT:
                raise NoWorkers(f"the Dask cluster has had no worker for {NO_WORKER_TIMEOUT:.0f} "
                                "s (killed, or their memory limit below what a worker needs); "
                                "the sweep in progress was stopped")
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def sweep_length(rest, sweep):
    """The next sweep's iterations when ``rest`` remain in the stage: the
    rest cut into the fewest sweeps of at most ``sweep``, of equal length
    within one (64 at sweep=50: 32, then 32)."""
    return -(-rest // -(-rest // sweep)) if rest > 0 else 0


def _sum_records(parts, n):
    """The chunks' records of a sweep: E summed over the chunks in C order
    of the grid, max|g| their largest (NaN when one is NaN)."""
    records = np.zeros((n + 1, 2))
    for part in parts:
        records[:, 0] += part[:, 0]
        records[:, 1] = np.where(np.isnan(part[:, 1]) | (part[:, 1] > records[:, 1]),
                                 part[:, 1], records[:, 1])
    return records


class OnDisk:
    """The sweeps' arrays in the zarr work group (the engine interface
    _sweeps drives, as gdfast.dask.resident.InMemory's): ``run`` a sweep
    from the current iterate into the other buffer, ``accept`` it,
    ``non_finite``, ``save`` the record after every sweep."""

    def __init__(self, path, record, shape, chunk, state_names):
        self.path, self.record, self.shape, self.chunk = path, record, shape, chunk
        self.state_names = state_names
        self.buffer = record["buffer"]

    def source(self):
        return "f" if self.buffer is None else f"u.{self.buffer}"

    def target(self):
        return 0 if self.buffer != 0 else 1

    def run(self, spec):
        grid = tuple(-(-s // c) for s, c in zip(self.shape, self.chunk))
        return compute([dask.delayed(run_chunk, pure=False)(spec, index)
                        for index in np.ndindex(grid)])

    def accept(self):
        self.buffer = self.target()

    def state_source(self):
        return self.buffer

    def non_finite(self):
        workdir.check_complete(self.path, _arrays_read(self.buffer, self.state_names))

    def save(self, fields, final):
        self.record.update(buffer=self.buffer, **fields)
        workdir.save(self.path, self.record)


def _sweeps(engine, record, shape, chunk, stages, lam, anisotropic, max_iter, ftol, sweep, bar,
            interrupted):
    """The loop: sweeps, denoise's stopping rules on every iterate, the
    engine's save after every sweep. Returns the OptimizeResult."""
    starts = [s[0] for s in stages]
    history = History(max_iter)
    history.restore(np.array(record["fun_history"], dtype=np.float64),
                    np.array(record["grad_norm_history"], dtype=np.float64))
    nit, nfev = record["nit"], record["nfev"]
    e_prev = history.fun()[-1] if history.size else None
    n_sweeps = 0
    status = None

    def run(n, stage_first, stage):
        nonlocal n_sweeps
        n_sweeps += 1
        fresh = nit == stage_first
        _, eps, optimizer = stage
        spec = Sweep(engine.path, record["run"], tuple(shape), tuple(chunk),
                     "f" if engine.buffer is None else f"u.{engine.buffer}",
                     0 if engine.buffer != 0 else 1, None if fresh else engine.state_source(),
                     lam, eps,
                     anisotropic, optimizer, nit - stage_first, n)
        return _sum_records(engine.run(spec), n)

    while status is None:
        first = stage_start(starts, nit if nit < max_iter else max(nit - 1, 0))
        stage = stages[starts.index(first)]
        later = [s for s in starts if s > nit]
        n = sweep_length(max(min(max_iter, later[0] if later else max_iter) - nit, 0), sweep)
        records = run(n, first, stage)
        stop_at = None
        for j in range(n + 1):
            k = nit + j
            if j == n and k < max_iter:
                break                            # the next sweep evaluates it (next stage's eps)
            e, g_norm = records[j]
            if not (math.isfinite(e) and math.isfinite(g_norm)):
                if k == 0:
                    raise ValueError(
                        f"the energy at the start (u = f) is not finite with lam={lam!r}, "
                        f"eps={stage[1]!r}: float64 overflows at this scale; rescale f to "
                        "about [0, 1] (lam and eps with it) or lower lam")
                status, stop_at = Status.NON_FINITE, k - 1
                engine.non_finite()
                break
            nfev += 1
            history.record(e, g_norm)
            if k > 0:
                bar.update(e)
            fresh = k == 0 or (k == first and k < max_iter)
            status = energy_status(g_norm, e if e_prev is None else e_prev, e,
                                   0.0 if fresh else ftol)
            e_prev = e
            if status is not None:
                stop_at = k
                break
            if k >= max_iter:
                status, stop_at = Status.MAX_ITER, k
                break
        if status is None and not (math.isfinite(records[n, 0])
                                   and math.isfinite(records[n, 1])):
            status, stop_at = Status.NON_FINITE, nit + n - 1   # the next iterate is not finite
            engine.non_finite()
        if status is not None:
            # iterate stop_at is the result: the sweep's start (the current
            # iterate), its end (the sweep run), or in between (the start
            # run again up to it)
            steps = stop_at - nit
            if steps < 0:                        # a stage's first energy overflowing alone
                raise RuntimeError("the iterate became non-finite where an eps stage starts; "
                                   f"run again with max_iter={stop_at}")
            if steps > 0:
                if steps != n:
                    run(steps, first, stage)
                engine.accept()
            nit = stop_at
            break
        nit = nit + n
        engine.accept()
        engine.save(dict(nit=nit, nfev=nfev, fun_history=history.fun().tolist(),
                         grad_norm_history=history.grad_norm().tolist()), False)
        if interrupted():
            status = Status.INTERRUPTED
            e, g_norm = records[n]
            history.record(e, g_norm)
            nfev += 1
            break
    engine.save(dict(nit=nit, nfev=nfev, fun_history=history.fun()[:nit].tolist(),
                     grad_norm_history=history.grad_norm()[:nit].tolist()), True)
    fun = history.fun()[nit] if nit < history.size else math.nan
    source = "f" if engine.buffer is None else f"u.{engine.buffer}"
    x = da.from_zarr(zarr.open_group(engine.path, mode="r")[source])
    res = run_result(x, fun, None, nit, nfev, 0, status, history)
    res["sweeps"] = n_sweeps
    return res
