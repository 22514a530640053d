"""The result record of gdfast.minimize, and why a run stopped."""
import enum

import numpy as np


class Status(str, enum.Enum):
    """Why a run stopped. Compares equal to its string value."""
    GTOL = "gtol"
    FTOL = "ftol"
    XTOL = "xtol"
    MAX_ITER = "max_iter"
    CALLBACK = "callback"
    NON_FINITE = "non-finite"
    MAX_SKIPS = "max_skips"
    INTERRUPTED = "interrupted"

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
}
SUCCESS = frozenset({Status.GTOL, Status.FTOL, Status.XTOL})
# The integer codes of gdfast.kernels.driver, in order.
STATUS_OF_CODE = (Status.GTOL, Status.FTOL, Status.XTOL, Status.MAX_ITER, Status.CALLBACK,
                  Status.NON_FINITE, Status.MAX_SKIPS, Status.INTERRUPTED)


class OptimizeResult(dict):
    """A dict with attribute access, as scipy.optimize.OptimizeResult.

    x                 the solution, shaped like x0
    fun               f(x)
    jac               the gradient at x, shaped like x0
    nit               iterations (optimizer steps) taken
    nfev              objective evaluations (a '3-point' gradient's are counted)
    nskipped          evaluations that gave NaN or inf: the skipped steps of
                      on_nonfinite='skip', and those of a non-finite stop
    status            a Status (compares equal to 'gtol', 'ftol', 'xtol',
                      'max_iter', 'callback', 'non-finite', 'max_skips' or
                      'interrupted')
    success           True for gtol, ftol and xtol
    message           why the run stopped, in words
    fun_history       float64 (nit + 1,), f at x_0 .. x_nit (empty when f or
                      the gradient at x_0 is already NaN or inf)
    grad_norm_history float64, max|g_i| at the same iterates
    nopython          True when the whole loop ran in compiled code
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
