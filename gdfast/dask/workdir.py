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
"""
import hashlib
import json
import os
import secrets
import shutil

import numpy as np
import zarr

from .._files import write_atomically
from ..checkpoint import CheckpointError, check_fingerprint

FORMAT = "gdfast-dask-denoise"
VERSION = 1
RECORD = "gdfast.json"


def is_workdir(path):
    """True if ``path`` is a folder holding a gdfast work group's record."""
    try:
        with open(os.path.join(path, RECORD)) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def checked_store(store, resume):
    """The store's path as a str; ValueError before any work when it is a
    file, or a folder with other contents than a gdfast work group (or,
    with resume=True, when it holds no work group to resume)."""
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a path (a folder for the zarr work group), "
                        f"got {type(store).__name__}")
    path = os.path.abspath(os.fspath(store))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"store {path} is a file; give a folder for the zarr work group")
    if resume and not is_workdir(path):
        raise CheckpointError(f"store {path} holds no gdfast run to resume (no {RECORD}); "
                              "start without resume=True")
    if os.path.isdir(path) and os.listdir(path) and not is_workdir(path):
        raise ValueError(f"store {path} exists and is not a gdfast work group, so nothing is "
                         "written into it: give a new or empty folder")
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"store: the folder {parent} does not exist")
    return path


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
                           fill_value=0.0)
    record = dict(format=FORMAT, version=VERSION, run=secrets.token_hex(8),
                  fingerprint=fingerprint, chunk=list(chunk),
                  ready=False, nit=0, buffer=None, nfev=0, fun_history=[],
                  grad_norm_history=[])
    save(path, record)
    return record


def save(path, record):
    """Write the record atomically (float values exactly: JSON of repr)."""
    data = json.dumps(record).encode()
    write_atomically(os.path.join(path, RECORD), lambda fh: fh.write(data), overwrite=True)


def read(path):
    """The record of the work group at ``path``, to resume from: CheckpointError
    when it is of another version or its run stopped before f was stored."""
    with open(os.path.join(path, RECORD)) as fh:
        record = json.load(fh)
    if record.get("version") != VERSION:
        raise CheckpointError(f"{path}: work group version {record.get('version')}, this "
                              f"gdfast reads version {VERSION}; start afresh")
    if not record["ready"]:
        raise CheckpointError(f"{path}: the run stopped before f was stored; start afresh "
                              "without resume")
    return record


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
