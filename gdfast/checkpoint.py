"""Checkpoints of a run: everything needed to go on from an iterate, bit for bit.

A checkpoint is a .npz file (numpy's zip of arrays, each member CRC-checked
on reading) holding:

``meta``
    JSON: format name, version, kind ('minimize' or 'denoise'), the run's
    fingerprint, the step count t and the counters nit, nfev, nskipped.
``x``
    The iterate, float64, the problem's shape.
``state.<name>``
    Each state array of the optimizer, float64 (n,).
``fun_history``, ``grad_norm_history`` (and ``psnr_history`` for denoise)
    float64 (nit + 1,): the records of the iterates so far.

The fingerprint names what the trajectory depends on: the optimizer class,
rule, hyperparameters and learning-rate schedule (its name, lr0 and
parameters; with the step count t it fixes every later rate), the shape and
a SHA-256 of the start (x0, or f for denoise) and, for denoise, lam, eps
and anisotropic. Resuming with a different fingerprint is an error, so a
checkpoint never silently restarts or continues another run. The stopping
rules (max_iter, tolerances) are not in it: resume with a larger max_iter to
go on with a run that stopped there.

Files are written atomically (``gdfast._files``): a crash while saving
leaves the previous checkpoint in place. A checkpoint never holds NaN or
inf: a run whose iterate or state has gone non-finite writes none, so the
last good one stays. An existing file at the path that is not a gdfast
checkpoint is never overwritten (checked before any work).
"""
import hashlib
import json
import math
import os
import zipfile

import numpy as np

from . import _validation as check
from ._files import check_can_write, write_atomically
from .kernels.reductions import max_abs

FORMAT = "gdfast-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used.

    Unreadable, truncated, corrupted, of another version, or made by a
    different run; the message says what. A subclass of ValueError.
    """


def checked_checkpoint_options(checkpoint, checkpoint_every, resume):
    """Check minimize's and denoise's checkpoint arguments before any work.

    Parameters
    ----------
    checkpoint : str or os.PathLike or None
        The checkpoint's path; it must be writable, and an existing file there
        must be a gdfast checkpoint unless resume is True.
    checkpoint_every : int
        >= 0.
    resume : bool
        True needs a checkpoint.

    Returns
    -------
    checkpoint_every : int
    resume : bool

    Raises
    ------
    ValueError
        An argument out of its range, resume without a checkpoint, or a file
        at the path that is not a gdfast checkpoint (not overwritten).
    TypeError
        checkpoint is not a path.
    """
    every = check.whole_number("checkpoint_every", checkpoint_every, 0)
    resume = check.boolean("resume", resume)
    if checkpoint is None:
        if resume:
            raise ValueError("resume=True needs checkpoint=PATH, the checkpoint to go on from")
        return every, resume
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path, got {type(checkpoint).__name__}")
    path = os.fspath(checkpoint)
    if not resume and os.path.isfile(path) and not is_checkpoint(path):
        raise ValueError(f"checkpoint {path} exists and is not a gdfast checkpoint, so it is "
                         "not overwritten: give the checkpoint another path (or delete the "
                         "file if it is an unreadable checkpoint of yours)")
    check_can_write(path, "checkpoint", overwrite=True)
    return every, resume


def is_checkpoint(path):
    """True if the file at ``path`` is a gdfast checkpoint.

    Of any version, readable or not past its metadata: only its small meta
    member is read.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    bool
    """
    try:
        with zipfile.ZipFile(path) as archive, archive.open("meta.npy") as member:
            meta = json.loads(str(np.lib.format.read_array(member, allow_pickle=False)))
    except Exception:              # not a zip, no meta, not JSON: not ours
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def optimizer_fingerprint(optimizer):
    """What of ``optimizer`` a trajectory depends on.

    Parameters
    ----------
    optimizer : Optimizer

    Returns
    -------
    dict
        Class, rule, hyperparameters and learning-rate schedule, as JSON
        values (and Adagrad's initial_accumulator_value when it is not 0).
    """
    if hasattr(optimizer, "fingerprint"):          # minimize's 'lbfgs'
        return optimizer.fingerprint()
    lr = optimizer.lr
    out = dict(optimizer=type(optimizer).__name__, rule=optimizer.rule.name,
               hyper=[float(h) for h in optimizer.hyper],
               lr=[lr.name, float(lr.lr0), [float(p) for p in lr.params]])
    # a start the kernel's hyper does not hold (read by init); keyed only when
    # set, so that the checkpoints of the default keep their fingerprint
    start = optimizer.hyperparameters().get("initial_accumulator_value", 0.0)
    if start:
        out["initial_accumulator_value"] = float(start)
    return out


def fingerprint_of(optimizer, start, **settings):
    """The fingerprint of a run of ``optimizer`` from the array ``start``.

    Parameters
    ----------
    optimizer : Optimizer
    start : array_like
        x0 or f.
    **settings
        Extra settings (lam, eps, ...), JSON values.

    Returns
    -------
    dict
        `optimizer_fingerprint`'s, and the start's shape and SHA-256, and the
        settings: JSON values.
    """
    start = np.ascontiguousarray(start, dtype=np.float64)     # a copy only if it must convert
    return dict(optimizer_fingerprint(optimizer), shape=list(start.shape),
                start_sha256=hashlib.sha256(memoryview(start).cast("B")).hexdigest(),
                **settings)


def save_checkpoint(path, kind, fingerprint, x, state, counters, histories):
    """Write a checkpoint to ``path`` atomically, if x and the state are finite.

    An older checkpoint at ``path`` is replaced. The arrays are streamed to the
    file, not copied in memory.

    Parameters
    ----------
    path : str or os.PathLike
    kind : {'minimize', 'denoise'}
    fingerprint : dict
        From `fingerprint_of`.
    x : ndarray of float64
        The iterate.
    state : OptimizerState
        Its optimizer state.
    counters : dict of int
        nit, nfev, nskipped.
    histories : dict of str to ndarray of float64
        The records of the iterates, by name.

    Returns
    -------
    bool
        True if written; False if not (a NaN or inf in x or the state: the
        checkpoint already at ``path`` stays).
    """
    if not all(_finite(a) for a in (x, *state.arrays)):
        return False
    path = os.path.realpath(path)     # a symbolic link stays one: its target is replaced
    meta = dict(format=FORMAT, version=VERSION, kind=kind, fingerprint=fingerprint,
                t=int(state.t), state_names=list(state.names),
                counters={k: int(v) for k, v in counters.items()})
    arrays = {"x": np.asarray(x), **histories}
    arrays.update({f"state.{name}": a for name, a in zip(state.names, state.arrays)})
    write_atomically(path, lambda fh: np.savez(
        fh, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays), overwrite=True)
    return True


def _finite(a):
    """All of the float64 array a finite, in one pass without temporaries."""
    return a.size == 0 or math.isfinite(max_abs(a.ravel()))


def load_checkpoint(path, kind=None, fingerprint=None):
    """Read a checkpoint.

    Parameters
    ----------
    path : str or os.PathLike
    kind : {'minimize', 'denoise'}, optional
        With ``fingerprint``: check that the checkpoint was made by that kind
        of run with the same fingerprint.
    fingerprint : dict, optional
        From `fingerprint_of`.

    Returns
    -------
    meta : dict
        The checkpoint's metadata (see the module's description).
    arrays : dict of str to ndarray
        x, the histories and the state arrays (``state.<name>``).

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    CheckpointError
        Anything else that is wrong with it (the message says what).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    meta, arrays = _read(path)
    if kind is not None and meta["kind"] != kind:
        raise CheckpointError(f"{path} is a checkpoint of {meta['kind']}, not of {kind}")
    if fingerprint is not None:
        check_fingerprint(path, meta["fingerprint"], json.loads(json.dumps(fingerprint)))
    _check_arrays(path, meta, arrays)
    return meta, arrays


HISTORIES = ("fun_history", "grad_norm_history", "psnr_history")
META_MAX_BYTES = 1 << 20


def _read(path):
    """meta and arrays of the file; CheckpointError for anything unreadable.

    Every member's CRC is checked before any is parsed (zipfile checks a
    member's CRC only once it is read to its end; testzip streams, in
    constant memory), so a flipped bit anywhere is caught as corruption.
    Only the members a run needs are read (meta, x, the histories, the
    state arrays meta names), each only if its size fits what meta says:
    a member added to the archive costs nothing.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            sizes = {info.filename.removesuffix(".npy"): info.file_size
                     for info in archive.infolist()}
        if bad is not None:
            raise ValueError(f"member {bad} fails its CRC check")
        if sizes.get("meta", 0) > META_MAX_BYTES:
            raise ValueError(f"its meta member holds {sizes['meta']} bytes")
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            meta = json.loads(str(npz["meta"]))
            meta = _checked_meta(path, meta)
            names = ["x", *HISTORIES, *(f"state.{n}" for n in meta["state_names"])]
            arrays = {}
            for name in names:
                if name in sizes:
                    _check_size(path, name, sizes[name], meta)
                    arrays[name] = npz[name]
    except CheckpointError:
        raise
    except Exception as err:       # zip, npy and JSON parsers raise many kinds for bad bytes
        raise CheckpointError(f"{path}: not a readable gdfast checkpoint (truncated or "
                              f"corrupted?): {type(err).__name__}: {err}") from None
    missing = {"x", "fun_history", "grad_norm_history",
               *(f"state.{n}" for n in meta["state_names"])} - set(arrays)
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {sorted(missing)}")
    return meta, arrays


def _checked_meta(path, meta):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gdfast checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {meta.get('version')!r}; "
                              f"this gdfast reads version {VERSION}")
    try:
        names = [str(n) for n in meta["state_names"]]
        counters = {k: int(meta["counters"][k]) for k in ("nit", "nfev", "nskipped")}
        t, kind = int(meta["t"]), str(meta["kind"])
        fingerprint = dict(meta["fingerprint"])
        shape = tuple(int(n) for n in fingerprint.get("shape", ()))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: incomplete checkpoint metadata ({err!r})") from None
    if any(n < 0 for n in shape):
        raise CheckpointError(f"{path}: the shape in its metadata is {shape}")
    meta.update(state_names=names, counters=counters, t=t, kind=kind, fingerprint=fingerprint)
    return meta


def _check_size(path, name, size, meta):
    """CheckpointError when an array member is larger than the run's arrays
    (x, a state array: the parameters' float64 values; a history: the
    iterations' counts are not known, so not checked) and a header."""
    if name in HISTORIES:
        return
    values = math.prod(meta["fingerprint"].get("shape", ()))
    if size > 8 * values + 4096:
        raise CheckpointError(f"{path}: its member {name} holds {size} bytes, more than the "
                              f"{values} float64 values of the run's parameters")


def stage_start(starts, nit):
    """The first iteration of the stage that the step from iterate nit belongs to.

    Parameters
    ----------
    starts : sequence of int
        The stages' first iterations, ascending, from 0.
    nit : int

    Returns
    -------
    int
    """
    return max(first for first in starts if first <= nit)


def _check_arrays(path, meta, arrays):
    """The arrays fit the run the metadata describes."""
    nit = meta["counters"]["nit"]
    # a run in stages (denoise's eps continuation) starts its state afresh at
    # each stage's first iteration: t counts the steps of the last stage
    starts = [int(first) for first, _ in meta["fingerprint"].get("stages", [[0, None]])]
    steps = nit - stage_start(starts, max(nit - 1, 0))
    if min(meta["counters"].values()) < 0 or meta["t"] != steps:
        raise CheckpointError(f"{path}: inconsistent counters {meta['counters']}, t={meta['t']}")
    x, shape = arrays["x"], tuple(meta["fingerprint"].get("shape", ()))
    if x.dtype != np.float64 or x.shape != shape:
        raise CheckpointError(f"{path}: x has shape {x.shape} and dtype {x.dtype}, expected "
                              f"{shape} float64")
    for name, a in arrays.items():        # gdfast saves only finite iterates and states
        if (name == "x" or name.startswith("state.")) and a.dtype == np.float64 \
                and not _finite(a):
            raise CheckpointError(f"{path}: {name} holds NaN or inf; gdfast never saves "
                                  "such a checkpoint (edited?): start afresh")
    for name in ("fun_history", "grad_norm_history", "psnr_history"):
        h = arrays.get(name)
        if h is not None and (h.dtype != np.float64 or h.ndim != 1 or h.size < nit):
            raise CheckpointError(f"{path}: {name} has shape {h.shape} and dtype {h.dtype}, "
                                  f"expected at least {nit} float64 entries")


def resume_from(path, kind, fingerprint, optimizer, x):
    """Load the checkpoint a run of ``kind`` with ``fingerprint`` goes on from.

    Its iterate is copied into x.

    Parameters
    ----------
    path : str or os.PathLike
    kind : {'minimize', 'denoise'}
    fingerprint : dict
        From `fingerprint_of`: the run's, which the checkpoint's must equal.
    optimizer : Optimizer
        The run's optimizer.
    x : ndarray of float64
        The start's shape or flat; overwritten with the checkpoint's iterate.

    Returns
    -------
    meta : dict
    arrays : dict of str to ndarray
        As `load_checkpoint`'s.
    state : OptimizerState
        The state of ``optimizer`` as saved.

    Raises
    ------
    FileNotFoundError, CheckpointError
        As `load_checkpoint`.
    """
    path = os.fspath(path)
    meta, arrays = load_checkpoint(path, kind, fingerprint)
    state = _restore_state(path, meta, arrays, optimizer, x.size)
    x[...] = arrays["x"].reshape(x.shape)
    return meta, arrays, state


def _restore_state(path, meta, arrays, optimizer, n):
    """The OptimizerState saved in a checkpoint, for parameters of length n."""
    state = optimizer.init(np.empty(n))
    if list(state.names) != meta["state_names"]:
        raise CheckpointError(f"{path}: state {meta['state_names']} does not fit "
                              f"{type(optimizer).__name__}'s {list(state.names)}")
    for name, a in zip(state.names, state.arrays):
        saved = arrays[f"state.{name}"]
        if saved.shape != a.shape or saved.dtype != a.dtype:
            raise CheckpointError(f"{path}: state.{name} has shape {saved.shape} and dtype "
                                  f"{saved.dtype}, expected {a.shape} float64")
        a[...] = saved
    state.t = meta["t"]
    return state


def check_fingerprint(path, saved, wanted):
    """Check that a checkpoint's fingerprint is this run's.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint's path, for the message.
    saved : dict
        The fingerprint of the run saved at ``path``.
    wanted : dict
        This run's.

    Raises
    ------
    CheckpointError
        Naming every setting in which the two differ.
    """
    if saved == wanted:
        return
    keys = sorted(set(saved) | set(wanted))
    diffs = [f"{k}: checkpoint {saved.get(k)!r}, this run {wanted.get(k)!r}"
             for k in keys if saved.get(k) != wanted.get(k)]
    raise CheckpointError(f"{path} was made by a different run ({'; '.join(diffs)}); "
                          "resume with the same problem and optimizer, or start afresh "
                          "without resume")
