"""gdfast.dask.minimize_batch and least_squares_batch over a dask array of problems.

Each chunk of rows is one task: gdfast.minimize_batch (or
least_squares_batch) on those rows, the same rows of every batch_args array
and of per-problem bounds. Rows are independent problems and the batch
functions' results do not depend on how the rows are cut, so every
problem's result is bit for bit the in-memory call's.
"""
import importlib
from collections.abc import Callable

import dask.array as da
import numpy as np

from .._batch import checked_plateau
from .._batch import minimize_batch as batch_in_memory
from .._run import MESSAGES, STATUS_OF_CODE, OptimizeResult
from ..least_squares import LM_MESSAGES
from ..least_squares import least_squares_batch as least_squares_in_memory
from ..optimizers import Optimizer
from ..quasi_newton.minimize_method import LBFGSB, checked_bounds, resolve_method
from ..schedules import ReduceLROnPlateau

STATUS_NAMES = np.array([s.value for s in STATUS_OF_CODE])
_BY_NAME = np.argsort(STATUS_NAMES)


def minimize_batch(fun: Callable, X0, method: "str | LBFGSB | Optimizer" = "lbfgs", *,
                   args: tuple = (), batch_args: tuple = (), options: dict | None = None,
                   bounds: object = None, max_iter: int = 1000, ftol: float | None = None,
                   gtol: float | None = None, xtol: float = 0.0,
                   plateau: "ReduceLROnPlateau | None" = None) -> OptimizeResult:
    """gdfast.minimize_batch with X0 a dask array, chunked by rows.

    Parameters
    ----------
    fun, method, args, options, max_iter, ftol, gtol, xtol, plateau
        As in `gdfast.minimize_batch` (a plateau goes to every task with the
        method, so each problem's rates are the in-memory call's). fun is
        sent to the workers: register it with `gdfast.cached_objective` (and
        define it in a module the workers can import) so that each worker
        loads the compiled loop from the disk cache instead of compiling it.
    X0 : dask array, shape (n_problems, n_params)
        Chunked by rows (the columns are made one chunk).
    batch_args : tuple of arrays, default ()
        Dask or numpy arrays whose first axis has n_problems rows (rechunked
        to X0's rows).
    bounds : optional
        As in `gdfast.minimize_batch`; per-problem bounds (lo, hi) as dask or
        numpy arrays shaped like X0 go to each task by rows.

    Returns
    -------
    OptimizeResult
        Lazy dask arrays, chunked as X0's rows: x (n_problems, n_params), fun,
        nit (int64), status (str) and success (bool), and with a plateau lr
        (each problem's last rate), each problem's values bit for bit those
        of the in-memory call; ``messages`` maps the status names to their
        meaning.

    Raises
    ------
    ValueError
        X0 is not 2-D, or a batch_args array's first axis is not n_problems,
        or shared bounds do not fit.
    TypeError
        X0 does not hold real numbers, or batch_args is not a tuple.

    Notes
    -----
    Nothing runs until the arrays are computed (or stored:
    ``da.to_zarr(res.x, ...)``); computing several, use
    ``dask.compute(res.x, res.fun, ...)`` so that the fits run once.
    """
    X, blocks, shapes, bounds = _row_blocks(X0, batch_args, bounds)
    n = X.shape[1]
    settings = dict(method=method, args=args, options=options, bounds=bounds,
                    max_iter=max_iter, ftol=ftol, gtol=gtol, xtol=xtol)
    columns: tuple[str, ...] = ("fun", "nit")
    if plateau is not None:         # pickled with the method: the task sees its own optimizer
        checked_plateau(plateau, resolve_method(method, options), 1)     # here, not in a task
        settings["plateau"] = plateau
        columns += ("lr",)
    # one float64 block per chunk: x, the columns, status code (exact as floats)
    width = n + len(columns) + 1
    packed = da.map_blocks(_fit_rows, X, *blocks, solver=batch_in_memory,
                           functions=dict(fun=by_reference(fun)), shapes=shapes,
                           settings=settings, columns=columns,
                           chunks=(X.chunks[0], (width,)), dtype=np.float64)
    status, success = _statuses(packed[:, width - 1])
    extra = {} if plateau is None else {"lr": packed[:, n + 2]}
    return OptimizeResult(x=packed[:, :n], fun=packed[:, n], nit=packed[:, n + 1].astype(np.int64),
                          status=status, success=success, **extra,
                          messages={s.value: MESSAGES[s] for s in STATUS_OF_CODE})


def least_squares_batch(fun: Callable, X0, jac: "Callable | bool | None" = None, *,
                        n_residuals: int,
                        args: tuple = (), batch_args: tuple = (), bounds: object = None,
                        max_iter: int = 100, ftol: float = 1e-8, xtol: float = 1e-8,
                        gtol: float = 1e-8) -> OptimizeResult:
    """gdfast.least_squares_batch with X0 a dask array, chunked by rows.

    Parameters
    ----------
    fun, jac, n_residuals, args, max_iter, ftol, xtol, gtol
        As in `gdfast.least_squares_batch`; fun and jac are sent to the
        workers by reference where their module defines them (see
        `minimize_batch`).
    X0, batch_args, bounds
        As in `minimize_batch` of this module.

    Returns
    -------
    OptimizeResult
        Lazy dask arrays, chunked as X0's rows: x, cost, fun (the residuals,
        (n_problems, n_residuals)), nit, nfev, njev (int64), status (str) and
        success (bool), each problem's values bit for bit those of the
        in-memory call.
    """
    X, blocks, shapes, bounds = _row_blocks(X0, batch_args, bounds)
    n = X.shape[1]
    n_res = int(n_residuals)
    settings = dict(n_residuals=n_residuals, args=args, bounds=bounds, max_iter=max_iter,
                    ftol=ftol, xtol=xtol, gtol=gtol)
    functions = dict(fun=by_reference(fun),
                     jac=jac if jac is None or isinstance(jac, bool) else by_reference(jac))
    # x, cost, nit, nfev, njev, status code, then the residuals
    packed = da.map_blocks(_fit_rows, X, *blocks, solver=least_squares_in_memory,
                           functions=functions, shapes=shapes, settings=settings,
                           columns=("cost", "nit", "nfev", "njev"), residuals=n_res,
                           chunks=(X.chunks[0], (n + 5 + n_res,)), dtype=np.float64)
    status, success = _statuses(packed[:, n + 4])
    counts = {k: packed[:, n + 1 + j].astype(np.int64) for j, k in enumerate(("nit", "nfev",
                                                                               "njev"))}
    return OptimizeResult(x=packed[:, :n], cost=packed[:, n], fun=packed[:, n + 5:], **counts,
                          status=status, success=success,
                          messages={s.value: LM_MESSAGES[s] for s in LM_MESSAGES})


def _row_blocks(X0, batch_args, bounds):
    """X0 as float64 chunked by rows only; the batch_args (and per-problem
    bounds, appended as two more) rechunked to its rows, 2-D; their trailing
    shapes; and the shared bounds to pass each task (None when per problem)."""
    X = da.asarray(X0)
    if X.ndim != 2:
        raise ValueError(f"X0 must be 2-D (n_problems, n_params), got shape {X.shape}")
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X0 must hold real numbers, got dtype {X.dtype}")
    m, n = X.shape
    X = X.rechunk({1: n}).astype(np.float64)
    if not isinstance(batch_args, tuple):
        raise TypeError(f"batch_args must be a tuple of arrays, got {type(batch_args).__name__}")
    arrays = []
    for k, b in enumerate(batch_args):
        b = da.asarray(b)
        if b.ndim == 0 or b.shape[0] != m:
            raise ValueError(f"batch_args[{k}] must have first axis of length {m} (one row per "
                             f"problem), got shape {b.shape}")
        arrays.append(b)
    shapes = [b.shape[1:] for b in arrays]
    if _per_problem(bounds, m, n):
        arrays += [da.asarray(_free(side, free, m, n)).astype(np.float64)
                   for side, free in zip(bounds, (-np.inf, np.inf))]
        shapes += [PER_PROBLEM_BOUNDS, PER_PROBLEM_BOUNDS]
        bounds = None
    elif bounds is not None:
        checked_bounds(bounds, (n,))           # shared: named here, before any task
    blocks = [_rows_as_2d(b.rechunk({0: X.chunks[0], **{a: -1 for a in range(1, b.ndim)}}))
              for b in arrays]
    return X, blocks, tuple(shapes), bounds


# the trailing shape that marks the two per-problem bound arrays among the blocks
PER_PROBLEM_BOUNDS = ("bounds",)


def _per_problem(bounds, m, n):
    return (isinstance(bounds, (tuple, list)) and len(bounds) == 2 and
            any(getattr(side, "shape", None) == (m, n) for side in bounds) and (m, n) != (2, 2))


def _free(side, free, m, n):
    return da.full((m, n), free) if side is None else side


def _statuses(code_column):
    codes = code_column.astype(np.int64)
    status = codes.map_blocks(lambda c: STATUS_NAMES[c], dtype=STATUS_NAMES.dtype)
    success = status.map_blocks(lambda s: np.isin(s, ["gtol", "ftol", "xtol"]), dtype=bool)
    return status, success


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


def _fit_rows(X, *blocks, solver, functions, shapes, settings, columns, residuals=0,
              block_info=None):
    """The task: the batch solver on one chunk of rows; float64 (rows, n + 1 +
    len(columns) + residuals): x, the columns, the status code, the
    residuals. An empty chunk gives an empty block; an error names the
    chunk's rows of X0 (the solver's own indices are the chunk's)."""
    rows, n = X.shape
    width = n + 1 + len(columns) + residuals
    if rows == 0:
        return np.empty((0, width))
    functions = {k: f.resolve() if isinstance(f, ImportedFunction) else f
                 for k, f in functions.items()}
    arrays = [np.ascontiguousarray(b).reshape((rows, *shape)) if shape != PER_PROBLEM_BOUNDS
              else np.ascontiguousarray(b) for b, shape in zip(blocks, shapes)]
    batch_args = tuple(a for a, shape in zip(arrays, shapes) if shape != PER_PROBLEM_BOUNDS)
    sides = [a for a, shape in zip(arrays, shapes) if shape == PER_PROBLEM_BOUNDS]
    if sides:
        settings = {**settings, "bounds": tuple(sides)}
    fun = functions.pop("fun")
    try:
        res = solver(fun, X, *functions.values(), batch_args=batch_args, **settings)
    except ValueError as err:
        if block_info is None:
            raise
        first, last = block_info[0]["array-location"][0]
        raise ValueError(f"in rows {first}..{last - 1} of X0 (one chunk; indices below are "
                         f"within it): {err}") from None
    codes = _BY_NAME[np.searchsorted(STATUS_NAMES, res.status, sorter=_BY_NAME)]
    parts = [res.x] + [res[c].astype(np.float64) for c in columns] + [codes.astype(np.float64)]
    if residuals:
        parts.append(res.fun)
    return np.column_stack(parts)
