"""gdfast.LBFGS: torch.optim.LBFGS over gdfast's L-BFGS kernels.

torch's LBFGS takes a closure that evaluates the loss and its gradient;
gdfast's takes the objective, in minimize's conventions::

    opt = gdfast.LBFGS(line_search_fn="strong_wolfe")
    state = opt.init(x)
    for _ in range(10):
        loss = opt.step(fun, x, state)        # up to max_iter iterations, x in place

The iterations are kernels.lbfgs.lbfgs_torch_step, written once: compiled
(nothing in Python per iteration) when fun is a numba @njit function with
jac='inplace'; run as Python, with the same vector kernels and so the same
numbers, when fun is a Python function.
"""
import math
from collections.abc import Callable

import numba.extending
import numpy as np

from .. import _validation as check
from .._gradients import Objective
from .._rules import SGD_PARALLEL_MIN_SIZE
from ..kernels import lbfgs as kernels
from ..kernels import line_search
from ..kernels.function_refs import cacheable
from ..optimizers import flat_view

# the vector passes go over numba's threads from this length on (same bits)
PARALLEL_MIN_SIZE = SGD_PARALLEL_MIN_SIZE
HYPERPARAMETERS = ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change",
                   "history_size", "line_search_fn")


def python_body(fn):
    """The Python function behind an @njit one (itself under NUMBA_DISABLE_JIT)."""
    return getattr(fn, "py_func", fn)


def python_wolfe(value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g, G, c1, c2,
                 tolerance_change, max_ls, part):
    """kernels.line_search's strong Wolfe body run as Python (a Python objective)."""
    body = python_body(line_search.strong_wolfe_body)
    return body(x.size >= PARALLEL_MIN_SIZE, value_and_grad, args, x0, f0, g0, d, t, gtd0, x, g,
                G, c1, c2, tolerance_change, max_ls, part)


class LBFGSState:
    """The state of one LBFGS run, made by `LBFGS.init`.

    Parameters
    ----------
    n : int
        The number of parameters.
    history_size : int
        The pairs its ring buffer holds.

    Attributes
    ----------
    n : int
        The number of parameters.
    history_size : int
        The pairs its ring buffer holds.
    n_iter, func_evals : int
        Iterations and objective evaluations so far (torch's state entries).
    """
    __slots__ = ("arrays", "n", "history_size")

    def __init__(self, n: int, history_size: int) -> None:
        self.n, self.history_size = n, history_size
        self.arrays = kernels.lbfgs_torch_state(n, history_size)

    @property
    def n_iter(self) -> int:
        return int(self.arrays[kernels.COUNTS][kernels.N_ITER])

    @property
    def func_evals(self) -> int:
        return int(self.arrays[kernels.COUNTS][kernels.FUNC_EVALS])

    def __repr__(self):
        return (f"LBFGSState(n={self.n}, history_size={self.history_size}, "
                f"n_iter={self.n_iter}, func_evals={self.func_evals})")


class LBFGS:
    """L-BFGS, as torch.optim.LBFGS (its defaults, equations and stopping rules).

    Parameters
    ----------
    lr : float, default 1
        The step length (>= 0): with a line search, its first trial step; the
        first iteration of a run scales it by min(1, 1 / sum|g_i|).
    max_iter : int, default 20
        Iterations per `step`.
    max_eval : int, optional
        Objective evaluations per `step`; default max_iter * 5 // 4.
    tolerance_grad : float, default 1e-7
        A step ends when max|g_i| <= tolerance_grad.
    tolerance_change : float, default 1e-9
        A step ends when f or x changes by less.
    history_size : int, default 100
        The (s, y) pairs kept.
    line_search_fn : {None, "strong_wolfe"}, default None
        None: steps of length lr; "strong_wolfe": torch's strong Wolfe line
        search (c1 = 1e-4, c2 = 0.9).

    Notes
    -----
    Every hyperparameter can be set between steps (``opt.lr = 0.5``) and is
    checked when set; the next step uses it. A state made for one
    history_size refuses a step with another.

    The iterations are torch's operation for operation, so trajectories agree
    with torch.optim.LBFGS in float64 to rounding: the dot products are
    summed in another order (fixed blocks, for the same bits on any thread
    count), which on a problem as sensitive as Rosenbrock's valley grows as a
    1-ulp change of x0 grows in torch itself (docs/optimizers.md).

    Examples
    --------
    >>> import numpy as np
    >>> import gdfast
    >>> def fun(x):
    ...     return float(((x - 3.0) ** 2).sum()), 2.0 * (x - 3.0)
    >>> x = np.zeros(4)
    >>> opt = gdfast.LBFGS(line_search_fn="strong_wolfe")
    >>> state = opt.init(x)
    >>> loss = opt.step(fun, x, state)
    >>> print(x, state.n_iter)
    [3. 3. 3. 3.] 2
    """

    lr: float
    max_iter: int
    max_eval: int
    tolerance_grad: float
    tolerance_change: float
    history_size: int
    line_search_fn: str | None

    def __init__(self, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        self.lr = lr
        self.max_iter = max_iter
        self.max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
        self.tolerance_grad = tolerance_grad
        self.tolerance_change = tolerance_change
        self.history_size = history_size
        self.line_search_fn = line_search_fn

    def __setattr__(self, name, value):
        if name == "lr":
            value = check.non_negative("lr", np.asarray(value).item() if isinstance(
                value, np.ndarray) and value.size == 1 else value)
        elif name in ("max_iter", "max_eval", "history_size"):
            value = check.whole_number(name, value, 1)
        elif name in ("tolerance_grad", "tolerance_change"):
            value = check.non_negative(name, value)
        elif name == "line_search_fn":
            if value not in (None, "strong_wolfe"):
                raise ValueError(f"line_search_fn must be None or 'strong_wolfe', got {value!r}")
        else:
            raise AttributeError(f"LBFGS has no hyperparameter {name!r}; its hyperparameters "
                                 f"are {', '.join(HYPERPARAMETERS)}")
        object.__setattr__(self, name, value)

    def __repr__(self):
        return "LBFGS(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in HYPERPARAMETERS) + ")"

    def init(self, x: np.ndarray) -> LBFGSState:
        """Allocate the state for parameters x.

        Parameters
        ----------
        x : ndarray of float64
            C-contiguous, any shape; only its size is read.

        Returns
        -------
        LBFGSState
            (history_size + 1) * 2 + 7 arrays' worth of x.size float64.
        """
        x = self._flat("x", x)
        return LBFGSState(x.size, self.history_size)

    @staticmethod
    def _flat(name, x):
        """x's flat view, checked as Optimizer.step checks x (any shape, C-contiguous,
        native float64); TypeError or ValueError naming ``name``."""
        if type(x) is np.ndarray and x.ndim != 1:
            x = flat_view(name, x)
        check.kernel_array(name, x)
        return x

    def step(self, fun: Callable, x: np.ndarray, state: LBFGSState, *,
             jac: "bool | str" = True, args: tuple = ()) -> float:
        """Up to max_iter L-BFGS iterations from x, in place (torch's ``step(closure)``).

        Parameters
        ----------
        fun : callable
            jac=True: ``fun(x, *args) -> (f, g)``, g shaped like x.
            jac='inplace': ``fun(x, g, *args) -> f`` writing the gradient into
            g (a flat float64 array); a numba @njit function then runs every
            iteration compiled, nothing in Python.
        x : ndarray of float64
            The parameters, C-contiguous and writable, any shape.
        state : LBFGSState
            From this optimizer's `init` (same size and history_size).
        jac : True or 'inplace'
        args : tuple
            Extra arguments of fun.

        Returns
        -------
        float
            f at x on entry (as torch's step returns the closure's first loss).

        Raises
        ------
        TypeError, ValueError
            Bad arguments; nothing is modified then.
        FloatingPointError
            f or the gradient is NaN or inf at x on entry (x and the state are
            left as they are), or x is not finite after the step (possible
            without a line search: lr too large).
        """
        flat = self._flat("x", x)
        check.writable("x", flat)
        if type(state) is not LBFGSState:
            raise TypeError(f"state must be the LBFGSState of LBFGS.init, got "
                            f"{type(state).__name__}")
        if state.n != flat.size or state.history_size != self.history_size:
            raise ValueError(f"state was made for {state.n} parameters and history_size="
                             f"{state.history_size}; x has {flat.size} and this optimizer "
                             f"history_size={self.history_size}: make a new state with init(x)")
        if not isinstance(args, tuple):
            raise TypeError(f"args must be a tuple, got {type(args).__name__}")
        value_and_grad: Callable
        if jac is True:                  # minimize's adapter: f and g, checked, g into the buffer
            value_and_grad, args = Objective(fun, True, args, x.shape), ()
        elif jac == "inplace":
            value_and_grad = fun
        else:
            raise ValueError(f"jac must be True or 'inplace', got {jac!r}")
        parallel = flat.size >= PARALLEL_MIN_SIZE
        n_iter = state.n_iter
        hyper = (self.lr, self.max_iter, self.max_eval, self.tolerance_grad,
                 self.tolerance_change, self.line_search_fn == "strong_wolfe")
        if jac == "inplace" and numba.extending.is_jitted(fun):
            kernel = kernels.lbfgs_torch_step_parallel if parallel else kernels.lbfgs_torch_step
            loss = kernel(cacheable(fun), args, flat, state.arrays, *hyper)
        else:
            passes = kernels.TORCH_PARALLEL_PASSES if parallel else kernels.TORCH_SERIAL_PASSES
            body = python_body(kernels.torch_step_body)
            loss = body(*passes[:5], python_wolfe, value_and_grad, args, flat, state.arrays,
                        *hyper)
        loss = float(loss)
        finite = math.isfinite(loss) and np.isfinite(state.arrays[kernels.GRADIENT]).all()
        if not finite and state.n_iter == n_iter:      # the kernel stopped at x: untouched
            raise FloatingPointError(f"LBFGS.step: f = {loss} or its gradient is NaN or inf at "
                                     "x: x and the state are left as they are")
        if not (finite and np.isfinite(flat).all()):
            raise FloatingPointError("LBFGS.step went to NaN or inf (x or the gradient there): a "
                                     "step of length lr without a line search went too far (a "
                                     "smaller lr, or line_search_fn='strong_wolfe')")
        return loss

