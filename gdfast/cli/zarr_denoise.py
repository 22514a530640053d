"""``gdfast denoise in.zarr -o out.zarr``: a zarr array denoised on Dask (gdfast.dask).

INPUT and OUTPUT name zarr arrays: a folder ending in .zarr, or a dataset
inside one (``scan.zarr/0``, ``volume.zarr/raw/s0``). Integer data are
scaled to [0, 1] (lam, eps and sigma in those units) and written back in
their own type, as the image files are; floats are denoised as stored. The run goes on a
LocalCluster of worker processes on this machine (``--workers``,
``--memory-limit``) or on an existing cluster (``--scheduler
tcp://host:port``); its work group (``--store``, default OUTPUT's folder +
``.gdfast-work``) holds the sweeps and is removed once OUTPUT is written, or
kept on Ctrl-C for ``--resume``. OUTPUT appears whole or not at all: it is
written beside its place under a temporary name and renamed into it.

INPUT may also be an OME-Zarr image group (``cells.ome.zarr``, NGFF 0.4 or
0.5, see ``ome_zarr``): its level 0 is denoised, one run per index of its
non-space axes (channels, time points), each in its own work group inside
``--store``, and OUTPUT is written as an OME-Zarr image like it.
"""
import json
import os
import shutil
import signal
import sys
import time

from .._denoise import describe_choice, describe_eps, print_guard
from .._files import TEMPORARY_TAG, remove_stale_temporaries, temporary_name
from .._run import sigint_handled

ZARR_SUFFIX = ".zarr"
SCHEDULER_TIMEOUT = 10      # seconds to reach --scheduler


def is_zarr_path(path):
    """True if ``path`` names a zarr array or a dataset inside a .zarr folder."""
    parts = os.path.normpath(os.fspath(path)).split(os.sep)
    return any(p.endswith(ZARR_SUFFIX) for p in parts)


def split_zarr_path(path):
    """(root folder ending in .zarr, dataset path inside it or '')."""
    parts = os.path.normpath(os.path.abspath(os.fspath(path))).split(os.sep)
    last = max(i for i, p in enumerate(parts) if p.endswith(ZARR_SUFFIX))
    return os.sep.join(parts[:last + 1]), "/".join(parts[last + 1:])


def open_input(path):
    """The zarr array at ``path``, or the `ome_zarr.Image` when it names an
    OME-Zarr image group; FileNotFoundError / ValueError naming it."""
    import zarr
    root, component = split_zarr_path(path)
    where = os.path.join(root, *component.split("/")) if component else root
    if not os.path.isdir(where):
        raise FileNotFoundError(f"INPUT {path}: no such zarr array")
    try:
        node = zarr.open(root, path=component or None, mode="r")
    except Exception as err:
        raise ValueError(f"INPUT {path} is not a zarr array ({err})") from None
    if not isinstance(node, zarr.Array):
        from . import ome_zarr
        if ome_zarr.is_image(node):
            return ome_zarr.open_image(node, path)
        arrays = sorted(name for name, _ in node.arrays())
        raise ValueError(f"INPUT {path} is a zarr group, not an array; name a dataset inside "
                         f"it, e.g. {path}/{arrays[0] if arrays else '<name>'}")
    return node


def output_folder(path):
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def check_apart(named_paths):
    """ValueError if one of the folders is, or lies inside, another: OUTPUT
    replaced, or the work group removed, would take the other with it
    (datasets side by side in one group are apart)."""
    for i, (what_a, a) in enumerate(named_paths):
        for what_b, b in named_paths[i + 1:]:
            fa, fb = (os.path.realpath(output_folder(p)) for p in (a, b))
            if os.path.commonpath([fa, fb]) in (fa, fb):
                raise ValueError(f"{what_a} {a} and {what_b} {b} are the same folder or one "
                                 f"lies inside the other; give {what_b} another path")


def check_output(path, force):
    """FileExistsError when OUTPUT exists (without --force); FileNotFoundError
    when its folder does not; the OSError of making a folder there when one
    cannot be made (read only, no permission, full)."""
    target = output_folder(path)
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"OUTPUT {path}: the folder {parent} does not exist")
    if os.path.lexists(target) and not force:
        raise FileExistsError(f"OUTPUT {path} exists (pass --force to replace it)")
    remove_stale_temporaries(parent)      # a killed run's half-written OUTPUT folders
    probe = temporary_name(target)        # found now, not after the whole run
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as err:
        raise type(err)(err.errno, f"cannot write OUTPUT in {parent} ({err.strerror})",
                        path) from None


def write_output(x, path, force, image=None):
    """Write the dask array x as the zarr array at ``path`` (or, given the
    input's `ome_zarr.Image`, as an OME-Zarr image like it: x its level 0):
    under a temporary name beside it, then renamed into place (a half-written
    OUTPUT never shows; an old one is replaced only with force, once the new
    is whole). Inside a zarr group, in the group's format (zarr v2 for
    OME-Zarr 0.4, so that v2 readers find it), its consolidated metadata made
    anew if it has some."""
    import dask.array as da
    import zarr
    target = output_folder(path)
    group = _group_format(os.path.dirname(target))
    tmp = temporary_name(target)
    try:
        if image is not None:
            from . import ome_zarr
            ome_zarr.write_image(x, image, tmp)
        else:
            out = zarr.create_array(tmp, shape=x.shape, chunks=tuple(c[0] for c in x.chunks),
                                    dtype=x.dtype, zarr_format=group[0] if group else 3)
            da.store(x, out, lock=False)
        if os.path.lexists(target):
            if not force:
                raise FileExistsError(f"OUTPUT {path} exists (pass --force to replace it)")
            old = temporary_name(target)
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    if group and group[1]:
        zarr.consolidate_metadata(os.path.dirname(target), zarr_format=group[0])


def _group_format(folder):
    """(zarr format, consolidated) of the zarr group at ``folder``, or None
    when it is no group."""
    if os.path.isfile(os.path.join(folder, ".zgroup")):
        return 2, os.path.isfile(os.path.join(folder, ".zmetadata"))
    try:
        with open(os.path.join(folder, "zarr.json")) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("node_type") != "group":
        return None
    return 3, meta.get("consolidated_metadata") is not None


def scheduler(args):
    """A Client of --scheduler, or of a LocalCluster of --workers processes on
    this machine (loopback only, no dashboard), as a context manager."""
    import distributed
    if args.scheduler:
        return distributed.Client(args.scheduler, timeout=SCHEDULER_TIMEOUT)
    import logging
    # the workers ignore SIGINT (inherited across their spawn): Ctrl-C in a
    # terminal reaches the whole process group, and workers killed by it
    # left the client waiting; this process alone stops, after the sweep
    with sigint_handled(signal.SIG_IGN):
        cluster = distributed.LocalCluster(
            n_workers=args.workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
            memory_limit=args.memory_limit or "auto")
    client = distributed.Client(cluster)
    client.cluster_to_close = cluster
    return client


def run(args):
    """``gdfast denoise`` with zarr INPUT and OUTPUT; returns the exit status."""
    try:                          # the extra is there: checked before any work
        from ..dask import denoise, workdir
        from ..dask.denoising import WORKER_BASELINE, NoWorkers
    except ImportError:
        raise ModuleNotFoundError("zarr INPUT runs on Dask, an optional extra: "
                                  "pip install 'gdfast[dask]'") from None
    if args.workers == 0:
        raise ValueError("--workers must be at least 1")
    if args.memory_limit is not None:
        from dask.utils import format_bytes, parse_bytes
        try:
            limit = parse_bytes(args.memory_limit)
        except ValueError:
            raise ValueError(f"--memory-limit must be a size such as 4GB or 500MiB, got "
                             f"{args.memory_limit!r}") from None
        if limit < WORKER_BASELINE:
            raise ValueError(f"--memory-limit must be at least {format_bytes(WORKER_BASELINE)} "
                             "(what a worker with gdfast loaded takes before any work), got "
                             f"{args.memory_limit}")
    if args.checkpoint is not None:
        raise ValueError("--checkpoint is for image files: a zarr INPUT's run keeps its "
                         "progress in its work group (--store), and --resume goes on from it")
    from .ome_zarr import Image
    source = open_input(args.input)
    image = source if isinstance(source, Image) else None
    if image is not None:
        source = image.levels[0]
    _check_dtype(args.input, source.dtype)
    if not is_zarr_path(args.output):
        raise ValueError(f"OUTPUT {args.output} must be a zarr array (a .zarr folder or a "
                         "dataset inside one) when INPUT is")
    store = args.store or output_folder(args.output) + ".gdfast-work"
    check_apart([("INPUT", args.input), ("OUTPUT", args.output), ("--store", store)])
    check_output(args.output, args.force)
    planes = image.planes() if image is not None else [((), "")]
    if planes[0][0]:
        _check_plane_store(store, planes)
    if TEMPORARY_TAG in os.path.basename(output_folder(args.output)):
        raise ValueError(f"OUTPUT {args.output}: that name is gdfast's temporary naming")
    lam = "auto" if args.lam is None else args.lam
    what = image.describe() if image is not None else f"zarr array {source.shape} {source.dtype}"
    print(f"{args.input}: {what}; lam={lam}, "
          f"eps={'lam/10, then lam/100' if args.eps is None else args.eps}, "
          f"method={args.method}, sweeps of {args.sweep} iterations")
    start = time.perf_counter()
    with workdir.locked(workdir.store_path(store)):    # held until OUTPUT is written
        try:
            code = _run_locked(args, source, store, lam, denoise, image, planes)
        except (KeyboardInterrupt, NoWorkers) as err:
            if not _holds_work(store, planes):
                raise
            what = "interrupted" if isinstance(err, KeyboardInterrupt) else \
                f"gdfast denoise: error: {err}"
            print(f"{what}; {args.output} not written; the run is in {store}: go on with the "
                  "same command and --resume", file=sys.stderr)
            return 130 if isinstance(err, KeyboardInterrupt) else 1
        if code == 0:
            shutil.rmtree(store, ignore_errors=True)
    if code == 0:
        print(f"wrote {args.output}: {time.perf_counter() - start:.2f} s")
    return code


def _run_locked(args, source, store, lam, denoise, image, planes):
    """The run on Dask (denoise: gdfast.dask.denoise), a run per plane (an
    index over an OME-Zarr image's non-space axes, each in its own work group
    inside the store; () the whole array, in the store), and the OUTPUT
    written, the store's lock held."""
    from ..dask import workdir
    made = bool(planes[0][0]) and not os.path.isdir(store)
    if made:
        os.mkdir(store)                  # the folder of the planes' work groups
    try:
        return _run_planes(args, source, store, lam, denoise, image, planes, workdir)
    except BaseException:
        if made and os.path.isdir(store) and not os.listdir(store):
            os.rmdir(store)              # nothing started: nothing left behind
        raise


def _run_planes(args, source, store, lam, denoise, image, planes, workdir):
    """_run_locked's work, the store's folder made."""
    client = scheduler(args)
    try:
        where = args.scheduler or (f"a LocalCluster of {len(client.scheduler_info()['workers'])} "
                                   "workers on this machine")
        print(f"  on {where}; work group {store}")
        import dask.array as da
        f, scale = _scaled(da.from_zarr(source))
        results = []
        for index, name in planes:
            path = os.path.join(store, name) if index else store
            resume = args.resume and (not index or workdir.is_workdir(path))
            if args.resume and not resume:
                print(f"  no work group {path}: {name} starts afresh")
            res = denoise(f[index] if index else f, lam, args.eps, args.method,
                          max_iter=args.max_iter, tol=args.tol, store=path, sweep=args.sweep,
                          resume=resume, sigma=args.sigma,
                          progress=(name or "denoise") if _tqdm() else False)
            if res.status == "interrupted":
                print(f"interrupted (iteration {res.nit}{' of ' + name if name else ''}); "
                      f"{args.output} not written; the run is in {store}: go on with the same "
                      "command and --resume", file=sys.stderr)
                return 130
            if res.status == "non-finite":
                print(f"gdfast denoise: error: the iterate became NaN or inf at iteration "
                      f"{res.nit + 1}{' of ' + name if name else ''}; {args.output} not "
                      "written. Try --method gd or nesterov", file=sys.stderr)
                return 1
            chosen, note = "", None
            if lam == "auto":
                words, note = describe_choice(res, args.sigma is not None, " on the central crop")
                chosen = words + ", "
            print(f"  {name + ': ' if name else ''}{chosen}{describe_eps(res)}: energy "
                  f"{res.fun:.8g} after {res.nit} iterations in {res.sweeps} sweeps of up to "
                  f"{res.sweep} on chunks {res.chunks} ({res.status}: {res.message})")
            print_guard(note)
            results.append(res.x)
        x = _stacked(results, source.shape[:len(planes[0][0])])
        write_output(_unscaled(x, source.dtype, scale), args.output, args.force, image)
    finally:
        client.close()
        cluster = getattr(client, "cluster_to_close", None)
        if cluster is not None:
            cluster.close()
    return 0


def _stacked(results, outer):
    """The planes' results (C order over the outer shape) as one dask array."""
    import dask.array as da
    if not outer:
        return results[0]
    step = len(results) // outer[0]
    return da.stack([_stacked(results[i * step:(i + 1) * step], outer[1:])
                     for i in range(outer[0])])


def _check_plane_store(store, planes):
    """ValueError before any work when the store (a folder of the planes'
    work groups) holds anything else: it is removed once OUTPUT is written."""
    if os.path.exists(store) and not os.path.isdir(store):
        raise ValueError(f"--store {store} is a file; give a folder for the work groups")
    names = {name for _, name in planes}
    others = [e for e in (os.listdir(store) if os.path.isdir(store) else [])
              if e not in names]
    if others:
        raise ValueError(f"--store {store} holds {others[0]!r}, not a work group of this "
                         "image's planes, so nothing is written into it: give a new or "
                         "empty folder")


def _holds_work(store, planes):
    """True if the store (or, for planes, a folder in it) holds a work group."""
    from ..dask import workdir
    if not planes[0][0]:
        return workdir.is_workdir(store)
    return any(workdir.is_workdir(os.path.join(store, name)) for _, name in planes)


def _check_dtype(path, dtype):
    """ValueError, before any cluster starts, for types the run cannot take
    exactly: bool, complex, 64-bit integers (beyond float64's 53 bits)."""
    if dtype.kind == "f" or (dtype.kind in "ui" and dtype.itemsize <= 4):
        return
    raise ValueError(f"INPUT {path}: expected integers of up to 32 bits or floats, got {dtype}"
                     + (" (not exact in float64: convert it to float64 first)"
                        if dtype.kind in "ui" else ""))


def _scaled(f):
    """(f in [0, 1] units, scale): integer data divided by its type's largest
    value, as the image files are (lam, eps and sigma in those units)."""
    import numpy as np
    if f.dtype.kind in "ui":
        scale = float(np.iinfo(f.dtype).max)
        return f.astype(np.float64) / scale, scale
    return f, None


def _unscaled(x, dtype, scale):
    """The result in INPUT's type: integers rounded and clipped to its range,
    float32 rounded to float32."""
    import numpy as np
    if scale is None:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return (x * scale).round().clip(info.min, info.max).astype(dtype)


def _tqdm():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True
