"""gdfast.dask.denoise with the work in the workers' memory: halos exchanged, zarr the checkpoint.

When the cluster's memory holds f, the iterate and the optimizer state
(``gdfast.dask.denoising.holds_in_memory``), the sweeps keep them as Dask
futures in the workers, one per chunk:

    f part      the chunk's tile of f with the halo of the longest sweep
                (loaded once from the work group's f; f never changes)
    part        the chunk's own iterate and state arrays (``Part``)

A sweep is, per chunk, a task ``step`` that takes its own part, its f part
and the pieces its tile needs from the neighbouring chunks' parts (a task
``cut`` each, run where that part lives: only the halos move), assembles the
tile and runs the on-disk path's computation on it (gdfast.dask.tiles.run_tile,
the same function): the same bits for any chunks and K.

The zarr work group is the start and the checkpoint: a run starts from the
buffer its record names (f at the start), and the parts are written into the
other buffer every ``checkpoint_every`` sweeps, at the end and on Ctrl-C
(then the record names it, as the on-disk path's does after every sweep).
After a checkpoint the parts are loaded again from it, so that the lineage
Dask recomputes a lost worker's parts from starts at the last checkpoint
(or at f): a load carries a token written into the buffer's attributes with
the checkpoint, and a load recomputed after a later checkpoint replaced that
buffer raises CheckpointError instead of reading another iterate.
"""
import secrets
from dataclasses import dataclass

import numpy as np
import zarr

from ..checkpoint import CheckpointError
from . import workdir
from .tiles import Sweep, chunk_slices, opened, run_tile, tile_of

# the attribute of a buffer's iterate array naming the checkpoint it holds
TOKEN = "gdfast_checkpoint"


@dataclass
class Part:
    """One chunk's iterate and state arrays (by name; None: none yet) over a
    region of the image that holds the chunk, starting at ``start`` (a
    step's part keeps its whole tile: no copy of the chunk out of it), and
    the records of the sweep that made it (None for a loaded part)."""
    u: np.ndarray
    state: "dict[str, np.ndarray] | None"
    start: tuple
    records: "np.ndarray | None" = None

    def over(self, region):
        """The slices of the image's ``region`` in the part's arrays."""
        return tuple(slice(r.start - s, r.stop - s) for r, s in zip(region, self.start))


def place_of(store, run):
    """A Sweep naming only the work group (what tiles.opened reads)."""
    return Sweep(store, run, (), (), "f", 0, None, 0.0, 0.0, False, None, 0, 0)


def load_f(place, shape, chunk, index, halo):
    """The tile of f around chunk ``index`` with ``halo``, and its start."""
    own = chunk_slices(shape, chunk, index)
    tile = tuple(slice(max(s.start - halo, 0), min(s.stop + halo, n))
                 for s, n in zip(own, shape))
    return np.ascontiguousarray(opened(place, "f")[tile]), tuple(s.start for s in tile)


def load_part(place, shape, chunk, index, buffer, state_names, token):
    """Chunk ``index``'s part from the work group: the iterate of ``buffer``
    (None: f) and its state arrays. CheckpointError when the buffer no longer
    holds the checkpoint ``token`` (a later one replaced it)."""
    own = chunk_slices(shape, chunk, index)
    start = tuple(s.start for s in own)
    if buffer is None:
        return Part(np.ascontiguousarray(opened(place, "f")[own]), None, start)
    held = zarr.open_array(place.store, path=f"u.{buffer}", mode="r").attrs.get(TOKEN)
    if held != token:
        raise CheckpointError(f"{place.store}: buffer {buffer} no longer holds the checkpoint "
                              "this chunk was loaded from (a later checkpoint replaced it); "
                              "resume the run from the store (resume=True)")
    u = np.ascontiguousarray(opened(place, f"u.{buffer}")[own])
    return Part(u, {name: np.ascontiguousarray(opened(place, f"{name}.{buffer}")[own])
                    for name in state_names}, start)


def cut(part, region):
    """The piece of ``part`` over the image's ``region``: (region, iterate,
    state arrays), copies (only they travel to another worker)."""
    local = part.over(region)
    state = None if part.state is None else {k: a[local].copy() for k, a in part.state.items()}
    return region, part.u[local].copy(), state


def step(sweep, index, f_part, part, *pieces):
    """Chunk ``index``'s task in one sweep: its tile assembled from its own
    part and the neighbours' pieces, tiles.run_tile on it; the new Part."""
    own, tile, window, inner = tile_of(sweep, index)
    start = tuple(t.start for t in tile)
    shape = tuple(t.stop - t.start for t in tile)

    def local(region):
        return tuple(slice(r.start - s, r.stop - s) for r, s in zip(region, start))

    mine = part.over(own)
    u = np.empty(shape)
    u[local(own)] = part.u[mine]
    for region, piece, _ in pieces:
        u[local(region)] = piece
    f_tile, f_start = f_part
    f = np.ascontiguousarray(f_tile[tuple(slice(t.start - s, t.stop - s)
                                          for t, s in zip(tile, f_start))])
    state_of = None
    if sweep.state_source is not None:
        if part.state is None:
            raise ValueError("a sweep that continues a stage needs the state of the sweep before")

        def state_of(name):
            a = np.empty(shape)
            a[local(own)] = part.state[name][mine]
            for region, _, state in pieces:
                a[local(region)] = state[name]
            return a
    records, state = run_tile(sweep, u, f, state_of, window)
    arrays = {name: a.reshape(shape) for name, a in zip(state.names, state.arrays) if a.size}
    return Part(u, arrays, start, records)


def records_of(part):
    return part.records


def save_part(place, index, part, shape, chunk, buffer):
    """Write chunk ``index``'s part into ``buffer`` of the work group."""
    own = chunk_slices(shape, chunk, index)
    mine = part.over(own)
    opened(place, f"u.{buffer}")[own] = part.u[mine]
    for name, a in (part.state or {}).items():
        opened(place, f"{name}.{buffer}")[own] = a[mine]


class InMemory:
    """The sweeps' arrays in the workers' memory (gdfast.dask.denoising's
    engine interface: run, accept, non_finite, save, result).

    client       the distributed Client; wait(client, futures) its results
    path, record the work group and its record (saved at checkpoints)
    every        sweeps between checkpoints (None: at the end only)
    """

    def __init__(self, client, wait, path, record, shape, chunk, state_names, sweep, every):
        self.client, self.wait, self.path, self.record = client, wait, path, record
        self.shape, self.chunk, self.state_names, self.every = shape, chunk, state_names, every
        self.place = place_of(path, record["run"])
        grid = tuple(-(-s // c) for s, c in zip(shape, chunk))
        self.indices = list(np.ndindex(grid))
        self.halo = sweep + 1
        self.buffer = record["buffer"]
        self.sweeps = 0
        self.saved_nit = record["nit"]
        # chunk number i lives on worker i * workers // chunks (neighbours
        # together), a loose restriction: a lost worker's tasks go elsewhere
        workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
        self.homes = [workers[n * len(workers) // len(self.indices)]
                      for n in range(len(self.indices))]
        self.f_parts = [self._submit(n, load_f, self.place, shape, chunk, i, self.halo)
                        for n, i in enumerate(self.indices)]
        token = None
        if self.buffer is not None:
            token = self._mark(self.buffer)
        self.parts = self._load(token)
        self.pending = None

    def _submit(self, n, function, *args):
        """function(*args) as a task on chunk n's worker."""
        return self.client.submit(function, *args, workers=[self.homes[n]],
                                  allow_other_workers=True, pure=False)

    def _mark(self, buffer):
        """A new token in buffer's attributes (the checkpoint it now holds)."""
        token = secrets.token_hex(8)
        zarr.open_array(self.path, path=f"u.{buffer}", mode="r+").attrs[TOKEN] = token
        return token

    def _load(self, token):
        return [self._submit(n, load_part, self.place, self.shape, self.chunk, i, self.buffer,
                             self.state_names, token)
                for n, i in enumerate(self.indices)]

    def _neighbours(self, index, tile):
        """(chunk number, region) of every other chunk overlapping ``tile``."""
        ranges = [range(t.start // c, (t.stop - 1) // c + 1) for t, c in zip(tile, self.chunk)]
        for j in np.ndindex(*(len(r) for r in ranges)):
            other = tuple(r[k] for r, k in zip(ranges, j))
            if other == index:
                continue
            own = chunk_slices(self.shape, self.chunk, other)
            region = tuple(slice(max(o.start, t.start), min(o.stop, t.stop))
                           for o, t in zip(own, tile))
            yield self.indices.index(other), region

    def run(self, spec):
        """One sweep of every chunk from the current parts (spec: the
        tiles.Sweep); returns its records, the chunks' summed as the on-disk
        path sums them. The new parts wait for accept."""
        steps = []
        for i, index in enumerate(self.indices):
            _, tile, _, _ = tile_of(spec, index)
            pieces = [self._submit(j, cut, self.parts[j], region)
                      for j, region in self._neighbours(index, tile)]
            steps.append(self._submit(i, step, spec, index, self.f_parts[i], self.parts[i],
                                      *pieces))
        records = self.wait(self.client, [self._submit(i, records_of, s)
                                          for i, s in enumerate(steps)])
        self.pending = steps
        return records

    def accept(self):
        self.parts, self.pending = self.pending, None

    def state_source(self):
        return 0                # not None: the state is the parts' (run_tile's state_of)

    def non_finite(self):
        pass

    def save(self, fields, final):
        """After a complete sweep (final: at the end): a checkpoint every
        ``every`` sweeps and at the end, then the record names it."""
        if not final:
            self.sweeps += 1
            if self.every is None or self.sweeps % self.every:
                return
        if fields["nit"] != self.saved_nit:
            target = 0 if self.buffer != 0 else 1
            array = zarr.open_array(self.path, path=f"u.{target}", mode="r+")
            array.attrs[TOKEN] = None                     # being written
            self.wait(self.client, [self._submit(n, save_part, self.place, i, part, self.shape,
                                                 self.chunk, target)
                                    for n, (i, part) in enumerate(zip(self.indices,
                                                                      self.parts))])
            self.buffer, self.saved_nit = target, fields["nit"]
            token = self._mark(target)
            self.record.update(buffer=self.buffer, **fields)
            workdir.save(self.path, self.record)
            if not final:
                self.parts = self._load(token)           # the lineage starts here again
            return
        self.record.update(buffer=self.buffer, **fields)
        workdir.save(self.path, self.record)
