"""The task of one chunk in one sweep: read its tile, run the iterations, write its interior.

A sweep takes the iterate (and the optimizer state) from iterate k to k + n.
Each chunk of the image is one task: it reads its tile (the chunk and a halo
of n + 1 pixels on every side that is not the image's edge, from the zarr
arrays of the previous sweep), runs n fused iterations on it
(gdfast.kernels.tv_descent.tv_descent_steps_2d/3d) and writes the chunk's
own pixels of the new iterate and state into the other buffer. The halo's
edge is wrong from the first iteration on (it sees a Neumann boundary that
is not there) and the error moves inward one pixel per iteration, so the
chunk's pixels get the bits of the in-memory run; the energy and max|g| of
the chunk's pixels at iterates k .. k + n come back as the task's result
(they read one pixel further, hence n + 1).

A task reads only the previous sweep's buffers and writes only its own
chunk of the other buffer: it is a pure function of its zarr inputs, and a
task run twice (a worker lost, the scheduler retrying it) writes the same
bytes.
"""
from dataclasses import dataclass

import numpy as np
import zarr

from ..kernels import tv_descent
from ..kernels.function_refs import cacheable
from ..optimizers import Optimizer


@dataclass(frozen=True)
class Sweep:
    """What every task of one sweep needs (pickled to the workers).

    store        path of the zarr group (gdfast.dask.workdir); run: its run's token
    shape        the image's shape; chunk: the chunk shape (zarr's, regular)
    source       the array holding iterate k ('f' at k = 0, else 'u.0' or 'u.1')
    target       the buffer the sweep writes: 0 or 1 ('u.<target>', '<state>.<target>')
    state_source the buffer the state is read from (None: a fresh state, the
                 first sweep of a stage)
    lam, eps, anisotropic, optimizer   the stage's energy and optimizer
    t0           the stage's steps before the sweep; n: its iterations
    """
    store: str
    run: str
    shape: tuple
    chunk: tuple
    source: str
    target: int
    state_source: "int | None"
    lam: float
    eps: float
    anisotropic: bool
    optimizer: Optimizer
    t0: int
    n: int

    def halo(self):
        return self.n + 1


# the zarr arrays a worker process has opened, by (store, run, name): opening
# one reads its metadata (milliseconds); a run's arrays never change shape,
# and a new run in the same store has another token
_OPENED: dict[tuple[str, str, str], zarr.Array] = {}
_MAX_OPENED = 64


def opened(sweep, name):
    """The zarr array ``name`` of the sweep's work group, opened once per process."""
    key = (sweep.store, sweep.run, name)
    array = _OPENED.get(key)
    if array is None:
        if len(_OPENED) >= _MAX_OPENED:
            _OPENED.clear()
        array = _OPENED[key] = zarr.open_array(sweep.store, path=name, mode="r+")
    return array


def chunk_slices(shape, chunk, index):
    """The slices of chunk ``index`` (a tuple of chunk numbers) of an array."""
    return tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunk, shape))


def tile_of(sweep, index):
    """(own, tile, window, inner) of chunk ``index`` in a sweep: the chunk's
    slices, its tile's (the chunk and a halo of n + 1 within the image), the
    chunk within the tile as the kernel's window (w0, w1, ...) and as slices."""
    own = chunk_slices(sweep.shape, sweep.chunk, index)
    h = sweep.halo()
    tile = tuple(slice(max(s.start - h, 0), min(s.stop + h, n)) for s, n in zip(own, sweep.shape))
    window = tuple(v for s, t in zip(own, tile) for v in (s.start - t.start, s.stop - t.start))
    inner = tuple(slice(window[2 * a], window[2 * a + 1]) for a in range(len(own)))
    return own, tile, window, inner


def run_tile(sweep: Sweep, u, f, state_of, window):
    """The sweep's iterations on one tile, in place: u (float64, C-contiguous,
    the tile of iterate k) becomes iterate k + n; f the data over the tile;
    state_of(name) the tile of a state array (C order), or None for a fresh
    state (the first sweep of a stage). Returns (records, state): float64
    (n + 1, 2), (E, max|dE/du|) over the window at iterates k .. k + n, and
    the optimizer state over the tile after the sweep."""
    optimizer = sweep.optimizer
    state = optimizer.init(u.ravel())
    if state_of is not None:
        for name, a in zip(state.names, state.arrays):
            if a.size:
                a[...] = state_of(name).ravel()
    lrs = np.array([optimizer.lr(sweep.t0 + j + 1) for j in range(sweep.n)], dtype=np.float64)
    records = np.empty((sweep.n + 1, 2))
    arguments = (u, np.empty_like(u), f, sweep.lam, sweep.eps, sweep.anisotropic,
                 cacheable(optimizer.rule.step), state.arrays, sweep.t0, lrs, optimizer.hyper,
                 window, records)
    if u.ndim == 2:
        tv_descent.tv_descent_steps_2d(*arguments, None, tv_descent.tv_tile_workspace_2d(u.shape))
    else:
        tv_descent.tv_descent_steps_3d(*arguments, None, tv_descent.tv_tile_workspace_3d(u.shape))
    return records, state


def run_chunk(sweep: Sweep, index: tuple) -> np.ndarray:
    """Sweep the chunk ``index``; returns float64 (n + 1, 2): (E, max|dE/du|)
    over the chunk's pixels at iterates k .. k + n (E summed as
    tv_descent_steps sums it over its window)."""
    own, tile, window, inner = tile_of(sweep, index)
    u = np.ascontiguousarray(opened(sweep, sweep.source)[tile], dtype=np.float64)
    f = np.ascontiguousarray(opened(sweep, "f")[tile], dtype=np.float64)
    state_of = None
    if sweep.state_source is not None:
        def state_of(name):
            return opened(sweep, f"{name}.{sweep.state_source}")[tile]
    records, state = run_tile(sweep, u, f, state_of, window)
    if sweep.n:
        opened(sweep, f"u.{sweep.target}")[own] = u[inner]
        for name, a in zip(state.names, state.arrays):
            if a.size:
                opened(sweep, f"{name}.{sweep.target}")[own] = a.reshape(u.shape)[inner]
    return records
