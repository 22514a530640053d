"""The optimizers of the torch.optim rules of issue 31 item 5
(gdfast._rules.MORE_RULES): ASGD, Adafactor, Muon and SparseAdam, with
torch's argument names and defaults.

Adafactor's and Muon's state depends on the parameters' shape: they derive
from `_ShapedOptimizer`, whose ``init(x)`` reads x's shape. SparseAdam's step
takes a row-sparse gradient (rows and their values).
"""
import math

import numpy as np

from .. import _validation as check
from .._rules import MORE_RULES
from ..kernels.adafactor import WORK_BASE as ADAFACTOR_WORK_BASE
from ..kernels.adafactor import work_length as adafactor_work_length
from ..kernels.asgd import asgd_factors
from ..kernels.muon import work_size as muon_work_size
from . import checks
from .base import LearningRate, Optimizer
from .checks import FINITE, FLAG, NON_NEGATIVE, POSITIVE
from .states import OptimizerState, flat_pair, flat_view, record_skip


class ASGD(Optimizer):
    """Averaged SGD with torch.optim.ASGD's arguments and defaults.

    Equations: `gdfast.kernels.asgd_step`. The state holds ``ax``, the average
    of the iterates (torch's ``state["ax"]``); torch's scalar state (step, eta,
    mu) is recomputed from t, lr and the hyperparameters.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, >= 0, or a schedule from `gdfast.schedules`. eta_t is
        computed from the lr of step t (torch computes it at the end of step t - 1
        from that step's lr: the same for a constant lr; with a schedule torch's
        eta lags one step).
    lambd : float, default 1e-4
        The decay term, finite.
    alpha : float, default 0.75
        The power of eta's decay, finite.
    t0 : float, default 1e6
        Averaging starts after step t0 + 1, finite.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead.
    """

    _spec = dict(lr=checks.lr, lambd=FINITE, alpha=FINITE, t0=FINITE,
                 weight_decay=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                         maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["asgd"], (v["lambd"], v["alpha"], v["t0"], v["weight_decay"],
                                    float(v["maximize"]))

    def _factors(self, t):
        """(eta_t, mu_t) of step t, as the kernel computes them."""
        v = self._values
        return asgd_factors(t, float(self.lr(t)), v["lambd"], v["alpha"], v["t0"])


def _adafactor_eps(name, eps):
    e1, e2 = checks.pair("(eps1 or None, eps2)")(name, eps)
    return (None if e1 is None else check.non_negative(f"{name}[0]", e1),
            check.non_negative(f"{name}[1]", e2))


def _non_positive(name, value):
    v = check.finite(name, value)
    if v > 0.0:
        raise ValueError(f"{name} must be <= 0, got {value!r}")
    return v


def _at_least_one(name, value):
    v = check.finite(name, value)
    if v < 1.0:
        raise ValueError(f"{name} (the clipping threshold) must be >= 1, got {value!r}")
    return v


def _factored_shape(shape):
    """(B, R, C) of a parameter of shape (..., R, C); (0, 0, 0) for a vector."""
    if len(shape) < 2:
        return 0, 0, 0
    return math.prod(shape[:-2]), shape[-2], shape[-1]


class _ShapedOptimizer(Optimizer):
    """An optimizer whose state depends on the parameters' shape: ``init(x)``
    reads x's shape, and ``step`` takes x of that shape (or its flat view);
    step_if_finite is `Optimizer.step_if_finite` through this class's checks."""

    _shaped = True
    _scratch = ("work",)

    def _tail(self, shape):
        """The entries the kernel's hyper takes from the parameters' shape."""
        raise NotImplementedError

    def _layout(self, shape):
        """The lengths of the state arrays for parameters of this shape."""
        raise NotImplementedError

    def _check_shape(self, shape):
        """ValueError if the rule cannot take parameters of this shape."""

    def _kernel_hyper(self, shape):
        """The kernel's hyper tuple for parameters of this shape."""
        return self.hyper + self._tail(shape)

    def init(self, x: np.ndarray) -> OptimizerState:
        """Allocate the state for parameters x (its shape is read, not its values).

        Parameters
        ----------
        x : ndarray of float64
            The parameters, any values.

        Returns
        -------
        OptimizerState
            The rule's arrays (see the class's docstring), ``state.shape`` x's
            shape, t = 0.
        """
        if self._groups is not None or isinstance(x, (list, tuple)):
            return self._many_init(x)
        if type(x) is not np.ndarray:
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        if x.dtype != np.float64:
            raise TypeError(f"x must be float64, got {x.dtype}")
        shape = tuple(int(k) for k in x.shape)
        self._check_shape(shape)
        lengths = self._layout(shape)
        n = math.prod(shape)
        state = OptimizerState(self.rule.state, [np.zeros(k) for k in lengths], n,
                               kind=type(self).__name__, lengths=lengths, shape=shape)
        state._owner = self._token
        return state

    def _initial_state(self, n):
        return tuple(np.zeros(k) for k in self._layout((n,)))

    def step(self, x: np.ndarray, g: np.ndarray, state: OptimizerState) -> None:
        """One update of x in place (and of the state).

        Parameters
        ----------
        x : ndarray of float64
            The parameters, of the shape given to ``init`` (or its flat view),
            C-contiguous and writable.
        g : ndarray of float64
            The gradient at x, x's shape.
        state : OptimizerState
            Made by this optimizer's ``init``.

        Raises
        ------
        TypeError, ValueError
            A bad argument, named; nothing is modified.
        FloatingPointError
            The step wrote NaN or inf into x or the state (as `Optimizer.step`).
        """
        if self._groups is not None or isinstance(x, (list, tuple)):
            return self._many_step(x, g, state)
        x, g = self._checked(x, g, state)
        t = state.t + 1
        lr = self._lr_constant
        if lr is None:
            lr = self.lr(t)
        rule = self.rule
        kernel = rule.step if x.shape[0] < rule.parallel_min_size else rule.step_parallel
        bad = kernel(x, g, state.arrays, t, lr, self._kernel_hyper(state.shape))
        state.t = t
        if bad:
            raise FloatingPointError(
                f"{type(self).__name__}.step wrote NaN or inf at {bad} entries of x or the "
                f"state (step t={t}, lr={lr:g}): a NaN or inf in g, x or the state, or an "
                "overflow; x and the state now hold those values")

    def _checked(self, x, g, state):
        """The flat views of x and g, checked as `Optimizer.step` checks them, and
        x's shape against the state's."""
        if type(state) is not OptimizerState or state.kind != type(self).__name__ \
                or state.shape is None or state.names != self.rule.state:
            raise TypeError(f"state must be the OptimizerState made by a "
                            f"{type(self).__name__}'s init(x), got {state!r}")
        if state._owner is not self._token:
            # a state built by hand: its shape must be of n entries, and its arrays of
            # the layout this shape gives (the kernel indexes them by it)
            self._check_shape(state.shape)
            if math.prod(state.shape) != state.n:
                raise ValueError(f"state.shape {state.shape} does not have state.n = "
                                 f"{state.n} entries; call init(x) of this optimizer")
            for name, a, length in zip(state.names, state.arrays, self._layout(state.shape)):
                if a.shape[0] != length:
                    raise ValueError(f"state[{name!r}] has length {a.shape[0]}, but "
                                     f"{type(self).__name__} needs {length} for parameters "
                                     f"of shape {state.shape}; call init(x) of this optimizer")
        if type(x) is np.ndarray and x.shape not in (state.shape, (state.n,)):
            raise ValueError(f"x must have the shape {state.shape} the state was made for "
                             f"(or its flat view), got {x.shape}")
        if type(x) is np.ndarray and x.ndim != 1:
            x, g = flat_pair(x, g)
        self._check_step_arguments(x, g, state)
        return x, g


class Adafactor(_ShapedOptimizer):
    """Adafactor with torch.optim.Adafactor's arguments and defaults.

    Equations: `gdfast.kernels.adafactor_step`. For x of two or more
    dimensions, shape (..., R, C), the second moment is factored over the last
    two axes: ``state["row_var"]`` (B R entries, torch's shape (..., R, 1)) and
    ``state["col_var"]`` (B C, torch's (..., 1, C)), with B = prod(...); for a
    vector, ``state["variance"]`` of x's length. ``state["work"]`` is scratch.
    So ``init(x)`` reads x's shape, and ``step`` takes x of that shape.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, >= 0 (it caps the relative step size min(lr, 1/sqrt(t))).
    beta2_decay : float, default -0.8
        <= 0: the second moment's weight of the new gradient is t^beta2_decay.
    eps : (float or None, float), default (None, 1e-3)
        (eps1, eps2), each >= 0: the floor of the second-moment estimate
        (None: float64's machine epsilon) and of x's RMS.
    d : float, default 1.0
        >= 1, the clipping threshold of the update's RMS.
    weight_decay : float, default 0.0
        >= 0, decoupled: x <- x (1 - lr weight_decay).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=checks.lr, beta2_decay=_non_positive, eps=_adafactor_eps, d=_at_least_one,
                 weight_decay=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                         weight_decay=weight_decay, maximize=maximize))

    def _configure(self, v):
        eps1, eps2 = v["eps"]
        eps1 = float(np.finfo(np.float64).eps) if eps1 is None else eps1
        # the vector form's hyper; step replaces the last three by x's shape
        return MORE_RULES["adafactor"], (v["beta2_decay"], eps1, eps2, v["d"],
                                         v["weight_decay"], float(v["maximize"]), 0.0, 0.0, 0.0)

    def _layout(self, shape):
        b, r, c = _factored_shape(shape)
        if b == 0 and len(shape) >= 2:
            return (0, 0, 0, ADAFACTOR_WORK_BASE)       # an empty batch: nothing to keep
        if len(shape) < 2:
            return (0, 0, math.prod(shape), ADAFACTOR_WORK_BASE)
        return (b * r, b * c, 0, adafactor_work_length(b, r, c))

    def _tail(self, shape):
        return tuple(float(k) for k in _factored_shape(shape))

    def _kernel_hyper(self, shape):
        return self.hyper[:6] + self._tail(shape)

    def _torch_shapes(self, shape):
        if len(shape) < 2:
            return {}
        return {"row_var": tuple(shape[:-1]) + (1,),
                "col_var": tuple(shape[:-2]) + (1, shape[-1])}


def _coefficients(name, value):
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise TypeError(f"{name} must be a triple (a, b, c), got {value!r}")
    return tuple(check.finite(f"{name}[{k}]", v) for k, v in enumerate(value))


def _ns_steps(name, value):
    v = check.whole_number(name, value, 0)
    if v >= 100:
        raise ValueError(f"{name} must be less than 100 (torch's limit), got {value!r}")
    return v


def _adjust_lr_fn(name, value):
    if value not in (None, "original", "match_rms_adamw"):
        raise ValueError(f"{name} must be None, 'original' or 'match_rms_adamw', got {value!r}")
    return value


class Muon(_ShapedOptimizer):
    """Muon with torch.optim.Muon's arguments and defaults, for 2-D parameters.

    Equations: `gdfast.kernels.muon_step`. ``init(x)`` takes the (A, B) matrix
    (torch refuses other dimensions too); ``state["momentum_buffer"]`` is
    torch's, ``state["work"]`` the Newton-Schulz iteration's scratch. The
    iteration runs in float64; torch's runs in bfloat16 (see docs/optimizers.md).

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0.
    weight_decay : float, default 0.1
        >= 0, decoupled: x <- x (1 - lr weight_decay).
    momentum : float, default 0.95
        >= 0.
    nesterov : bool, default True
        Orthogonalise lerp(g, buf, momentum) instead of buf.
    ns_coefficients : (float, float, float), default (3.4445, -4.7750, 2.0315)
        (a, b, c) of the quintic iteration, finite.
    eps : float, default 1e-7
        >= 0, the floor of the update's Frobenius norm.
    ns_steps : int, default 5
        The iteration's steps, 0 to 99.
    adjust_lr_fn : str or None, default None
        None or 'original': the step's lr times sqrt(max(1, A / B));
        'match_rms_adamw': times 0.2 sqrt(max(A, B)).
    """

    _spec = dict(lr=checks.lr, weight_decay=NON_NEGATIVE, momentum=NON_NEGATIVE, nesterov=FLAG,
                 ns_coefficients=_coefficients, eps=NON_NEGATIVE, ns_steps=_ns_steps,
                 adjust_lr_fn=_adjust_lr_fn)

    def __init__(self, lr: LearningRate = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        self._apply(dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                         nesterov=nesterov, ns_coefficients=ns_coefficients, eps=eps,
                         ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))

    def _configure(self, v):
        return MORE_RULES["muon"], (v["momentum"], float(v["nesterov"]), v["weight_decay"],
                                    *v["ns_coefficients"], v["eps"], float(v["ns_steps"]))

    def _check_shape(self, shape):
        if len(shape) != 2:
            raise ValueError(f"Muon takes 2-D parameters (as torch.optim.Muon), got x of "
                             f"shape {shape}")

    def _layout(self, shape):
        a, b = shape if len(shape) == 2 else (1, math.prod(shape))
        return (a * b, muon_work_size(a, b))

    def _tail(self, shape):
        a, b = shape
        if self._values["adjust_lr_fn"] == "match_rms_adamw":
            ratio = 0.2 * math.sqrt(max(a, b))
        else:
            ratio = math.sqrt(max(1, a / b))
        return (float(a), ratio)


class SparseAdam(Optimizer):
    """SparseAdam with torch.optim.SparseAdam's arguments and defaults.

    The gradient is row-sparse, as torch's ``nn.Embedding(sparse=True)`` gives
    it: ``step(x, indices, values, state)`` with the rows ``indices`` of x (along
    its first axis) and their gradient ``values`` of shape (k, *x.shape[1:]).
    Only those rows of x and of the moments change. Equations:
    `gdfast.kernels.sparse_adam_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0 (torch: > 0).
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        > 0, added outside the square root.
    maximize : bool, default False
        Ascend f instead.
    """

    _spec = dict(lr=checks.lr, betas=checks.betas, eps=POSITIVE, maximize=FLAG)
    _several = False           # its step takes one array's row-sparse gradient

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["sparse_adam"], (*v["betas"], v["eps"], float(v["maximize"]))

    def _rows(self, x, indices, values, state):
        """The checked flat x, int64 indices and flat values (duplicate rows summed,
        as torch's coalesce)."""
        if type(x) is not np.ndarray or x.ndim == 0:
            raise TypeError(f"x must be a numpy.ndarray of at least one dimension, got "
                            f"{getattr(x, 'shape', type(x).__name__)}")
        flat = flat_view("x", x)
        check.kernel_array("x", flat)
        check.writable("x", x)
        if type(state) is not OptimizerState or state.kind != "SparseAdam" \
                or state.n != flat.shape[0]:
            raise TypeError(f"state must be the OptimizerState made by this SparseAdam's "
                            f"init(x) for x of {flat.shape[0]} entries, got {state!r}")
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" and idx.size:
            raise TypeError(f"indices must be a 1-D array of integers, got "
                            f"{idx.dtype} of shape {idx.shape}")
        idx = idx.astype(np.int64, copy=False)
        if idx.size and (idx.min() < 0 or idx.max() >= x.shape[0]):
            raise ValueError(f"indices must lie in [0, {x.shape[0]}) (the rows of x), got "
                             f"{idx.min()} .. {idx.max()}")
        want = (idx.size, *x.shape[1:])
        if type(values) is not np.ndarray or values.dtype != np.float64 \
                or values.shape != want:
            raise ValueError(f"values must be a float64 array of shape {want} (one row of x "
                             f"per index), got {getattr(values, 'dtype', type(values).__name__)}"
                             f" {getattr(values, 'shape', '')}")
        for a in state.arrays:
            if np.may_share_memory(a, values) or np.may_share_memory(a, x):
                raise ValueError("x and values must not share memory with a state array")
        if np.may_share_memory(x, values):
            raise ValueError("values shares memory with x; pass a copy")
        if idx.size and np.unique(idx).size != idx.size:
            rows, inverse = np.unique(idx, return_inverse=True)
            summed = np.zeros((rows.size, *x.shape[1:]))
            np.add.at(summed, inverse, values)
            idx, values = rows, summed
        return flat, np.ascontiguousarray(idx), np.ascontiguousarray(values).reshape(-1)

    def step(self, x: np.ndarray, indices: np.ndarray,  # type: ignore[override]
             values: np.ndarray, state: OptimizerState) -> None:
        """One update of the rows ``indices`` of x in place (and of the moments).

        Parameters
        ----------
        x : ndarray of float64
            The parameters, C-contiguous and writable, at least 1-D; rows are
            along the first axis.
        indices : ndarray of int
            The k rows the gradient holds, each in [0, x.shape[0]); a row given
            twice has its values summed (torch coalesces the gradient so).
        values : ndarray of float64
            Shape (k, *x.shape[1:]): the gradient's rows.
        state : OptimizerState
            Made by this optimizer's ``init(x)``.

        Raises
        ------
        TypeError, ValueError
            A bad argument, named; nothing is modified.
        FloatingPointError
            The step wrote NaN or inf into x or a moment.
        """
        flat, idx, vals = self._rows(x, indices, values, state)
        t = state.t + 1
        lr = self._lr_constant
        if lr is None:
            lr = self.lr(t)
        rule = self.rule
        kernel = rule.step if vals.shape[0] < rule.parallel_min_size else rule.step_parallel
        bad = kernel(flat, idx, vals, state.arrays, t, lr, self.hyper)
        state.t = t
        if bad:
            raise FloatingPointError(
                f"SparseAdam.step wrote NaN or inf at {bad} entries of x or the moments "
                f"(step t={t}, lr={lr:g}): a NaN or inf in values, x or the state")

    def step_if_finite(self, x: np.ndarray, indices: np.ndarray,  # type: ignore[override]
                       values: np.ndarray, state: OptimizerState) -> bool:
        """`step` if every value is finite; else skip, and count it.

        Parameters
        ----------
        x, indices, values, state
            As in `step`.

        Returns
        -------
        bool
            True if the step was taken.
        """
        self._rows(x, indices, values, state)
        if not np.isfinite(values).all():
            return record_skip(state)
        self.step(x, indices, values, state)
        state.skipped_in_a_row = 0
        return True
