"""gdfast.dask.minimize_batch: gdfast.minimize_batch over a dask array of problems.

Each chunk of rows is one task: gdfast.minimize_batch on those rows (and
the same rows of every batch_args array). Rows are independent problems and
minimize_batch's results do not depend on how the rows are cut, so every
problem's result is bit for bit the in-memory call's.
"""
import importlib
from collections.abc import Callable

import dask.array as da
import numpy as np

from .._batch import minimize_batch as batch_in_memory
from .._optimizers import Optimizer
from .._run import MESSAGES, STATUS_OF_CODE, OptimizeResult

STATUS_NAMES = np.array([s.value for s in STATUS_OF_CODE])
_BY_NAME = np.argsort(STATUS_NAMES)


def minimize_batch(fun: Callable, X0, method: "str | Optimizer" = "adam", *, args: tuple = (),
                   batch_args: tuple = (), options: dict | None = None, max_iter: int = 1000,
                   ftol: float = 0.0, gtol: float = 1e-6, xtol: float = 0.0) -> OptimizeResult:
    """gdfast.minimize_batch with X0 a dask array, chunked by rows.

    Parameters
    ----------
    fun, method, args, options, max_iter, ftol, gtol, xtol
        As in `gdfast.minimize_batch`. fun is sent to the workers: register it
        with `gdfast.cached_objective` (and define it in a module the workers
        can import) so that each worker loads the compiled loop from the disk
        cache instead of compiling it.
    X0 : dask array, shape (n_problems, n_params)
        Chunked by rows (the columns are made one chunk).
    batch_args : tuple of arrays, default ()
        Dask or numpy arrays whose first axis has n_problems rows (rechunked
        to X0's rows).

    Returns
    -------
    OptimizeResult
        Lazy dask arrays, chunked as X0's rows: x (n_problems, n_params), fun,
        nit (int64), status (str) and success (bool), each problem's values
        bit for bit those of the in-memory call; ``messages`` maps the status
        names to their meaning.

    Raises
    ------
    ValueError
        X0 is not 2-D, or a batch_args array's first axis is not n_problems.
    TypeError
        X0 does not hold real numbers, or batch_args is not a tuple.

    Notes
    -----
    Nothing runs until the arrays are computed (or stored:
    ``da.to_zarr(res.x, ...)``); computing several, use
    ``dask.compute(res.x, res.fun, ...)`` so that the fits run once.
    """
    X = da.asarray(X0)
    if X.ndim != 2:
        raise ValueError(f"X0 must be 2-D (n_problems, n_params), got shape {X.shape}")
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X0 must hold real numbers, got dtype {X.dtype}")
    m, n = X.shape
    X = X.rechunk({1: n}).astype(np.float64)
    if not isinstance(batch_args, tuple):
        raise TypeError(f"batch_args must be a tuple of arrays, got {type(batch_args).__name__}")
    batch = []
    for k, b in enumerate(batch_args):
        b = da.asarray(b)
        if b.ndim == 0 or b.shape[0] != m:
            raise ValueError(f"batch_args[{k}] must have first axis of length {m} (one row per "
                             f"problem), got shape {b.shape}")
        batch.append(b.rechunk({0: X.chunks[0], **{a: -1 for a in range(1, b.ndim)}}))
    settings = dict(method=method, args=args, options=options, max_iter=max_iter, ftol=ftol,
                    gtol=gtol, xtol=xtol)
    # one float64 block per chunk: x, fun, nit, status code (exact as floats)
    packed = da.map_blocks(_fit_rows, X, *[_rows_as_2d(b) for b in batch], fun=by_reference(fun),
                           shapes=tuple(b.shape[1:] for b in batch), settings=settings,
                           chunks=(X.chunks[0], (n + 3,)), dtype=np.float64)
    x = packed[:, :n]
    codes = packed[:, n + 2].astype(np.int64)
    status = codes.map_blocks(lambda c: STATUS_NAMES[c], dtype=STATUS_NAMES.dtype)
    success = status.map_blocks(lambda s: np.isin(s, ["gtol", "ftol", "xtol"]), dtype=bool)
    return OptimizeResult(x=x, fun=packed[:, n], nit=packed[:, n + 1].astype(np.int64),
                          status=status, success=success,
                          messages={s.value: MESSAGES[s] for s in STATUS_OF_CODE})


class ImportedFunction:
    """A module's function sent as the module and name to import it by, and
    imported only where it runs (a graph is unpickled by the scheduler first,
    so a __reduce__ that imports would hand the worker the function itself)."""

    def __init__(self, module, qualname):
        self.module, self.qualname = module, qualname

    def resolve(self):
        """The object `qualname` of `module` (imported)."""
        obj = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        return obj


def by_reference(fun):
    """What to send the workers for fun: a numba function that its module
    defines as a global goes by name (an ImportedFunction), so each worker
    imports it (registered by gdfast.cached_objective there, its compiled
    loops load from the disk cache); pickled as itself, numba would rebuild it
    in the worker as a new dispatcher and compile it, and every loop that
    calls it, afresh."""
    py_func = getattr(fun, "py_func", None)
    if py_func is None or "<locals>" in py_func.__qualname__:
        return fun
    ref = ImportedFunction(py_func.__module__, py_func.__qualname__)
    try:
        if ref.resolve() is not fun:
            return fun
    except (ImportError, AttributeError):
        return fun
    return ref


def _rows_as_2d(b):
    """b with its trailing axes flattened (map_blocks aligns 2-D blocks by rows)."""
    return b.reshape(b.shape[0], -1) if b.ndim != 2 else b


def _fit_rows(X, *batch, fun, shapes, settings, block_info=None):
    """The task: minimize_batch on one chunk of rows; float64 (rows, n + 3).
    An empty chunk gives an empty block; an error names the chunk's rows of
    X0 (minimize_batch's own indices are the chunk's)."""
    rows = X.shape[0]
    if rows == 0:
        return np.empty((0, X.shape[1] + 3))
    if isinstance(fun, ImportedFunction):
        fun = fun.resolve()
    batch_args = tuple(np.ascontiguousarray(b).reshape((rows, *shape))
                       for b, shape in zip(batch, shapes))
    try:
        res = batch_in_memory(fun, X, batch_args=batch_args, **settings)
    except ValueError as err:
        if block_info is None:
            raise
        first, last = block_info[0]["array-location"][0]
        raise ValueError(f"in rows {first}..{last - 1} of X0 (one chunk; indices below are "
                         f"within it): {err}") from None
    codes = _BY_NAME[np.searchsorted(STATUS_NAMES, res.status, sorter=_BY_NAME)]
    return np.column_stack([res.x, res.fun, res.nit.astype(np.float64), codes.astype(np.float64)])
