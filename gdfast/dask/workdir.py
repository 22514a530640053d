"""The zarr group a distributed run keeps its arrays and its progress in.

    <store>/gdfast.json    the run: format, a token naming it, fingerprint, chunk shape and the
                           progress after the last complete sweep (iterate
                           count, which buffer holds it, the records so far)
    <store>/f              the data, float64, stored once (chunk shape of the run)
    <store>/u.0, u.1       the iterate, double-buffered: a sweep reads one and
                           writes the other
    <store>/<name>.0, .1   each optimizer state array in use (e.g. momentum_buffer)

gdfast.json is written atomically after every sweep (gdfast._files), so a
client killed at any moment leaves the last complete sweep to resume from;
the buffer being written is never the one it names. The arrays are stored
uncompressed (the iterates of noisy data do not compress, and a sweep
would spend its time in the codec) in shards that are the run's chunks, so
every task writes whole shards of its own, and inner chunks about a halo
deep, so that a task reads little more than its tile.

A folder that exists and holds no gdfast.json of this format (and is not
empty) is never written into: the store must not be another dataset.

Nothing missing reads as numbers: the arrays' fill value is NaN (zarr
reads a missing chunk as its fill value), a resume first checks that every
chunk of f and of the buffers it reads is there (check_complete), and the
record carries the SHA-256 of its own fields and is checked field by field
(read), so a purged chunk or a hand-edited record is a CheckpointError,
not a wrong result.

One run at a time: a run holds the store's lock (``locked``), the file
``.<store name>.gdfast-lock`` beside the store, made with O_CREAT | O_EXCL
(atomic on local file systems and NFS v3+) and holding the host, pid and
start time of its holder; a second run is refused while it is there. A
lock left by a killed run is taken over when its holder ran on this
machine and no longer runs; another host's lock only the user can judge,
so the message names the file to remove. Every save also checks that the
record on disk is still the run's own (its token), so a run whose store
was taken from it stops instead of writing into another run's arrays.
"""
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import time

import numpy as np
import zarr

from .._files import host_tag, process_alive, write_atomically
from ..checkpoint import CheckpointError, check_fingerprint

FORMAT = "gdfast-dask-denoise"
VERSION = 2       # 2: NaN fill value, the record digested and checked
RECORD = "gdfast.json"


def is_workdir(path):
    """True if ``path`` is a folder holding a gdfast work group's record."""
    try:
        with open(os.path.join(path, RECORD)) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def store_path(store):
    """The store's path as a str (absolute); TypeError when it is no path,
    FileNotFoundError when its folder does not exist."""
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a path (a folder for the zarr work group), "
                        f"got {type(store).__name__}")
    path = os.path.abspath(os.fspath(store))
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"store: the folder {parent} does not exist")
    return path


def check_store(path, resume):
    """ValueError before any work when the store is a file, or a folder
    with other contents than a gdfast work group (or, with resume=True,
    CheckpointError when it holds no work group to resume)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"store {path} is a file; give a folder for the zarr work group")
    if resume and not is_workdir(path):
        raise CheckpointError(f"store {path} holds no gdfast run to resume (no {RECORD}); "
                              "start without resume=True")
    if os.path.isdir(path) and os.listdir(path) and not is_workdir(path):
        raise ValueError(f"store {path} exists and is not a gdfast work group, so nothing is "
                         "written into it: give a new or empty folder")


def zarr_chunk(chunk, shape, halo):
    """The zarr chunk of the arrays for a run's (task) chunk: along an axis
    the chunk spans whole, the chunk's side; along the others the smallest
    divisor of the side that is >= halo and >= side / 4 (the side if none),
    so that a tile's halo reads thin layers of the neighbouring chunks, not
    their whole chunks, and each zarr chunk stays large enough to read fast."""
    def side_of(c, n):
        if c >= n:
            return c
        return next((d for d in range(max(halo, c // 4), c) if c % d == 0), c)
    return tuple(side_of(c, n) for c, n in zip(chunk, shape))


def create(path, shape, chunk, fingerprint, state_names, halo):
    """A fresh work group at ``path`` (an older one there is removed): the
    arrays, and the record saying no sweep has run. Returns the record.

    A task's chunk is made of whole zarr chunks (zarr_chunk for ``halo``):
    one task writes each of them."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    group = zarr.open_group(path, mode="w")
    inner = zarr_chunk(chunk, shape, halo)
    for name in ["f", "u.0", "u.1", *(f"{s}.{b}" for s in state_names for b in (0, 1))]:
        group.create_array(name, shape=shape, chunks=inner, dtype="float64", compressors=None,
                           fill_value=np.nan)
    record = dict(format=FORMAT, version=VERSION, run=secrets.token_hex(8),
                  fingerprint=fingerprint, chunk=list(chunk),
                  ready=False, nit=0, buffer=None, nfev=0, fun_history=[],
                  grad_norm_history=[])
    save(path, record)
    return record


def record_digest(record):
    """SHA-256 of the record's fields but its digest (JSON, keys sorted)."""
    fields = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def save(path, record):
    """Write the record atomically (float values exactly: JSON of repr), with
    its digest. CheckpointError when the record on disk is another run's
    (the store was taken over by another run: nothing is written)."""
    try:
        with open(os.path.join(path, RECORD)) as fh:
            on_disk = json.load(fh).get("run")
    except (OSError, ValueError, AttributeError):
        on_disk = None
    if on_disk is not None and on_disk != record["run"]:
        raise CheckpointError(f"store {path} now holds another run ({on_disk}, this run is "
                              f"{record['run']}): this run stops without writing into it")
    record["sha256"] = record_digest(record)
    data = json.dumps(record).encode()
    write_atomically(os.path.join(path, RECORD), lambda fh: fh.write(data), overwrite=True)


def read(path):
    """The record of the work group at ``path``, to resume from, checked
    field by field: CheckpointError when it is of another version, was
    edited (its digest), is malformed, or its run stopped before f was stored."""
    try:
        with open(os.path.join(path, RECORD)) as fh:
            record = json.load(fh)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path}: its record {RECORD} cannot be read ({err})") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: its record {RECORD} is not a JSON object")
    if record.get("version") != VERSION:
        raise CheckpointError(f"{path}: work group version {record.get('version')}, this "
                              f"gdfast reads version {VERSION}; start afresh")
    if record.get("sha256") != record_digest(record):
        raise CheckpointError(f"{path}: its record {RECORD} was changed since gdfast wrote it "
                              "(its digest does not match); start afresh")
    _check_fields(path, record)
    if not record["ready"]:
        raise CheckpointError(f"{path}: the run stopped before f was stored; start afresh "
                              "without resume")
    return record


def _check_fields(path, record):
    def bad(field, expected):
        raise CheckpointError(f"{path}: the record's {field} must be {expected}, got "
                              f"{record.get(field)!r}; start afresh")

    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(record.get("run"), str):
        bad("run", "a token")
    if not isinstance(record.get("ready"), bool):
        bad("ready", "true or false")
    if record["ready"] and not isinstance(record.get("fingerprint"), dict):
        bad("fingerprint", "an object")
    chunk = record.get("chunk")
    if not (isinstance(chunk, list) and chunk and all(whole(c) and c > 0 for c in chunk)):
        bad("chunk", "a list of positive integers")
    if not whole(record.get("nit")):
        bad("nit", "an integer >= 0")
    if not whole(record.get("nfev")):
        bad("nfev", "an integer >= 0")
    if record.get("buffer") not in (None, 0, 1) or isinstance(record.get("buffer"), bool) \
            or (record["buffer"] is None) != (record["nit"] == 0):
        bad("buffer", "0 or 1 (null before the first sweep)")
    for field in ("fun_history", "grad_norm_history"):
        h = record.get(field)
        if not (isinstance(h, list) and len(h) == record["nit"]
                and all(isinstance(v, float) for v in h)):
            bad(field, f"a list of nit = {record['nit']} numbers")


def check_complete(path, names):
    """CheckpointError unless every chunk of the arrays ``names`` is stored
    (a chunk file removed would read as the fill value)."""
    group = zarr.open_group(path, mode="r")
    for name in names:
        try:
            a = group[name]
            stored, total = a.nchunks_initialized, a.nchunks
        except (KeyError, OSError, ValueError) as err:
            raise CheckpointError(f"{path}: its array {name} cannot be read ({err}); start "
                                  "afresh") from None
        if stored != total:
            raise CheckpointError(f"{path}: {total - stored} of the {total} chunks of its array "
                                  f"{name} are missing (removed or never written); the run "
                                  "cannot resume from it: start afresh")


class StoreInUse(ValueError):
    """The store is locked by another run."""


_HELD: dict[str, int] = {}     # the locks this process holds: lock path -> depth


def lock_path(path):
    """The lock file of the store at ``path``: beside it, hidden."""
    folder, name = os.path.split(os.path.realpath(os.fspath(path)))
    return os.path.join(folder, f".{name}.gdfast-lock")


@contextlib.contextmanager
def locked(path):
    """Hold the store's lock for the block (re-entrant within a process).

    StoreInUse, before anything is written, when another run holds it."""
    lock = lock_path(path)
    if lock in _HELD:
        _HELD[lock] += 1
        try:
            yield
        finally:
            _HELD[lock] -= 1
        return
    _acquire(path, lock)
    _HELD[lock] = 1
    try:
        yield
    finally:
        del _HELD[lock]
        with contextlib.suppress(OSError):
            os.unlink(lock)


def _acquire(path, lock):
    me = dict(host=socket.gethostname(), host_tag=host_tag(), pid=os.getpid(),
              since=time.strftime("%Y-%m-%d %H:%M:%S"))
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is not None and _dead_here(holder):
                _break(lock)                          # its run was killed: take it over
                continue
            who = (f"pid {holder.get('pid')} on host {holder.get('host')} since "
                   f"{holder.get('since')}") if holder else "a run whose lock is unreadable"
            raise StoreInUse(f"store {path} is in use by another gdfast run ({who}); wait for "
                             f"it, give another store, or remove {lock} if no run uses it") \
                from None
        except OSError as err:
            raise type(err)(err.errno, f"store: cannot make its lock file ({err.strerror})",
                            lock) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        return
    raise StoreInUse(f"store {path}: its lock {lock} keeps coming back; another run is "
                     "starting on it")


def _dead_here(holder):
    """True if the lock's holder ran on this machine and runs no more."""
    return holder.get("host_tag") == host_tag() and isinstance(holder.get("pid"), int) \
        and not process_alive(holder["pid"])


def _holder(lock):
    try:
        with open(lock) as fh:
            holder = json.load(fh)
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _break(lock):
    """Remove a dead holder's lock, under a second lock (``<lock>.break``,
    O_EXCL too) so that of two runs breaking it at once, the second never
    removes the lock the first has just made: the holder is read again
    under it. A ``.break`` older than a minute is a killed breaker's."""
    guard = lock + ".break"
    with contextlib.suppress(OSError):
        if time.time() - os.stat(guard).st_mtime > 60:
            os.unlink(guard)
    try:
        os.close(os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except OSError:
        time.sleep(0.05)                   # another run is breaking it: look again
        return
    try:
        holder = _holder(lock)
        if holder is not None and _dead_here(holder):
            with contextlib.suppress(OSError):
                os.unlink(lock)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(guard)


def check(path, record, fingerprint):
    """CheckpointError unless the record is of a run with ``fingerprint``."""
    check_fingerprint(path, record["fingerprint"], fingerprint)


def chunk_digest(block):
    """SHA-256 of one chunk of f (its float64 bytes, C order)."""
    block = np.ascontiguousarray(block, dtype=np.float64)
    return hashlib.sha256(memoryview(block).cast("B")).hexdigest()


def digest_of(chunk_digests):
    """One digest of f from its chunks' digests (in the chunk grid's C order)."""
    return hashlib.sha256("".join(chunk_digests).encode()).hexdigest()
