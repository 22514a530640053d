"""minimize's method 'lbfgs': L-BFGS with bounds in minimize's loop.

The iterations are kernels.lbfgs_b's (begin, advance) pair, run by the loop
every method of minimize runs, kernels.driver.descend: compiled for a numba
objective (nopython mode), as Python (``py_func``, the same code and the
same compiled vector passes, so the same numbers) for a Python one.
"""
import math

import numpy as np

from .. import _validation as check
from ..kernels import clock, lbfgs_b
from ..optimizers import METHODS, Optimizer, make_optimizer
from .lbfgs import PARALLEL_MIN_SIZE, python_body, python_wolfe

# minimize's defaults for this method: the relative change of f (to f alone)
# and the stationarity measure relative to its value at x0. Chosen on the
# solver suite (gdfast bench solve): scipy's factr (2.2e-9, floor 1) and
# pgtol (1e-5, absolute) stop 9 of its 20 problems short of their minimum
# (f within 1e-8 of the best found); these stop none, for 1.08x scipy's
# evaluations on the problems both solve (ftol 1e-10: 19 of 20, 1.05x, and
# the polynomial fit of gdfast.problems 1e3 times less accurate in x).
DEFAULT_FTOL = 1e-12
DEFAULT_GTOL = 1e-12


class LBFGSBState:
    """A run's L-BFGS state: the kernel's tuple (kernels.lbfgs_b.lbfgs_b_state),
    of which a checkpoint keeps what the next iteration reads (the pairs, the
    ring's counts and the stopping tests' scales), and the step count t."""

    NAMES = ("S", "Y", "rho", "scalars", "scales")

    def __init__(self, n, m):
        self.kernel = lbfgs_b.lbfgs_b_state(n, m)
        d, w, x0, g0, G, S, Y, rho, alpha, part, scalars = self.kernel
        # convergence_status's (F_FLOOR, G_SCALE): relative to f alone, and to
        # the stationarity measure at x0 (set by the first evaluation)
        self.scales = np.array([0.0, -1.0])
        self.names = self.NAMES
        self.arrays = (S, Y, rho, scalars, self.scales)
        self.t = 0
        self.n = n


class LBFGSB:
    """The method 'lbfgs' of `gdfast.minimize`.

    Parameters
    ----------
    m : int, default 10
        The (s, y) pairs kept (scipy's maxcor).
    max_ls : int, default 20
        The most evaluations of one line search (scipy's maxls).
    """

    name = "lbfgs"

    def __init__(self, m: int = 10, max_ls: int = 20) -> None:
        self.m = check.whole_number("m", m, 1)
        self.max_ls = check.whole_number("max_ls", max_ls, 1)

    def init(self, x: np.ndarray) -> LBFGSBState:
        return LBFGSBState(x.size, self.m)

    def fingerprint(self) -> dict:
        """What a trajectory depends on, as JSON values (gdfast.checkpoint)."""
        return dict(optimizer="lbfgs", rule="lbfgs_b", hyper=[self.m, lbfgs_b.C1, self.max_ls],
                    lr=None)

    def compiled_loop(self, state: LBFGSBState, lower: np.ndarray, upper: np.ndarray):
        """The compiled loop for minimize's _NopythonSteps: ``loop(fun, args,
        run, limits, stop, seconds) -> (nit, fun, status, nfev, skipped,
        grad_norm)``, kernels.lbfgs_b.lbfgs_b_descend_timed (its parallel
        variant from PARALLEL_MIN_SIZE on), which also pauses after about
        ``seconds``; None where the compiled code has no clock
        (kernels.clock.AVAILABLE)."""
        if not clock.AVAILABLE:
            return None
        kernel = (lbfgs_b.lbfgs_b_descend_timed_parallel if state.n >= PARALLEL_MIN_SIZE else
                  lbfgs_b.lbfgs_b_descend_timed)
        flat, max_ls = state.kernel, self.max_ls
        scales = state.scales

        def loop(fun, args, run, lim, stop, seconds):
            hist_f, hist_g = run.history.reserve()
            return kernel(fun, run.x, run.g, run.f, run.g_norm, run.nit, run.evaluated, args,
                          *flat, lower, upper, max_ls, min(lim.max_iter, 2**63 - 1), stop,
                          lim.ftol, lim.gtol, scales, hist_f, hist_g, seconds)
        return loop

    def chunked_loop(self, state: LBFGSBState, lower: np.ndarray, upper: np.ndarray):
        """compiled_loop without the clock: ``loop(fun, args, run, limits,
        stop) -> DriverResult``, kernels.lbfgs_b.lbfgs_b_descend, the time
        of its chunks kept in Python."""
        kernel = (lbfgs_b.lbfgs_b_descend_parallel if state.n >= PARALLEL_MIN_SIZE else
                  lbfgs_b.lbfgs_b_descend)
        flat, max_ls = state.kernel, self.max_ls

        def loop(fun, args, run, lim, stop):
            hist_f, hist_g = run.history.reserve()
            return kernel(fun, run.x, run.g, run.f, run.g_norm, run.nit, run.evaluated, args,
                          *flat, lower, upper, max_ls, min(lim.max_iter, 2**63 - 1), stop,
                          lim.ftol, lim.gtol, state.scales, hist_f, hist_g)
        return loop

    def python_loop(self, state: LBFGSBState, lower: np.ndarray, upper: np.ndarray,
                    ftol: float):
        """(steps, method) for kernels.driver.descend's py_func: the Python
        bodies of LBFGS_B and the Python line search over the compiled
        vector passes, so that a Python objective gets the compiled loop's
        numbers."""
        passes = lbfgs_b.LBFGS_B_PARALLEL if state.n >= PARALLEL_MIN_SIZE else \
            lbfgs_b.LBFGS_B_SERIAL
        passes = (passes[0], python_wolfe)
        steps = (python_body(lbfgs_b.lbfgs_b_begin), python_body(lbfgs_b.lbfgs_b_advance))
        return steps, (passes, state.kernel, lower, upper, lbfgs_b.C1, self.max_ls, ftol)

    def __repr__(self):
        return f"LBFGSB(m={self.m}, max_ls={self.max_ls})"


def make_method(options: dict | None) -> LBFGSB:
    """The method 'lbfgs' with the hyperparameters in options (m, max_ls)."""
    try:
        return LBFGSB(**(options or {}))
    except TypeError as e:
        raise TypeError(f"options for method 'lbfgs' take m and max_ls: {e}") from None


def resolve_method(method: "str | LBFGSB | Optimizer", options: dict | None
                   ) -> "LBFGSB | Optimizer":
    """minimize's and minimize_batch's method: an LBFGSB for 'lbfgs' (or an
    LBFGSB given), else an Optimizer (by name with options, or given)."""
    if isinstance(method, LBFGSB):
        if options:
            raise TypeError("options is only for a method given by name; "
                            "pass the hyperparameters to the method object")
        return method
    if isinstance(method, str) and method.lower() == "lbfgs":
        return make_method(options)
    if isinstance(method, str) and method.lower() not in METHODS:
        raise ValueError(f"method must be 'lbfgs', an Optimizer or one of {sorted(METHODS)}, "
                         f"got {method!r}")
    return make_optimizer(method, options)


def project_into(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
    """Clip x into [lower, upper] in place (any shapes that broadcast); True
    if that moved it."""
    outside = bool(((x < lower) | (x > upper)).any())
    np.clip(x, lower, upper, out=x)
    return outside


def bounds_arrays(bounds, shape) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) float64 (n,) from minimize's ``bounds``: a
    scipy.optimize.Bounds (anything with lb and ub), a sequence of n
    (lo, hi) pairs, or a pair of arrays (or scalars) broadcast to x0's shape;
    None (or +-inf) for a free side."""
    n = math.prod(shape)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lo, hi = bounds.lb, bounds.ub
    else:
        try:
            items = list(bounds)
        except TypeError:
            raise TypeError("bounds must be a scipy.optimize.Bounds, a sequence of (lo, hi) "
                            f"pairs or a pair (lo, hi) of arrays, got {type(bounds).__name__}"
                            ) from None
        if len(items) == n and n != 2 and all(_is_pair(p) for p in items):
            lo, hi = [p[0] for p in items], [p[1] for p in items]
        elif len(items) == 2:
            lo, hi = items
            if n == 2 and all(_is_pair(p) for p in items) and \
                    not any(isinstance(p, np.ndarray) for p in items):
                lo, hi = [p[0] for p in items], [p[1] for p in items]
        else:
            raise ValueError(f"bounds must hold {n} (lo, hi) pairs (one per element of x0) or "
                             f"a pair (lo, hi) of arrays, got {len(items)} items")
    return _side("lower", lo, -np.inf, shape), _side("upper", hi, np.inf, shape)


def _is_pair(p):
    return isinstance(p, (tuple, list)) and len(p) == 2


def _side(name, values, free, shape):
    if values is None:
        return np.full(math.prod(shape), free)
    if isinstance(values, (list, tuple)):
        values = [free if v is None else v for v in values]
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"the {name} bounds must be real numbers (or None for none)") from None
    try:
        a = np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"the {name} bounds have shape {a.shape}, which does not fit x0's "
                         f"shape {shape}") from None
    if np.isnan(a).any():
        raise ValueError(f"the {name} bounds hold NaN (use -inf or inf, or None, for no bound)")
    return np.ascontiguousarray(a, dtype=np.float64).ravel().copy()


def checked_bounds(bounds, shape) -> tuple[np.ndarray, np.ndarray]:
    """bounds_arrays, with lower <= upper checked and -inf < upper, lower < inf."""
    lo, hi = bounds_arrays(bounds, shape)
    bad = np.flatnonzero(~(lo <= hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"bounds: lower > upper at index {i} ({lo[i]!r} > {hi[i]!r}) and "
                         f"{bad.size - 1} other(s)")
    if np.isposinf(lo).any() or np.isneginf(hi).any():
        raise ValueError("bounds: a lower bound of +inf or an upper bound of -inf leaves no "
                         "feasible point")
    return lo, hi



def batch_bounds(bounds, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) float64 (m, n) for minimize_batch's m problems of n
    parameters: bounds shared by every problem (a Bounds, n (lo, hi) pairs,
    or (lo, hi) of shape (n,) or scalars) or per problem ((lo, hi) of shape
    (m, n)); checked as checked_bounds checks them."""
    try:
        shared = checked_bounds(bounds, (n,))
    except ValueError as err:
        if "does not fit" not in str(err):
            raise
        lo, hi = checked_bounds(bounds, (m, n))
        return lo.reshape(m, n), hi.reshape(m, n)
    lo, hi = (np.ascontiguousarray(np.broadcast_to(a, (m, n))) for a in shared)
    return lo, hi
