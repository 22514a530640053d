"""gdfast.minimize: run an optimizer to convergence, scipy.optimize style."""
import hashlib
import math
import os
import time
from collections.abc import Callable

import numpy as np
from numba.core.dispatcher import Dispatcher
from numpy.typing import ArrayLike

from . import _validation as check
from . import kernels
from ._gradients import Objective
from ._rules import SGD_PARALLEL_MIN_SIZE
from ._run import (
    STATUS_OF_CODE,
    Checkpoints,
    History,
    OptimizeResult,
    Status,
    deferred_interrupt,
    progress_bar,
    run_result,
)
from .checkpoint import checked_checkpoint_options, fingerprint_of
from .kernels.driver import (
    RUNNING,
    convergence_status,
    descend,
    first_order_descend,
    first_order_plateau_descend,
)
from .kernels.function_refs import cacheable
from .optimizers import Optimizer
from .quasi_newton.minimize_method import (
    DEFAULT_FTOL,
    DEFAULT_GTOL,
    LBFGSB,
    checked_bounds,
    project_into,
    resolve_method,
)
from .schedules import ReduceLROnPlateau

# The norms of the convergence checks are memory-bound passes like the plain
# update rules, and go parallel at the same length.
PARALLEL_MIN_SIZE = SGD_PARALLEL_MIN_SIZE
# The nopython loop records f and max|g| for at most this many iterates.
NOPYTHON_HISTORY_CAP = 10_000_000
# The nopython loop returns to Python about this often (seconds), so that
# Ctrl-C is answered; the pauses change no number of the run.
NOPYTHON_CHUNK_SECONDS = 0.1
# max_iter beyond an int64 means "no bound" to the compiled loops
INT64_MAX = 2**63 - 1
# the first-order rules' ftol and gtol defaults, and their tests' scales
# (kernels.driver.convergence_status: scipy's rules, absolute gtol)
FIRST_ORDER_FTOL, FIRST_ORDER_GTOL = 0.0, 1e-6
FIRST_ORDER_SCALES = np.ones(2)


def minimize(fun: Callable, x0: ArrayLike, method: "str | Optimizer | LBFGSB" = "lbfgs", *,
             jac: "bool | str | Callable" = True, args: tuple = (), options: dict | None = None,
             bounds: object = None, max_iter: int = 1000, ftol: float | None = None,
             gtol: float | None = None, xtol: float = 0.0,
             callback: Callable[[OptimizeResult], None] | None = None, progress: bool = False,
             on_nonfinite: str = "stop", max_skips: int = 10,
             checkpoint: "str | os.PathLike | None" = None, checkpoint_every: int = 0,
             resume: bool = False) -> OptimizeResult:
    """Minimise fun from x0: L-BFGS (with bounds, if given) or a first-order rule.

    Parameters
    ----------
    fun : callable
        With ``jac=True``, ``fun(x, *args) -> (f, g)``: a real scalar f and a
        gradient g shaped like x0. Otherwise ``fun(x, *args) -> f``. x is
        passed as a float64 array shaped like x0 that gdfast owns: read it, do
        not keep or modify it.
    x0 : array_like
        Real numbers, any shape, finite, not empty; it is copied, never
        modified.
    method : Optimizer or str, default 'lbfgs'
        'lbfgs': L-BFGS with a strong Wolfe line search, or with ``bounds``
        a projected one (docs/minimize.md); no learning rate to choose.
        ``options`` may set ``m`` (pairs kept, default 10, scipy's maxcor)
        and ``max_ls`` (evaluations per line search, default 20).
        Or a first-order rule, for stochastic objectives or when a step must
        cost one gradient: an optimizer object (`gdfast.SGD`, `Adagrad`,
        `RMSprop`, `Adam`, ...) or a name: 'gd' (SGD, lr 0.1), 'sgd',
        'momentum' (lr 0.1, momentum 0.9), 'nesterov' (likewise), 'adagrad',
        'rmsprop', 'adam', 'adamw', 'adamax', 'nadam', 'radam', 'adadelta',
        'rprop', 'lion'; a name takes its hyperparameters from ``options``.
    jac : bool, callable, '3-point' or 'inplace', default True
        True: fun returns (f, g). A callable ``jac(x, *args) -> g``.
        '3-point': central differences (compiled and parallel over coordinates
        when fun is a numba @njit function of a 1-D x). 'inplace':
        ``fun(x, g, *args) -> f`` writes the gradient into g (a float64 array
        shaped like x0), so large problems allocate nothing per iteration.
    args : tuple, default ()
        Extra arguments passed to fun (and jac) after x; a single value that
        is not a tuple is passed as the one extra argument.
    options : dict, optional
        The hyperparameters of a method given by name (``{'lr': 0.01}``); not
        allowed with an optimizer object, which holds its own.
    bounds : scipy.optimize.Bounds, sequence or pair of arrays, optional
        For 'lbfgs': lower and upper bounds on x, as a
        ``scipy.optimize.Bounds``, a sequence of one (lo, hi) pair per
        element of x0, or a pair (lo, hi) of arrays (or numbers) broadcast
        to x0's shape; None or +-inf for a free side. An x0 outside them is
        projected onto them (said in the result's message). Every point
        evaluated lies inside them.
    max_iter : int, default 1000
        The most iterations, >= 0.
    ftol : float, optional
        Stop when the relative change of f is at most ftol: with 'lbfgs'
        ``|f_prev - f| <= ftol * max(|f_prev|, |f|)``, relative to f alone, so
        the run does not depend on f's units (default 1e-12); with a
        first-order rule ``|f_prev - f| <= ftol * max(|f_prev|, |f|, 1)``
        (scipy's rule; default 0 = off).
    gtol : float, optional
        Stop when the gradient's norm ``max_i |g_i|`` (with bounds, the
        projected gradient's, ``max_i |P(x - g)_i - x_i|``, P the projection
        onto the bounds) is at most gtol times its value at x0 for 'lbfgs'
        (default 1e-12: a relative test), at most gtol for a first-order rule
        (default 1e-6). Also checked at x0; with 0 only an exactly zero
        gradient stops.
    xtol : float, default 0.0
        Stop when ``max_i |dx_i| <= xtol * max(1, max_i |x_i|)``; 0 = off.
    callback : callable, optional
        ``callback(intermediate_result)`` after every step, with an
        `OptimizeResult` holding x (read-only, shaped like x0), fun and nit;
        raising StopIteration stops the run with status 'callback' (scipy's
        convention). A `gdfast.schedules.ReduceLROnPlateau` of the method's
        optimizer keeps the nopython mode (see Notes).
    progress : bool, default False
        True shows a tqdm progress bar with the current f (needs tqdm:
        ``pip install tqdm``).
    on_nonfinite : {'stop', 'raise', 'skip'}, default 'stop'
        What a NaN or inf in f, the gradient or the new iterate does.
        'lbfgs' never steps to such a point: its line search counts a trial
        point with NaN or inf as too far and shortens the step (as scipy
        does); a NaN or inf at x0 stops the run ('stop') or raises
        ('raise'), and 'skip' is for first-order rules only.
        'stop': stop with status 'non-finite' and return the last finite
        iterate (keeps a copy of x for that).
        'raise': raise FloatingPointError (keeps no copy: the least memory,
        x + gradient + optimizer state).
        'skip': skip the step, like optax.apply_if_finite: x and the optimizer
        state stay as they are, f and the gradient are evaluated again (a
        stochastic objective draws anew), and ``max_skips`` such evaluations in
        a row stop the run with status 'max_skips' and the last finite
        iterate. The result's ``nskipped`` counts them.
        A step that writes NaN or inf into x or the optimizer state (an
        overflow from finite f and g) stops the run ('non-finite') in every
        mode.
    max_skips : int, default 10
        For ``on_nonfinite='skip'``, >= 1.
    checkpoint : str or os.PathLike, optional
        A path (.npz): save the run there every ``checkpoint_every`` iterations,
        at the end of the run and when it is interrupted (see
        `gdfast.checkpoint`). Not written after a non-finite stop, so the last
        good one stays.
    checkpoint_every : int, default 0
        Iterations between checkpoints; 0: only at the end.
    resume : bool, default False
        True: go on from ``checkpoint``, which must exist and come from the same
        fun's x0, optimizer and hyperparameters (otherwise FileNotFoundError or
        `gdfast.checkpoint.CheckpointError`, never a silent restart). For a
        deterministic fun the iterates, f and gradient histories, x, fun, jac
        and nit are bit for bit those of a run that was never stopped; nfev
        counts the evaluation made to resume. A larger max_iter goes on with a
        run that ended there.

    Returns
    -------
    OptimizeResult
        x, fun, jac, nit, nfev, nskipped, status, success, message,
        fun_history and grad_norm_history (one entry per iterate, x_0
        included), and ``nopython`` (see `gdfast.OptimizeResult`).

    Raises
    ------
    ValueError, TypeError
        For an argument out of its range or of the wrong type, named in the
        message, before anything runs.
    FloatingPointError
        With ``on_nonfinite='raise'``, at a non-finite f, gradient or iterate.
    FileNotFoundError, gdfast.checkpoint.CheckpointError
        With ``resume=True``: no checkpoint, or one from another run.

    Notes
    -----
    Ctrl-C (SIGINT, in the main thread) stops the run after the iteration in
    progress and returns status 'interrupted' with the last complete iterate
    (and saves the checkpoint); a second Ctrl-C raises KeyboardInterrupt at
    once.

    Nopython mode: when fun is a numba @njit function, ``jac='inplace'``, x0 is
    1-D and there is no callback and no progress bar, the whole loop runs in
    compiled code (``gdfast.kernels.driver.descend``) with the same stopping
    rules, returning to Python only every ~0.1 s (for Ctrl-C) and at
    checkpoints; the result says ``nopython=True``. A callback that is a
    `gdfast.schedules.ReduceLROnPlateau` of the method's optimizer (lr a
    number) runs inside that loop (kernels.schedules.plateau_step after each
    step's f): the same iterates, bit for bit, as the callback in Python, and
    the plateau and ``opt.lr`` end as it would leave them (updated at every
    return to Python). Its state is not in the checkpoint, so ``resume=True``
    with it is refused (ValueError); writing checkpoints is fine. The first call with a new
    objective compiles the loop for it (seconds): once per process, or once per
    machine for an objective registered with `gdfast.cached_objective` (the
    loop is then cached on disk).

    Examples
    --------
    >>> import numpy as np
    >>> import gdfast
    >>> def fun(x):
    ...     return ((x - 1.0) ** 2).sum(), 2 * (x - 1.0)
    >>> res = gdfast.minimize(fun, np.zeros(3), gdfast.SGD(lr=0.5))
    >>> print(res.status, res.nit, res.x)
    gtol 1 [1. 1. 1.]
    """
    x0_arr = check.real_array("x0", x0)      # not copied yet: the loops copy it once
    opt = resolve_method(method, options)
    quasi_newton = isinstance(opt, LBFGSB)
    max_iter = check.whole_number("max_iter", max_iter, 0)
    if ftol is None:
        ftol = DEFAULT_FTOL if quasi_newton else FIRST_ORDER_FTOL
    if gtol is None:
        gtol = DEFAULT_GTOL if quasi_newton else FIRST_ORDER_GTOL
    ftol = check.non_negative("ftol", ftol)
    gtol = check.non_negative("gtol", gtol)
    xtol = check.non_negative("xtol", xtol)
    if on_nonfinite not in ("stop", "raise", "skip"):
        raise ValueError(f"on_nonfinite must be 'stop', 'raise' or 'skip', got {on_nonfinite!r}")
    if quasi_newton and on_nonfinite == "skip":
        raise ValueError("on_nonfinite='skip' is for the first-order rules (a stochastic "
                         "objective); 'lbfgs' shortens a step that reaches NaN or inf instead")
    if bounds is not None and not quasi_newton:
        raise ValueError(f"bounds are for method='lbfgs'; {type(opt).__name__} takes no bounds")
    lower, upper = (checked_bounds(bounds, x0_arr.shape) if bounds is not None
                    else (np.empty(0), np.empty(0)))
    max_skips = check.whole_number("max_skips", max_skips, 1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    checkpoint_every, resume = checked_checkpoint_options(checkpoint, checkpoint_every, resume)
    if not isinstance(args, tuple):
        args = (args,)
    objective = Objective(fun, jac, args, x0_arr.shape)
    progress = check.boolean("progress", progress)
    plateau = _compiled_plateau(callback, opt)
    nopython = (jac == "inplace" and x0_arr.ndim == 1 and (callback is None or plateau is not None)
                and not progress and isinstance(fun, Dispatcher))  # numba's is_jitted test
    if not nopython:
        plateau = None
    elif plateau is not None and resume:
        raise ValueError("resume=True with callback=ReduceLROnPlateau in nopython mode: a "
                         "checkpoint holds no plateau state (best, counters, lr), so the "
                         "plateau would silently start again; run without resume, or pass "
                         "callback=lambda r: plateau(r) for the Python loop (whose "
                         "checkpoints do not hold it either)")
    run = _Run(x0_arr, opt, keep_prev=not quasi_newton and (on_nonfinite != "raise" or xtol > 0),
               history_cap=NOPYTHON_HISTORY_CAP if nopython else None, max_iter=max_iter)
    projected = lower.size > 0 and project_into(run.x, lower, upper)
    saver = _Saver(None if checkpoint is None else
                   Checkpoints(checkpoint, checkpoint_every, "minimize",
                               fingerprint_of(opt, x0_arr, **_bounds_settings(lower, upper))),
                   run)
    if resume:
        saver.restore()
    limits = _Limits(max_iter, ftol, gtol, xtol, max_skips if on_nonfinite == "skip" else 0)
    advance: _TimedNopythonSteps | _NopythonSteps | _PythonSteps | _PythonLoopSteps
    bar = None if nopython else progress_bar(progress, max_iter)
    if isinstance(opt, LBFGSB) and nopython:
        timed = opt.compiled_loop(run.state, lower, upper)
        advance = (_TimedNopythonSteps(cacheable(fun), args, timed, run, limits) if timed else
                   _NopythonSteps(cacheable(fun), args, opt.chunked_loop(run.state, lower, upper),
                                  run, limits))
    elif isinstance(opt, LBFGSB):
        steps, data = opt.python_loop(run.state, lower, upper, ftol)
        advance = _PythonLoopSteps(objective, steps, data, run.state.scales, run, limits,
                                   callback, bar)
    elif nopython:
        advance = _NopythonSteps(cacheable(fun), args, _first_order_loop(opt, run, plateau), run,
                                 limits)
    else:
        advance = _PythonSteps(objective, opt, run, limits, callback, bar)
    try:
        with deferred_interrupt() as interrupted:
            while run.status is None:
                advance(saver.next_pause(), interrupted)
                if plateau is not None:
                    plateau.sync()
                if run.status is None and interrupted():
                    run.status = Status.INTERRUPTED
                saver.save_if_due()
    finally:
        advance.close()
        if plateau is not None:
            plateau.sync()
    if run.status == Status.NON_FINITE and on_nonfinite == "raise":
        hint = ("f or its gradient is NaN or inf at x0" if quasi_newton else
                "lower the learning rate, or pass on_nonfinite='stop' to get the last finite "
                "iterate back")
        raise FloatingPointError(
            f"non-finite value after {run.nit} steps: f = {run.failed_f!r}, max|g| = "
            f"{run.failed_g_norm!r} (or a non-finite iterate); {hint}")
    result = run.result(nopython)
    if projected:
        result.message += " (x0 was outside the bounds: projected onto them)"
    return result


def _bounds_settings(lower, upper):
    """The bounds' part of a checkpoint's fingerprint: none without bounds."""
    if lower.size == 0:
        return {}
    return {"bounds_sha256": hashlib.sha256(lower.tobytes() + upper.tobytes()).hexdigest()}


class _Limits:
    """The stopping rules of one run."""

    def __init__(self, max_iter, ftol, gtol, xtol, max_skips):
        self.max_iter, self.ftol, self.gtol, self.xtol = max_iter, ftol, gtol, xtol
        self.max_skips = max_skips

    def failure(self, step_norm):
        """The status of a run whose f or gradient stayed non-finite."""
        if self.max_skips > 0 and math.isfinite(step_norm):
            return Status.MAX_SKIPS
        return Status.NON_FINITE


class _Run:
    """What a run has: the iterate x (n,), its gradient g, a copy of the
    previous iterate (n,) when failed steps are undone (else empty), the
    optimizer state, f and max|g| at x, the counters and the histories."""

    def __init__(self, x0, opt, keep_prev, history_cap, max_iter):
        self.shape = x0.shape
        self.x = x0.ravel().copy()
        n = self.x.size
        self.g = np.empty(n)
        self.x_prev = np.empty(n if keep_prev else 0)
        self.opt = opt
        self.state = opt.init(self.x)
        self.f = self.g_norm = math.nan
        self.failed_f = self.failed_g_norm = math.nan
        self.nit = self.nfev = self.nskipped = 0
        self.evaluated = False
        self.status = None
        self.history = History(max_iter, history_cap)

    def result(self, nopython):
        return run_result(self.x.reshape(self.shape), self.f, self.g.reshape(self.shape),
                          self.nit, self.nfev, self.nskipped, self.status, self.history,
                          nopython)


class _PythonSteps:
    """The loop of minimize in Python: any objective, callback, progress bar."""

    def __init__(self, objective, opt, run, limits, callback, bar):
        self.objective, self.opt, self.run, self.limits = objective, opt, run, limits
        self.callback, self.bar = callback, bar
        n = run.x.size
        self.max_abs, self.max_abs_diff = (
            (kernels.max_abs, kernels.max_abs_diff) if n < PARALLEL_MIN_SIZE
            else (kernels.max_abs_parallel, kernels.max_abs_diff_parallel))
        self.x_view = run.x.reshape(run.shape).view()
        self.x_view.flags.writeable = False

    def close(self):
        self.bar.close()

    def _evaluate(self, count):
        """f and g at x, again while non-finite (up to max_skips in all)."""
        run, n_eval = self.run, 0
        while True:
            before = self.objective.nfev          # a '3-point' gradient counts its evaluations
            f = self.objective(run.x, run.g)
            run.nfev += self.objective.nfev - before
            g_norm = self.max_abs(run.g)
            n_eval += 1
            if (math.isfinite(f) and math.isfinite(g_norm)) or n_eval >= count:
                return f, g_norm, n_eval

    def __call__(self, pause_at, interrupted):
        run, lim = self.run, self.limits
        x, g, x_prev, keep = run.x, run.g, run.x_prev, run.x_prev.size > 0
        if not run.evaluated:
            f, g_norm, n_eval = self._evaluate(lim.max_skips)
            if not (math.isfinite(f) and math.isfinite(g_norm)):
                run.nskipped += n_eval
                run.f, run.g_norm, run.failed_f, run.failed_g_norm = f, g_norm, f, g_norm
                run.status = lim.failure(0.0)
                return
            run.nskipped += n_eval - 1
            run.f, run.g_norm, run.evaluated = f, g_norm, True
            run.history.record_at(run.nit, f, g_norm)
            if g_norm <= lim.gtol:
                run.status = Status.GTOL
                return
        while True:
            if run.nit >= lim.max_iter:
                run.status = Status.MAX_ITER
                return
            if run.nit == pause_at or interrupted():
                return
            if keep:
                np.copyto(x_prev, x)
            try:
                self.opt.step(x, g, run.state)
            except FloatingPointError:            # NaN or inf written into x or the state
                step_norm = math.nan
            else:
                step_norm = self.max_abs_diff(x, x_prev) if keep else 0.0
            f_prev, g_norm_prev = run.f, run.g_norm
            f, g_norm, n_eval = f_prev, g_norm_prev, 0
            if math.isfinite(step_norm):          # NaN or inf written: no evaluation can help
                f, g_norm, n_eval = self._evaluate(lim.max_skips)
            if not (math.isfinite(f) and math.isfinite(g_norm) and math.isfinite(step_norm)):
                run.nskipped += n_eval
                run.failed_f, run.failed_g_norm = f, g_norm
                run.status = lim.failure(step_norm)
                if keep:                              # back to the last finite iterate
                    np.copyto(x, x_prev)
                    run.f, run.g_norm, n_eval = self._evaluate(1)
                    if not (math.isfinite(run.f) and math.isfinite(run.g_norm)):
                        run.nskipped += n_eval        # still broken there: f as recorded
                        run.f, run.g_norm = f_prev, g_norm_prev
                else:
                    run.f, run.g_norm = f, g_norm
                return
            run.nskipped += n_eval - 1
            run.nit += 1
            run.f, run.g_norm = f, g_norm
            run.history.record_at(run.nit, f, g_norm)
            self.bar.update(f)
            if self.callback is not None:
                try:
                    self.callback(OptimizeResult(x=self.x_view, fun=f, nit=run.nit))
                except StopIteration:
                    run.status = Status.CALLBACK
                    return
            code = convergence_status(g_norm, f_prev, f, step_norm, x, lim.gtol, lim.ftol, lim.xtol,
                                      FIRST_ORDER_SCALES)
            if code != RUNNING:
                run.status = STATUS_OF_CODE[code]
                return


class _NopythonSteps:
    """The loop of minimize in compiled code (gdfast.kernels.driver.descend)
    for a method's (steps, data), in chunks of about NOPYTHON_CHUNK_SECONDS
    so that Ctrl-C is answered."""

    def __init__(self, fun, args, loop, run, limits):
        # loop(fun, args, run, limits, stop) -> DriverResult: the compiled loop
        # of the method, from the run's iterate until iteration stop
        self.fun, self.args, self.loop, self.run, self.limits = fun, args, loop, run, limits
        self.chunk = 1

    def close(self):
        pass

    def _next_chunk(self, seconds, iterations):
        """Iterations for about NOPYTHON_CHUNK_SECONDS at the rate just seen
        (call overhead included, so a short first chunk underestimates the
        rate), growing at most 1024-fold per chunk in case it was unusually fast."""
        per_iteration = seconds / max(iterations, 1)
        fit = int(NOPYTHON_CHUNK_SECONDS / per_iteration) if per_iteration > 0 else 1 << 40
        self.chunk = max(1, min(fit, self.chunk * 1024, 1 << 40))

    def __call__(self, pause_at, interrupted):
        run = self.run
        chunk_end = run.nit + self.chunk
        stop = chunk_end if pause_at < 0 else min(pause_at, chunk_end)
        start, before = time.perf_counter(), run.nit
        r = self.loop(self.fun, self.args, run, self.limits, stop)
        self._next_chunk(time.perf_counter() - start, r.nit - before)
        _absorb(run, r, r.nfev)


class _TimedNopythonSteps:
    """The loop of minimize in compiled code that times its own chunks
    (LBFGSB.compiled_loop): one call from Python per NOPYTHON_CHUNK_SECONDS
    (so that Ctrl-C is answered) or per checkpoint, and a short run in one
    call."""

    def __init__(self, fun, args, loop, run, limits):
        # loop(fun, args, run, limits, stop, seconds) -> (nit, fun, status,
        # nfev, skipped, grad_norm), from the run's iterate until iteration
        # stop (-1: none) or until about ``seconds`` have passed
        self.fun, self.args, self.loop, self.run, self.limits = fun, args, loop, run, limits

    def close(self):
        pass

    def __call__(self, pause_at, interrupted):
        run = self.run
        nit, fun, status, nfev, skipped, grad_norm = self.loop(
            self.fun, self.args, run, self.limits, pause_at, NOPYTHON_CHUNK_SECONDS)
        _take(run, nit, fun, status, nfev, skipped, grad_norm, nfev)


class _PythonLoopSteps:
    """kernels.driver.descend run as Python (its py_func, with the method's
    Python bodies over the compiled vector passes) for a Python objective,
    one iteration per call so that the callback, the progress bar and
    Ctrl-C are served between iterations."""

    def __init__(self, objective, steps, data, scales, run, limits, callback, bar):
        self.objective, self.steps, self.data, self.scales = objective, steps, data, scales
        self.run, self.limits, self.callback, self.bar = run, limits, callback, bar
        self.descend = getattr(descend, "py_func", descend)
        self.x_view = run.x.reshape(run.shape).view()
        self.x_view.flags.writeable = False

    def close(self):
        self.bar.close()

    def __call__(self, pause_at, interrupted):
        run = self.run
        while run.status is None:
            if run.evaluated and (run.nit == pause_at or interrupted()):
                return
            before = self.objective.nfev         # a '3-point' gradient counts its evaluations
            stop = run.nit + 1 if run.evaluated else run.nit
            run.history.make_room(stop)
            hist_f, hist_g = run.history.reserve()
            r = self.descend(self.objective, run.x, run.g, run.x_prev, run.f, run.g_norm, run.nit,
                             run.evaluated, (), self.steps, self.data,
                             min(self.limits.max_iter, INT64_MAX), stop, self.limits.ftol,
                             self.limits.gtol, self.limits.xtol, self.scales,
                             self.limits.max_skips, hist_f, hist_g)
            stepped = r.nit > run.nit
            _absorb(run, r, self.objective.nfev - before)
            if stepped:
                self.bar.update(run.f)
                if self.callback is not None and run.status is None:
                    try:
                        self.callback(OptimizeResult(x=self.x_view, fun=run.f, nit=run.nit))
                    except StopIteration:
                        run.status = Status.CALLBACK


class _Plateau:
    """A ReduceLROnPlateau run inside minimize's compiled loop: its kernel
    state (kernels.schedules.plateau_state), which the loop updates, and
    ``sync`` to give the object (and the optimizer's lr) that state."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.state = scheduler.kernel_state()

    def sync(self):
        self.scheduler.load_kernel_state(self.state)


def _compiled_plateau(callback, opt):
    """A _Plateau for a callback the compiled loop can run in its place: a
    ReduceLROnPlateau (its own class: a subclass may do more) of opt itself
    whose lr is a number; else None (the callback runs in Python)."""
    if type(callback) is not ReduceLROnPlateau or callback.optimizer is not opt:
        return None
    try:
        return _Plateau(callback)
    except TypeError:               # lr a schedule: the callback raises it, in Python
        return None


def _first_order_loop(opt, run, plateau=None):
    """The compiled loop of opt's run for _NopythonSteps: descend with
    FIRST_ORDER (kernels.driver.first_order_descend; refs where the functions
    have them, so that the compiled loop is cached on disk), or under a
    _Plateau with FIRST_ORDER_PLATEAU (first_order_plateau_descend)."""
    lr = opt.lr
    kernel, schedule = cacheable(opt.rule.kernel_for(run.x.size)), cacheable(lr.kernel)

    if plateau is not None:
        def plateau_loop(fun, args, run, lim, stop):
            hist_f, hist_g = run.history.reserve()
            return first_order_plateau_descend(
                fun, run.x, run.g, run.x_prev, run.f, run.g_norm, run.nit, run.evaluated, args,
                kernel, run.state.arrays, opt.hyper, plateau.state, min(lim.max_iter, INT64_MAX),
                stop, lim.ftol, lim.gtol, lim.xtol, lim.max_skips, hist_f, hist_g)
        return plateau_loop

    def loop(fun, args, run, lim, stop):
        hist_f, hist_g = run.history.reserve()
        return first_order_descend(fun, run.x, run.g, run.x_prev, run.f, run.g_norm, run.nit,
                                   run.evaluated, args, kernel, run.state.arrays, opt.hyper,
                                   schedule, lr.lr0, lr.params, min(lim.max_iter, INT64_MAX),
                                   stop, lim.ftol, lim.gtol, lim.xtol, lim.max_skips, hist_f,
                                   hist_g)
    return loop


def _absorb(run, r, nfev):
    """Take a descend call's DriverResult r (nfev evaluations) into the run."""
    _take(run, r.nit, r.fun, r.status, r.nfev, r.skipped, r.grad_norm, nfev)


def _take(run, nit, fun, status, calls_nfev, skipped, grad_norm, nfev):
    """Take a descend call's result into the run: nit, fun, status, the
    call's evaluations and the non-finite ones among them (calls_nfev,
    skipped), grad_norm; nfev evaluations to count."""
    failed_at_start = not run.evaluated and calls_nfev == skipped
    run.nfev += nfev
    run.nskipped += skipped
    run.nit = nit
    run.state.t = nit
    run.f, run.g_norm, run.evaluated = fun, grad_norm, not failed_at_start
    # entry nit is recorded unless every evaluation at the start failed
    run.history.size = min(nit + (not failed_at_start), run.history.reserve()[0].size)
    if status != RUNNING:
        run.status = STATUS_OF_CODE[status]
        if run.status in (Status.NON_FINITE, Status.MAX_SKIPS):
            run.failed_f, run.failed_g_norm = fun, grad_norm


class _Saver:
    """When minimize's loop pauses for a checkpoint, and what it saves there
    and resumes from (a _run.Checkpoints, or None: no checkpoint)."""

    def __init__(self, checkpoints, run):
        self.checkpoints, self.run = checkpoints, run

    def next_pause(self):
        """The iteration at which the loop should pause for a checkpoint (-1: none)."""
        return -1 if self.checkpoints is None else self.checkpoints.next_pause(self.run.nit)

    def save_if_due(self):
        run, ck = self.run, self.checkpoints
        if ck is None or run.status in (Status.NON_FINITE, Status.MAX_SKIPS):
            return
        if run.status is not None or ck.due(run.nit):
            ck.save(run.x.reshape(run.shape), run.state, run.nit, run.nfev, run.nskipped,
                    run.history.records(run.history.size))

    def restore(self):
        # f and g at x are evaluated again (a deterministic fun gives the same
        # bits), and recorded as entry nit again
        run = self.run
        c, _, run.state = self.checkpoints.restore(run.opt, run.x, run.history)
        run.nit, run.nfev, run.nskipped = c["nit"], c["nfev"], c["nskipped"]
