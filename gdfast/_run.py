"""The run bookkeeping that minimize's two loops, denoise's fused loop and
minimize_batch share, apart from their iterations: why a run stopped
(Status) and its result (OptimizeResult, built by run_result and
batch_statuses), the per-iterate records (History), checkpoints taken
between iterations (Checkpoints), the progress bar, and Ctrl-C handled
between iterations (deferred_interrupt)."""
import _signal  # type: ignore[import-not-found]  # the C module signal.signal wraps
import enum
import threading

import numpy as np

from . import _validation as check
from .checkpoint import resume_from, save_checkpoint


class Status(str, enum.Enum):
    """Why a run stopped. Compares equal to its string value.

    ``str(status)`` is the value ('gtol'); `OptimizeResult.message` says it in
    words.

    Attributes
    ----------
    GTOL : 'gtol'
        The gradient's norm max|g_i| <= gtol.
    FTOL : 'ftol'
        The relative change of f <= ftol (for 'lbfgs' also: the change its
        step predicts is below ftol and rounding lets f go no lower).
    XTOL : 'xtol'
        The step's norm max|dx_i| <= xtol * max(1, max|x_i|).
    MAX_ITER : 'max_iter'
        The maximum number of iterations was reached.
    CALLBACK : 'callback'
        The callback raised StopIteration.
    NON_FINITE : 'non-finite'
        NaN or inf in f, the gradient or the iterate; the last finite iterate
        is returned.
    MAX_SKIPS : 'max_skips'
        max_skips steps in a row were skipped for NaN or inf in f or the
        gradient; the last finite iterate is returned.
    INTERRUPTED : 'interrupted'
        Ctrl-C; x is the last complete iterate.
    LINE_SEARCH : 'line_search'
        L-BFGS's line search found no lower f along the L-BFGS direction nor
        along the steepest descent (f is as low as rounding lets it go, or
        the gradient is wrong); x is the best iterate.
    """
    GTOL = "gtol"
    FTOL = "ftol"
    XTOL = "xtol"
    MAX_ITER = "max_iter"
    CALLBACK = "callback"
    NON_FINITE = "non-finite"
    MAX_SKIPS = "max_skips"
    INTERRUPTED = "interrupted"
    LINE_SEARCH = "line_search"

    def __str__(self):
        return self.value


MESSAGES = {
    Status.GTOL: "gradient norm max|g_i| <= gtol",
    Status.FTOL: "relative change of f <= ftol",
    Status.XTOL: "step norm max|dx_i| <= xtol * max(1, max|x_i|)",
    Status.MAX_ITER: "maximum number of iterations reached",
    Status.CALLBACK: "callback raised StopIteration",
    Status.NON_FINITE: "NaN or inf in f, the gradient or the iterate; "
                       "returning the last finite iterate",
    Status.MAX_SKIPS: "max_skips steps in a row skipped for NaN or inf in f or the "
                      "gradient; returning the last finite iterate",
    Status.INTERRUPTED: "interrupted (Ctrl-C); x is the last complete iterate",
    Status.LINE_SEARCH: "the line search found no lower f (f is as low as rounding allows, "
                        "or the gradient does not match f); x is the best iterate",
}
SUCCESS = frozenset({Status.GTOL, Status.FTOL, Status.XTOL})
# The integer codes of gdfast.kernels.driver, in order.
STATUS_OF_CODE = (Status.GTOL, Status.FTOL, Status.XTOL, Status.MAX_ITER, Status.CALLBACK,
                  Status.NON_FINITE, Status.MAX_SKIPS, Status.INTERRUPTED, Status.LINE_SEARCH)


def energy_status(g_norm, e_prev, e, tol):
    """denoise's stopping rules after a step: Status.GTOL when the gradient
    vanishes (max|g| = 0), Status.FTOL when the relative change
    |E_prev - E| <= tol * max(|E_prev|, |E|) (tol 0: off), else None.

    Unlike minimize's ftol (scipy's rule, with a floor of 1 under the
    energies) the change is relative to the energy alone, so the rule does
    not depend on the data's units: E(c u; c f, c lam, c eps) = c^2 E(u; f,
    lam, eps), and the run on c f stops at the same iterate as the run on f.
    """
    if g_norm <= 0.0:
        return Status.GTOL
    if tol > 0.0 and abs(e_prev - e) <= tol * max(abs(e_prev), abs(e)):
        return Status.FTOL
    return None


class OptimizeResult(dict):
    """A dict with attribute access, as scipy.optimize.OptimizeResult.

    The result of `gdfast.minimize`, `gdfast.minimize_batch` and
    `gdfast.denoise`; each fills the attributes that apply to it
    (minimize_batch: x, and fun, nit, status and success as arrays of one
    entry per problem, and message).

    Attributes
    ----------
    x : ndarray
        The solution, shaped like x0.
    fun : float or ndarray
        f(x).
    jac : ndarray
        The gradient at x, shaped like x0.
    nit : int or ndarray
        Iterations (optimizer steps) taken.
    nfev : int
        Objective evaluations (a '3-point' gradient's are counted).
    nskipped : int
        Evaluations that gave NaN or inf: the skipped steps of
        ``on_nonfinite='skip'``, and those of a non-finite stop.
    status : Status or ndarray of str
        A Status compares equal to 'gtol', 'ftol', 'xtol', 'max_iter',
        'callback', 'non-finite', 'max_skips' or 'interrupted'.
    success : bool or ndarray of bool
        True for gtol, ftol and xtol.
    message : str
        Why the run stopped, in words.
    fun_history : ndarray of float64, shape (nit + 1,)
        f at x_0 .. x_nit (empty when f or the gradient at x_0 is already NaN
        or inf).
    grad_norm_history : ndarray of float64
        max|g_i| at the same iterates.
    nopython : bool
        True when the whole loop ran in compiled code.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __repr__(self):
        width = max(map(len, self)) + 1 if self else 0
        lines = []
        for k, v in self.items():
            if isinstance(v, np.ndarray) and v.size > 6:
                v = f"array(shape={v.shape}, first={v.ravel()[:3]})"
            lines.append(f"{k.rjust(width)}: {v}")
        return "\n".join(lines)

    def __dir__(self):
        return list(self.keys())


def run_result(x, fun, jac, nit, nfev, nskipped, status, history, nopython=False):
    """The OptimizeResult of one run that stopped with ``status``, its
    records taken from ``history``."""
    return OptimizeResult(
        x=x, fun=fun, jac=jac, nit=nit, nfev=nfev, nskipped=nskipped, status=status,
        success=status in SUCCESS, message=MESSAGES[status],
        fun_history=history.fun(), grad_norm_history=history.grad_norm(), nopython=nopython)


def batch_statuses(codes):
    """Per-problem status names (str array) and success flags (bool array)
    from kernels.driver's integer codes (m,), and a message counting them."""
    names = np.array([s.value for s in STATUS_OF_CODE])
    index = np.asarray(codes) % names.size           # as names[codes] reads a negative code
    status = names[index]
    # counted by code, not by sorting the names (a string sort of 65,536
    # statuses took milliseconds); listed by name
    per_code = np.bincount(index.ravel(), minlength=names.size)
    success = np.isin(index, [STATUS_OF_CODE.index(s) for s in SUCCESS])
    counts = ", ".join(f"{names[k]}: {int(per_code[k])}" for k in np.argsort(names)
                       if per_code[k] > 0)
    return status, success, f"{codes.size} problems; {counts}"


class History:
    """f and max|g| per iterate (entry k: iterate k) in preallocated arrays.

    cap=None: the arrays double when full; cap=N: at most N entries, all
    allocated by reserve() for a compiled loop to write into.
    """

    def __init__(self, max_iter, cap=None):
        self._limit = cap
        self._cap = None if cap is None else min(max_iter + 1, cap)
        self._f = np.empty(self._cap if cap is not None else min(max_iter + 1, 4096))
        self._g = np.empty_like(self._f)
        self.size = 0

    def record(self, f, g_norm):
        self.record_at(self.size, f, g_norm)

    def record_at(self, k, f, g_norm):
        """Entry k (and forget any after it)."""
        self.make_room(k)
        self._f[k] = f
        self._g[k] = g_norm
        self.size = k + 1

    def make_room(self, k):
        """Grow the arrays (doubling) until entry k fits."""
        while k >= self._f.size:
            self._f = np.concatenate([self._f, np.empty_like(self._f)])
            self._g = np.concatenate([self._g, np.empty_like(self._g)])

    def reserve(self):
        """The two arrays (f, max|g|), for a compiled loop writing entry k while k < len."""
        return self._f, self._g

    def restore(self, f, g_norm):
        """Entries 0 .. len(f) - 1 from saved records."""
        if self._cap is not None:                # room for them and the next entry
            self._cap = size = min(max(self._cap, len(f) + 1), self._limit)
            f, g_norm = f[:size], g_norm[:size]
        else:
            size = max(self._f.size, len(f) + 1)
        self._f, self._g = np.empty(size), np.empty(size)
        self.size = len(f)
        self._f[:self.size] = f
        self._g[:self.size] = g_norm

    def fun(self):
        return self._f[:self.size].copy()

    def grad_norm(self):
        return self._g[:self.size].copy()

    def records(self, k):
        """The first k entries, named as a checkpoint stores them."""
        return dict(fun_history=self._f[:min(k, self.size)].copy(),
                    grad_norm_history=self._g[:min(k, self.size)].copy())


class Checkpoints:
    """The checkpoints of one run of ``kind`` ('minimize' or 'denoise'; see
    gdfast.checkpoint), taken between iterations: when they are due, saving
    and restoring them. every = 0: none on the way (only those the loop asks
    for at its end)."""

    def __init__(self, path, every, kind, fingerprint):
        self.path, self.every, self.kind, self.fingerprint = path, every, kind, fingerprint

    def due(self, nit):
        """True when iterate nit is one to save on the way."""
        return self.every > 0 and nit % self.every == 0

    def next_pause(self, nit):
        """The next iterate after nit to save on the way (-1: none)."""
        return -1 if self.every == 0 else (nit // self.every + 1) * self.every

    def save(self, x, state, nit, nfev, nskipped, records):
        """Save iterate nit (x, shaped as the problem) with the optimizer
        state after nit steps, the counters and ``records`` (name -> float64
        array per iterate). Writes nothing and returns False when x or the
        state holds NaN or inf."""
        return save_checkpoint(self.path, self.kind, self.fingerprint, x, state,
                               dict(nit=nit, nfev=nfev, nskipped=nskipped), records)

    def restore(self, optimizer, x, history):
        """Load the checkpoint's iterate into x and the records of iterates
        0 .. nit - 1 into history; returns (counters, arrays, state): the
        saved counters (nit, nfev, nskipped), every saved array by name and
        the optimizer state after nit steps."""
        meta, arrays, state = resume_from(self.path, self.kind, self.fingerprint, optimizer, x)
        counters = meta["counters"]
        nit = counters["nit"]
        history.restore(arrays["fun_history"][:nit], arrays["grad_norm_history"][:nit])
        return counters, arrays, state


class NoBar:
    def update(self, f):
        pass

    def trial(self, lam, risk):
        pass

    def close(self):
        pass


class _Bar:
    def __init__(self, total, label, unit="it"):
        from tqdm.auto import tqdm
        self._bar = tqdm(total=total, desc=label, unit=unit)

    def update(self, f):
        self._bar.set_postfix_str(f"f={f:.6g}", refresh=False)
        self._bar.update(1)

    def trial(self, lam, risk):
        """One lam tried by denoise's choice (a bar of trials, not iterations)."""
        self._bar.set_postfix_str(f"lam={lam:.4g}, SURE={risk:.4g}", refresh=False)
        self._bar.update(1)

    def close(self):
        self._bar.close()


def progress_bar(progress, total, label="minimize", unit="it"):
    """A tqdm bar of ``total`` steps of ``unit`` named ``label``
    (progress=True), or one that shows nothing (False)."""
    if not check.boolean("progress", progress):
        return NoBar()
    try:
        return _Bar(total, label, unit)
    except ImportError:
        raise ImportError("progress=True needs tqdm, an optional extra: "
                          "pip install tqdm  (or pip install 'gdfast[progress]')") from None


class sigint_handled:
    """Within the block SIGINT (Ctrl-C) goes to handler (a function, or
    signal.SIG_IGN: ignored); the previous handler comes back on exit.
    Yields whether it was installed: outside the main thread, where Python
    cannot install signal handlers, nothing changes (False).

    A class over the C module _signal that signal.signal wraps (signal.signal
    converts its numbers to enums, about 5 us a call): minimize enters it
    once per call."""

    __slots__ = ("handler", "previous", "installed")

    def __init__(self, handler):
        # signal.SIG_IGN and SIG_DFL are enums, which _signal refuses: their numbers
        self.handler = int(handler) if isinstance(handler, enum.IntEnum) else handler

    def __enter__(self):
        self.installed = threading.current_thread() is threading.main_thread()
        if self.installed:
            self.previous = _signal.signal(_signal.SIGINT, self.handler)
        return self.installed

    def __exit__(self, *exc):
        if self.installed:
            _signal.signal(_signal.SIGINT, self.previous)
        return False


def _never():
    return False


class deferred_interrupt:
    """Within the block, the first SIGINT (Ctrl-C) only sets a flag, which the
    loop reads between iterations (yields the function that reads it); a
    second SIGINT raises KeyboardInterrupt at once, as usual. The previous
    handler comes back on exit. Outside the main thread (where Python cannot
    install signal handlers) the flag never rises and Ctrl-C acts as usual.
    """

    __slots__ = ("caught", "handled")

    def __init__(self):
        self.caught = False
        self.handled = sigint_handled(self._handler)

    def _handler(self, signum, frame):
        if self.caught:
            raise KeyboardInterrupt
        self.caught = True

    def _interrupted(self):
        return self.caught

    def __enter__(self):
        return self._interrupted if self.handled.__enter__() else _never

    def __exit__(self, *exc):
        return self.handled.__exit__(*exc)
