"""gdfast.minimize: run an optimizer to convergence, scipy.optimize style."""
import math

import numpy as np

import numba.extending

from . import kernels
from . import validation as check
from .kernels.driver import NON_FINITE, RUNNING, convergence_status, minimize_nopython
from .gradients import central_difference_gradient, default_steps, scalar_value
from .optimizers import make_optimizer
from .result import MESSAGES, STATUS_OF_CODE, SUCCESS, OptimizeResult, Status
from .rules import SGD_PARALLEL_MIN_SIZE

# The norms of the convergence checks are memory-bound passes like the plain
# update rules, and go parallel at the same length.
PARALLEL_MIN_SIZE = SGD_PARALLEL_MIN_SIZE
# The nopython loop records f and max|g| for at most this many iterates.
NOPYTHON_HISTORY_CAP = 10_000_000


def minimize(fun, x0, method="adam", *, jac=True, args=(), options=None, max_iter=1000,
             ftol=0.0, gtol=1e-6, xtol=0.0, callback=None, progress=False,
             on_nonfinite="stop"):
    """Minimise fun from x0 with a first-order method.

    fun       callable. With jac=True, ``fun(x, *args) -> (f, g)``: a real
              scalar f and a gradient g shaped like x0. Otherwise
              ``fun(x, *args) -> f``. x is passed as a float64 array shaped
              like x0 that gdfast owns: read it, do not keep or modify it.
    x0        array-like of real numbers, any shape, finite, not empty; it is
              copied, never modified.
    method    an optimizer object (gdfast.SGD, Adagrad, RMSprop, Adam) or a
              name: 'gd' (SGD, lr 0.1), 'sgd', 'momentum' (lr 0.1, momentum
              0.9), 'nesterov' (likewise), 'adagrad', 'rmsprop', 'adam'; a
              name takes its hyperparameters from ``options`` (a dict).
    jac       True (fun returns (f, g)); a callable ``jac(x, *args) -> g``;
              '3-point' for central differences (compiled and parallel over
              coordinates when fun is a numba @njit function of a 1-D x); or
              'inplace': ``fun(x, g, *args) -> f`` writes the gradient into g
              (a float64 array shaped like x0), so large problems allocate
              nothing per iteration.
    max_iter  int >= 0, the most optimizer steps.
    ftol      stop when |f_prev - f| <= ftol * max(|f_prev|, |f|, 1); 0 = off.
    gtol      stop when max_i |g_i| <= gtol (also checked at x0); with 0 only an
              exactly zero gradient stops.
    xtol      stop when max_i |dx_i| <= xtol * max(1, max_i |x_i|); 0 = off.
    callback  ``callback(intermediate_result)`` after every step, with an
              OptimizeResult holding x (read-only, shaped like x0), fun and
              nit; raising StopIteration stops the run with status
              'callback' (scipy's convention).
    progress  True shows a tqdm progress bar with the current f (needs tqdm:
              ``pip install tqdm``).
    on_nonfinite  'stop' (default): when f, the gradient or the new iterate
              holds NaN or inf, stop with status 'non-finite' and return the
              last finite iterate; 'raise': raise FloatingPointError instead.

    Returns an OptimizeResult (see gdfast.result.OptimizeResult): x, fun,
    jac, nit, nfev, status, success, message, fun_history and
    grad_norm_history (one entry per iterate, x_0 included), and ``nopython``.

    Nopython mode: when fun is a numba @njit function, jac='inplace', x0 is
    1-D and there is no callback and no progress bar, the whole loop runs in
    compiled code (gdfast.kernels.driver.minimize_nopython) with the same
    stopping rules; the result says ``nopython=True``. The first call with a
    new objective compiles the loop for it (about a second or two).
    """
    x0 = check.real_array("x0", x0)      # not copied yet: the loops copy it once
    opt = make_optimizer(method, options)
    max_iter = check.whole_number("max_iter", max_iter, 0)
    ftol, gtol, xtol = (check.non_negative(k, v) for k, v in
                        (("ftol", ftol), ("gtol", gtol), ("xtol", xtol)))
    if on_nonfinite not in ("stop", "raise"):
        raise ValueError(f"on_nonfinite must be 'stop' or 'raise', got {on_nonfinite!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    objective = _Objective(fun, jac, args, x0.shape)
    if (numba.extending.is_jitted(fun) and jac == "inplace" and x0.ndim == 1
            and callback is None and not check.boolean("progress", progress)):
        return _minimize_nopython(fun, x0, opt, args, max_iter, ftol, gtol, xtol, on_nonfinite)
    bar = progress_bar(progress, max_iter)

    n = x0.size
    x = x0.ravel().copy()
    x_prev = np.empty(n)
    grads = (np.empty(n), np.empty(n))     # current and previous gradient, swapped
    max_abs, max_abs_diff = ((kernels.max_abs, kernels.max_abs_diff) if n < PARALLEL_MIN_SIZE
                             else (kernels.max_abs_parallel, kernels.max_abs_diff_parallel))
    history = History(max_iter)
    state = opt.init(x)
    x_view = x.reshape(x0.shape).view()
    x_view.flags.writeable = False

    f = objective(x, grads[0])
    g_norm = max_abs(grads[0])
    status = None
    if not (math.isfinite(f) and math.isfinite(g_norm)):
        status = _non_finite(on_nonfinite, 0, f, g_norm)
    history.record(f, g_norm)
    if status is None and g_norm <= gtol:
        status = Status.GTOL
    nit = 0
    try:
        while status is None:
            if nit == max_iter:
                status = Status.MAX_ITER
                break
            g, g_next = grads
            np.copyto(x_prev, x)
            opt.step(x, g, state)
            f_next = objective(x, g_next)
            step_norm = max_abs_diff(x, x_prev)
            g_norm_next = max_abs(g_next)
            if not (math.isfinite(f_next) and math.isfinite(g_norm_next)
                    and math.isfinite(step_norm)):
                np.copyto(x, x_prev)
                status = _non_finite(on_nonfinite, nit + 1, f_next, g_norm_next)
                break
            nit += 1
            f_prev, f, g_norm = f, f_next, g_norm_next
            grads = (g_next, g)
            history.record(f, g_norm)
            bar.update(f)
            if callback is not None:
                try:
                    callback(OptimizeResult(x=x_view, fun=f, nit=nit))
                except StopIteration:
                    status = Status.CALLBACK
                    break
            code = convergence_status(g_norm, f_prev, f, step_norm, x, gtol, ftol, xtol)
            if code != RUNNING:
                status = STATUS_OF_CODE[code]
    finally:
        bar.close()
    return OptimizeResult(
        x=x.reshape(x0.shape), fun=f, jac=grads[0].reshape(x0.shape), nit=nit,
        nfev=objective.nfev, status=status, success=status in SUCCESS,
        message=MESSAGES[status], fun_history=history.fun(),
        grad_norm_history=history.grad_norm(), nopython=False)


def _minimize_nopython(fun, x0, opt, args, max_iter, ftol, gtol, xtol, on_nonfinite):
    x = x0.copy()
    state = opt.init(x)
    kernel = opt.rule.kernel_for(x.size)
    n_hist = min(max_iter + 1, NOPYTHON_HISTORY_CAP)
    fun_history, grad_norm_history = np.empty(n_hist), np.empty(n_hist)
    lr = opt.lr
    r = minimize_nopython(fun, x, args, kernel, state.arrays, opt.hyper, lr.kernel, lr.lr0,
                          lr.params, max_iter, ftol, gtol, xtol, fun_history,
                          grad_norm_history)
    status = STATUS_OF_CODE[r.status]
    nfev = r.nit + 1
    if r.status == NON_FINITE:
        # a finite fun means the failure came at a step, after nit + 1 good evaluations
        failed_at_step = bool(np.isfinite(r.fun))
        nfev += failed_at_step
        _non_finite(on_nonfinite, r.nit + failed_at_step, r.fun, kernels.max_abs(r.jac))
    kept = min(r.nit + 1, n_hist)
    return OptimizeResult(
        x=r.x, fun=r.fun, jac=r.jac, nit=r.nit, nfev=nfev, status=status,
        success=status in SUCCESS, message=MESSAGES[status],
        fun_history=fun_history[:kept].copy(), grad_norm_history=grad_norm_history[:kept].copy(),
        nopython=True)



def _non_finite(on_nonfinite, step, f, g_norm):
    if on_nonfinite == "raise":
        raise FloatingPointError(
            f"non-finite value at step {step}: f = {f!r}, max|g| = {g_norm!r} "
            "(or a non-finite iterate); lower the learning rate, or pass "
            "on_nonfinite='stop' to get the last finite iterate back")
    return Status.NON_FINITE


class _Objective:
    """f(x) and the gradient written into a buffer, in one of the three jac modes."""

    def __init__(self, fun, jac, args, shape):
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        if not (jac is True or callable(jac) or jac in ("3-point", "inplace")):
            raise ValueError(f"jac must be True, a callable, '3-point' or 'inplace', got {jac!r}")
        self.fun, self.jac, self.args, self.shape = fun, jac, args, shape
        self.nfev = 0

    def __call__(self, x, g):
        view = x.reshape(self.shape)
        self.nfev += 1
        if self.jac is True:
            out = self.fun(view, *self.args)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("fun must return (f, g) when jac=True; pass jac='3-point' "
                                "or jac=callable for a fun that returns f alone")
            f, grad = out
            self._store(grad, g, "fun")
        elif self.jac == "inplace":
            f = self.fun(view, g.reshape(self.shape), *self.args)
        elif self.jac == "3-point":
            f = self.fun(view, *self.args)
            central_difference_gradient(self.fun, x, default_steps(x), g, self.args, self.shape)
            self.nfev += 2 * x.size
        else:
            f = self.fun(view, *self.args)
            self._store(self.jac(view, *self.args), g, "jac")
        return scalar_value("fun", f)

    def _store(self, grad, g, who):
        grad = np.asarray(grad)
        if grad.shape != self.shape:
            raise ValueError(f"{who} must return a gradient of shape {self.shape} (the shape "
                             f"of x0), got shape {grad.shape}")
        if grad.dtype.kind not in "fiu":
            raise TypeError(f"{who} must return a real gradient, got dtype {grad.dtype}")
        np.copyto(g.reshape(self.shape), grad)


class History:
    """f and max|g| per iterate in preallocated arrays, doubled when full."""

    def __init__(self, max_iter):
        self._f = np.empty(min(max_iter + 1, 4096))
        self._g = np.empty_like(self._f)
        self.size = 0

    def record(self, f, g_norm):
        if self.size == self._f.size:
            self._f = np.concatenate([self._f, np.empty_like(self._f)])
            self._g = np.concatenate([self._g, np.empty_like(self._g)])
        self._f[self.size] = f
        self._g[self.size] = g_norm
        self.size += 1

    def fun(self):
        return self._f[:self.size].copy()

    def grad_norm(self):
        return self._g[:self.size].copy()


class NoBar:
    def update(self, f):
        pass

    def close(self):
        pass


class _Bar:
    def __init__(self, total, label):
        from tqdm.auto import tqdm
        self._bar = tqdm(total=total, desc=label, unit="it")

    def update(self, f):
        self._bar.set_postfix_str(f"f={f:.6g}", refresh=False)
        self._bar.update(1)

    def close(self):
        self._bar.close()


def progress_bar(progress, total, label="minimize"):
    """A tqdm bar of ``total`` steps named ``label`` (progress=True), or one
    that shows nothing (False)."""
    if not check.boolean("progress", progress):
        return NoBar()
    try:
        return _Bar(total, label)
    except ImportError:
        raise ImportError("progress=True needs tqdm, an optional extra: "
                          "pip install tqdm  (or pip install 'gdfast[progress]')") from None
