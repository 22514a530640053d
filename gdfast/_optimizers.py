"""Optimizer objects: torch.optim's names and defaults over gdfast's kernels.

An optimizer holds validated hyperparameters and a learning rate (a float or
a :mod:`gdfast.schedules` schedule). ``init(x)`` allocates its state once;
``step(x, g, state)`` checks the arrays and runs one kernel call, in place::

    opt = gdfast.Adam(lr=0.01)
    state = opt.init(x)            # OptimizerState: arrays shaped like x, t = 0
    for _ in range(100):
        opt.step(x, grad(x), state)

x and g are C-contiguous float64 arrays of one shape, any shape (as torch
parameters are): the step works on their flat views, without a copy, bit
for bit as on ``x.ravel()``; the state arrays are 1-D, of length x.size.
Arrays of at least the rule's ``parallel_min_size`` elements (gdfast._rules)
go to the parallel kernel; both kernels give bitwise the same result.
"""
import functools
from collections.abc import Callable, Sequence

import numpy as np

from . import _validation as check
from ._rules import RULES, Rule
from ._validation import F8
from .kernels.reductions import max_abs, max_abs_parallel
from .schedules import Schedule, as_schedule

# lr: a float > 0 or a schedule from gdfast.schedules
LearningRate = float | Schedule

class OptimizerState:
    """The state of one run: the rule's arrays and the step count.

    Made by `Optimizer.init`; pass it to every `Optimizer.step` of the run.
    ``state[name]`` is the array of that name.

    Parameters
    ----------
    names : sequence of str
        The rule's names of the state arrays, in order.
    arrays : sequence of ndarray
        C-contiguous float64 arrays, each of shape (n,), or (0,) for an array
        the options leave unused.
    n : int
        The length of the parameter vector it is made for.
    t : int, default 0
        The number of steps taken.

    Attributes
    ----------
    names : tuple of str
        The arrays' names.
    arrays : tuple of ndarray
        The float64 arrays, each of shape (n,), named by ``names``.
    n : int
        The length of the parameter vector it was made for.
    t : int
        The number of steps taken (0 after init).
    skipped, skipped_in_a_row : int
        Steps that `Optimizer.step_if_finite` skipped for NaN or inf in the
        gradient: in all, and since the last step taken.
    unused : tuple of bool or None
        Which arrays the options leave unused (length 0); None when n is 0.

    Raises
    ------
    ValueError, TypeError
        An array is not a C-contiguous float64 vector, or its length is
        neither n nor 0.
    """
    __slots__ = ("names", "arrays", "t", "n", "skipped", "skipped_in_a_row", "unused",
                 "_ids", "_owned")

    def __init__(self, names: Sequence[str], arrays: Sequence[np.ndarray], n: int,
                 t: int = 0) -> None:
        self.names, self.arrays, self.n, self.t = tuple(names), tuple(arrays), n, t
        self.skipped = self.skipped_in_a_row = 0
        for name, a in zip(self.names, self.arrays):
            check.kernel_array(f"state[{name!r}]", a)
            if a.shape[0] not in (0, n):
                raise ValueError(f"state[{name!r}] has length {a.shape[0]}, expected {n} "
                                 "(or 0 for an array the options leave unused)")
        # which arrays the options leave unused (length 0): a state made for
        # other options must not reach a kernel that would index them
        self.unused = tuple(a.shape[0] == 0 for a in self.arrays) if n else None
        # for step's fast test that x and g are not (views of) state arrays
        self._ids = frozenset(map(id, self.arrays))
        self._owned = all(a.base is None for a in self.arrays)

    def apart_from(self, x: np.ndarray, g: np.ndarray) -> bool:
        """True if neither x nor g shares memory with a state array.

        Parameters
        ----------
        x, g : ndarray
            The arrays a step would update and read.

        Returns
        -------
        bool
        """
        if self._owned:
            # the state arrays own their buffers: an array shares memory with
            # one only if it is that array or a view whose root base it is
            rx, rg = _root(x), _root(g)
            if rx.base is None and rg.base is None:
                return id(rx) not in self._ids and id(rg) not in self._ids
        return not any(np.may_share_memory(a, b) for a in self.arrays for b in (x, g))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[self.names.index(name)]

    def __repr__(self):
        shapes = ", ".join(f"{k}: float64{a.shape}" for k, a in zip(self.names, self.arrays))
        return f"OptimizerState(t={self.t}, {shapes})"


def flat_view(name, a):
    """The flat view of the C-contiguous array a (no copy); ValueError naming
    ``name`` if a is not C-contiguous (its flat view would be a copy)."""
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (the step updates it in place through "
                         "its flat view; np.ascontiguousarray makes a contiguous copy)")
    return a.reshape(-1)


def _flat_pair(x, g):
    """x (an ndarray of any shape but 1-D) and g of the same shape, as flat views."""
    if type(g) is not np.ndarray:
        raise TypeError(f"g must be a numpy.ndarray, got {type(g).__name__}")
    if g.shape != x.shape:
        raise ValueError(f"g must have the shape of x {x.shape}, got {g.shape}")
    return flat_view("x", x), flat_view("g", g)


def _root(a):
    """The array at the end of a's chain of numpy bases (a itself if it owns its data)."""
    while type(a.base) is np.ndarray:
        a = a.base
    return a


class Optimizer:
    """Base class of the optimizers, torch.optim style.

    Subclasses set ``self.rule`` (a ``gdfast._rules.Rule``), ``self.hyper``
    (its tuple of floats) and ``self.lr``. The hyperparameters are fixed once
    the optimizer is made: the compiled step reads ``hyper`` and a cached rate,
    so an assignment such as ``opt.lr = 0.2`` would be silently ignored; it
    raises AttributeError instead, saying how to change them (a new optimizer,
    whose ``init`` state the old run's state can be copied into; or a schedule
    as lr).

    Attributes
    ----------
    rule : Rule
        The update rule: its serial and parallel kernels, the names of its
        state arrays and of its hyperparameters.
    hyper : tuple of float
        The rule's hyperparameters, in the kernel's order.
    lr : Schedule
        The learning rate (a constant is ``schedules.constant(lr)``).

    Examples
    --------
    >>> import numpy as np
    >>> import gdfast
    >>> opt = gdfast.SGD(lr=0.1, momentum=0.5, nesterov=True)
    >>> x = np.array([5.0])
    >>> state = opt.init(x)
    >>> for _ in range(100):
    ...     opt.step(x, 2 * x + 5, state)
    >>> print(x, state.t)
    [-2.5] 100
    """

    rule: Rule
    hyper: tuple[float, ...] = ()
    lr: Schedule
    _unused_mask = None        # set by _unused(); the fast path of step compares it
    _building = 0              # > 0 while a constructor runs: then attributes may be set

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def building(self, *args, **kw):
            depth = self._building
            object.__setattr__(self, "_building", depth + 1)
            try:
                init(self, *args, **kw)
            finally:
                object.__setattr__(self, "_building", depth)
        cls.__init__ = building

    def __setattr__(self, name, value):
        if self._building or name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        raise AttributeError(
            f"{type(self).__name__}'s hyperparameters are fixed once it is made, so "
            f"{name} = {value!r} would be ignored: make a new optimizer (e.g. "
            f"{type(self).__name__}(lr=..., ...)) and copy the run's state arrays into its "
            "init(x) state, or pass lr a schedule (gdfast.schedules) for a rate that changes")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__}'s attributes cannot be deleted")

    def _set_lr(self, lr):
        if not isinstance(lr, Schedule):
            lr = as_schedule(check.positive("lr", lr))
        self.lr = lr
        # A constant rate skips the schedule call on every step.
        self._lr_constant = lr.lr0 if lr.name == "constant" else None

    def init(self, x: np.ndarray) -> OptimizerState:
        """Allocate the state for parameters x.

        Parameters
        ----------
        x : ndarray of float64
            Any shape, C-contiguous if not 1-D; any values (only its size is
            read).

        Returns
        -------
        OptimizerState
            1-D arrays of length x.size, as the rule's start (zeros, or the
            options' initial values), and t = 0.
        """
        if type(x) is np.ndarray and x.ndim != 1:
            x = flat_view("x", x)
        check.kernel_array("x", x)
        n = x.shape[0]
        self._unused()
        return OptimizerState(self.rule.state, self._initial_state(n), n)

    def _initial_state(self, n):
        return tuple(np.zeros(n) for _ in self.rule.state)

    def step(self, x: np.ndarray, g: np.ndarray, state: OptimizerState) -> None:
        """One update of x in place (and of the state).

        Parameters
        ----------
        x : ndarray of float64
            The parameters, C-contiguous and writable, any shape: the step updates
            the flat view of x in place, bit for bit as the same step on
            ``x.ravel()``.
        g : ndarray of float64
            The gradient at x: C-contiguous, x's shape, not overlapping x (g may
            be x itself); neither x nor g may share memory with a state array.
        state : OptimizerState
            The state that this optimizer's ``init`` made for x.size parameters.

        Returns
        -------
        None

        Raises
        ------
        TypeError, ValueError
            For any of the conditions above; nothing is modified then.
        FloatingPointError
            When the step wrote NaN or inf into x or the state: a NaN or inf in g
            (or already in x or the state), or an overflow (a huge lr or
            weight_decay, g^2 beyond 1e308). The kernel counts such entries in the
            same pass (``gdfast.kernels.nonfinite``), so the check costs no extra
            pass. The step has then been taken, as IEEE arithmetic gives it
            (state.t counts it): x and the state hold those values. To skip
            gradients with NaN or inf instead, use `step_if_finite`; to recover
            from an overflow, keep a copy.
        """
        if type(x) is np.ndarray and x.ndim != 1:
            x, g = _flat_pair(x, g)
        # One cheap test for the common case; the slow path names the problem.
        if not (type(x) is np.ndarray and type(g) is np.ndarray and x.dtype is F8
                and g.dtype is F8 and x.ndim == 1 and g.shape == x.shape
                and type(state) is OptimizerState and state.n == x.shape[0]
                and state.names == self.rule.state and x.flags.c_contiguous
                and x.flags.writeable and g.flags.c_contiguous
                and state.unused == self._unused_mask
                # arrays that own their data are separate allocations
                and (g is x or (x.base is None and g.base is None)
                     or not np.may_share_memory(x, g))
                # state.apart_from's first case written out (a method call
                # here costs more than the test)
                and (state._owned and x.base is None and g.base is None
                     and id(x) not in state._ids and id(g) not in state._ids
                     or state.apart_from(x, g))):
            self._check_step_arguments(x, g, state)
        t = state.t + 1
        lr = self._lr_constant
        if lr is None:
            lr = self.lr(t)
        # rule.kernel_for(n), written out: a method call here costs more than
        # the rest of the dispatch on this per-step path
        rule = self.rule
        kernel = rule.step if x.shape[0] < rule.parallel_min_size else rule.step_parallel
        bad = kernel(x, g, state.arrays, t, lr, self.hyper)
        state.t = t
        if bad:
            raise FloatingPointError(
                f"{type(self).__name__}.step wrote NaN or inf at {bad} of {x.shape[0]} "
                f"entries of x or the state (step t={t}, lr={lr:g}): a NaN or inf in g, x "
                "or the state, or an overflow; x and the state now hold those values "
                "(step_if_finite skips gradients with NaN or inf)")

    def step_if_finite(self, x: np.ndarray, g: np.ndarray, state: OptimizerState) -> bool:
        """``step(x, g, state)`` if every g_i is finite; else skip, and count it.

        Otherwise x and the state (t included) stay as they are and the skip is
        counted in ``state.skipped`` and ``state.skipped_in_a_row`` (reset by the
        next step taken), as optax.apply_if_finite does. Stop your loop when
        skipped_in_a_row reaches your limit.

        Parameters
        ----------
        x, g, state
            As in `step`.

        Returns
        -------
        bool
            True if the step was taken.

        Raises
        ------
        TypeError, ValueError
            As `step`, before anything is modified.
        FloatingPointError
            A step taken with a finite g can still overflow: step's
            FloatingPointError then propagates.
        """
        if type(x) is np.ndarray and x.ndim != 1:
            x, g = _flat_pair(x, g)
        self._check_step_arguments(x, g, state)
        reduce = max_abs if x.shape[0] < self.rule.parallel_min_size else max_abs_parallel
        if not np.isfinite(reduce(g)):
            state.skipped += 1
            state.skipped_in_a_row += 1
            return False
        self.step(x, g, state)
        state.skipped_in_a_row = 0
        return True

    def _check_step_arguments(self, x, g, state):
        check.kernel_array("x", x)
        check.writable("x", x)
        if type(g) is np.ndarray and g.ndim != 1:
            raise ValueError(f"g must have the shape of x {x.shape}, got {g.shape}")
        check.kernel_array("g", g, x.shape[0])
        if type(state) is not OptimizerState or state.names != self.rule.state:
            raise TypeError(f"state must be the OptimizerState made by this optimizer's "
                            f"init(x), got {state!r}")
        if state.n != x.shape[0]:
            raise ValueError(f"state arrays have length {state.n} but x has length "
                             f"{x.shape[0]}; call init(x) for these parameters")
        if state.unused not in (None, self._unused()):
            raise TypeError(f"state was made for other options of {type(self).__name__} "
                            f"(state arrays in use: {state.unused}); call init(x) of this "
                            "optimizer")
        if g is not x and np.may_share_memory(x, g) and x.ctypes.data != g.ctypes.data:
            raise ValueError("g overlaps x in memory (a shifted view of the same buffer); "
                             "pass a copy of g")
        for name, a in zip(state.names, state.arrays):
            for what, b in (("x", x), ("g", g)):
                if np.may_share_memory(a, b):
                    raise ValueError(f"{what} shares memory with state[{name!r}]: the update "
                                     f"would overwrite one with the other; pass {what} in "
                                     "an array of its own")

    def _unused(self):
        """Which state arrays this optimizer's options leave unused (length 0)."""
        if self._unused_mask is None:
            self._unused_mask = tuple(a.shape[0] == 0 for a in self._initial_state(1))
        return self._unused_mask

    def __repr__(self):
        opts = ", ".join(f"{k}={v}" for k, v in zip(self.rule.hyper, self.hyper))
        return f"{type(self).__name__}(lr={self.lr}, rule={self.rule.name}, {opts})"


class SGD(Optimizer):
    """Stochastic gradient descent: plain, heavy-ball momentum or Nesterov.

    torch.optim.SGD's arguments and defaults. With momentum = 0 the update is
    ``x <- x - lr * (±g + weight_decay * x)``; with momentum > 0 see
    `gdfast.kernels.momentum_step`, with nesterov=True
    `gdfast.kernels.nesterov_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    momentum : float, default 0.0
        >= 0; 0 is plain gradient descent.
    dampening : float, default 0.0
        In [0, 1].
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    nesterov : bool, default False
        Nesterov's momentum; needs momentum > 0 and dampening = 0.
    maximize : bool, default False
        Ascend f instead (keyword only).

    Raises
    ------
    ValueError, TypeError
        A hyperparameter out of its range, named in the message.
    """

    def __init__(self, lr: LearningRate = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        self._set_lr(lr)
        momentum = check.non_negative("momentum", momentum)
        dampening = check.in_unit_interval("dampening", dampening, closed_right=True)
        weight_decay = check.non_negative("weight_decay", weight_decay)
        nesterov = check.boolean("nesterov", nesterov)
        maximize_flag = float(check.boolean("maximize", maximize))
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")
        if nesterov:
            self.rule = RULES["nesterov"]
            self.hyper = (momentum, weight_decay, maximize_flag)
        elif momentum > 0.0:
            self.rule = RULES["momentum"]
            self.hyper = (momentum, dampening, weight_decay, maximize_flag)
        else:
            self.rule = RULES["gd"]
            self.hyper = (weight_decay, maximize_flag)


class Adagrad(Optimizer):
    """AdaGrad with torch.optim.Adagrad's arguments and defaults.

    Equations: `gdfast.kernels.adagrad_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    lr_decay : float, default 0.0
        >= 0.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    initial_accumulator_value : float, default 0.0
        >= 0, the starting sum of squared gradients.
    eps : float, default 1e-10
        > 0, added outside the square root.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        self._set_lr(lr)
        self.rule = RULES["adagrad"]
        self.initial_accumulator_value = check.non_negative(
            "initial_accumulator_value", initial_accumulator_value)
        self.hyper = (check.non_negative("lr_decay", lr_decay), check.positive("eps", eps),
                      check.non_negative("weight_decay", weight_decay),
                      float(check.boolean("maximize", maximize)))

    def _initial_state(self, n):
        return (np.full(n, self.initial_accumulator_value),)


class RMSprop(Optimizer):
    """RMSProp with torch.optim.RMSprop's arguments and defaults.

    Equations: `gdfast.kernels.rmsprop_step` (plain) and
    `gdfast.kernels.rmsprop_full_step` (centred or with momentum); the state
    holds only the arrays the options use.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    alpha : float, default 0.99
        In [0, 1), the decay of the squared-gradient average.
    eps : float, default 1e-8
        > 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    momentum : float, default 0.0
        >= 0.
    centered : bool, default False
        Subtract the square of the mean gradient.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        self._set_lr(lr)
        alpha = check.in_unit_interval("alpha", alpha)
        eps = check.positive("eps", eps)
        weight_decay = check.non_negative("weight_decay", weight_decay)
        self.momentum = check.non_negative("momentum", momentum)
        self.centered = check.boolean("centered", centered)
        maximize_flag = float(check.boolean("maximize", maximize))
        if self.momentum == 0.0 and not self.centered:
            self.rule = RULES["rmsprop"]
            self.hyper = (alpha, eps, weight_decay, maximize_flag)
        else:
            self.rule = RULES["rmsprop_full"]
            self.hyper = (alpha, eps, weight_decay, self.momentum, float(self.centered),
                          maximize_flag)

    def _initial_state(self, n):
        if self.rule.name == "rmsprop":
            return (np.zeros(n),)
        return (np.zeros(n), np.zeros(n if self.centered else 0),
                np.zeros(n if self.momentum > 0 else 0))


def _betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return (check.in_unit_interval("betas[0]", betas[0]),
            check.in_unit_interval("betas[1]", betas[1]))


class Adam(Optimizer):
    """Adam with torch.optim.Adam's arguments and defaults.

    Equations: `gdfast.kernels.adam_step` (the default options) and
    `gdfast.kernels.adamw_step` (amsgrad or decoupled decay).

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        > 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or AdamW's decoupled decay with
        decoupled_weight_decay=True.
    amsgrad : bool, default False
        Keep the running maximum of the second moment.
    maximize : bool, default False
        Ascend f instead (keyword only).
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        self._set_lr(lr)
        beta1, beta2 = _betas(betas)
        eps = check.positive("eps", eps)
        weight_decay = check.non_negative("weight_decay", weight_decay)
        self.amsgrad = check.boolean("amsgrad", amsgrad)
        decoupled = check.boolean("decoupled_weight_decay", decoupled_weight_decay)
        maximize_flag = float(check.boolean("maximize", maximize))
        if not self.amsgrad and not decoupled:
            self.rule = RULES["adam"]
            self.hyper = (beta1, beta2, eps, weight_decay, maximize_flag)
        else:
            self.rule = RULES["adamw"]
            self.hyper = (beta1, beta2, eps, weight_decay, float(decoupled),
                          float(self.amsgrad), maximize_flag)

    def _initial_state(self, n):
        if self.rule.name == "adam":
            return (np.zeros(n), np.zeros(n))
        return (np.zeros(n), np.zeros(n), np.zeros(n if self.amsgrad else 0))


class AdamW(Adam):
    """AdamW: torch.optim.AdamW's arguments and defaults.

    weight_decay 0.01, decoupled: ``x <- x (1 - lr weight_decay)`` before the
    Adam step. Equations: `gdfast.kernels.adamw_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        > 0, added outside the square root.
    weight_decay : float, default 1e-2
        >= 0, the decoupled decay's weight.
    amsgrad : bool, default False
        Keep the running maximum of the second moment.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


class Adamax(Optimizer):
    """Adamax with torch.optim.Adamax's arguments and defaults (lr 2e-3).

    Equations: `gdfast.kernels.adamax_step`.

    Parameters
    ----------
    lr : float or Schedule, default 2e-3
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        > 0.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        self._set_lr(lr)
        self.rule = RULES["adamax"]
        self.hyper = (*_betas(betas), check.positive("eps", eps),
                      check.non_negative("weight_decay", weight_decay),
                      float(check.boolean("maximize", maximize)))


class NAdam(Optimizer):
    """NAdam with torch.optim.NAdam's arguments and defaults.

    lr 2e-3, momentum_decay 4e-3. Equations: `gdfast.kernels.nadam_step`.

    Parameters
    ----------
    lr : float or Schedule, default 2e-3
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        > 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or decoupled with
        decoupled_weight_decay=True.
    momentum_decay : float, default 4e-3
        >= 0.
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._set_lr(lr)
        self.rule = RULES["nadam"]
        self.hyper = (*_betas(betas), check.positive("eps", eps),
                      check.non_negative("weight_decay", weight_decay),
                      check.non_negative("momentum_decay", momentum_decay),
                      float(check.boolean("decoupled_weight_decay", decoupled_weight_decay)),
                      float(check.boolean("maximize", maximize)))


class RAdam(Optimizer):
    """RAdam with torch.optim.RAdam's arguments and defaults.

    Equations: `gdfast.kernels.radam_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        > 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or decoupled with
        decoupled_weight_decay=True.
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._set_lr(lr)
        self.rule = RULES["radam"]
        self.hyper = (*_betas(betas), check.positive("eps", eps),
                      check.non_negative("weight_decay", weight_decay),
                      float(check.boolean("decoupled_weight_decay", decoupled_weight_decay)),
                      float(check.boolean("maximize", maximize)))


class Adadelta(Optimizer):
    """Adadelta with torch.optim.Adadelta's arguments and defaults.

    lr 1.0, rho 0.9, eps 1e-6 inside the square roots. Equations:
    `gdfast.kernels.adadelta_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1.0
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    rho : float, default 0.9
        In [0, 1], the decay of the running averages.
    eps : float, default 1e-6
        > 0, inside the square roots.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._set_lr(lr)
        self.rule = RULES["adadelta"]
        self.hyper = (check.in_unit_interval("rho", rho, closed_right=True),
                      check.positive("eps", eps),
                      check.non_negative("weight_decay", weight_decay),
                      float(check.boolean("maximize", maximize)))


class Rprop(Optimizer):
    """Rprop with torch.optim.Rprop's arguments and defaults.

    Equations: `gdfast.kernels.rprop_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The initial step size of every coordinate, > 0.
    etas : (float, float), default (0.5, 1.2)
        (eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus.
    step_sizes : (float, float), default (1e-6, 50.0)
        (min, max) with 0 <= min <= max.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), *,
                 maximize: bool = False) -> None:
        self._set_lr(lr)
        if not isinstance(etas, (tuple, list)) or len(etas) != 2:
            raise TypeError(f"etas must be a pair (eta_minus, eta_plus), got {etas!r}")
        if not isinstance(step_sizes, (tuple, list)) or len(step_sizes) != 2:
            raise TypeError(f"step_sizes must be a pair (min, max), got {step_sizes!r}")
        eta_minus, eta_plus = check.positive("etas[0]", etas[0]), check.positive("etas[1]", etas[1])
        if not eta_minus < 1.0 < eta_plus:
            raise ValueError(f"etas must satisfy 0 < eta_minus < 1 < eta_plus, got {etas!r}")
        lo = check.non_negative("step_sizes[0]", step_sizes[0])
        hi = check.non_negative("step_sizes[1]", step_sizes[1])
        if lo > hi:
            raise ValueError(f"step_sizes must satisfy min <= max, got {step_sizes!r}")
        self.rule = RULES["rprop"]
        self.hyper = (eta_minus, eta_plus, lo, hi, float(check.boolean("maximize", maximize)))

    def _initial_state(self, n):
        return (np.zeros(n), np.full(n, self.lr(1)))


class Lion(Optimizer):
    """Lion with optax.lion's equations and defaults.

    b1 0.9, b2 0.99, weight_decay 1e-3, decoupled. optax requires a learning
    rate; 1e-4 here. Equations: `gdfast.kernels.lion_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-4
        The learning rate, > 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1], the momentum's weight in the update's sign.
    b2 : float, default 0.99
        In [0, 1], the decay of the momentum.
    weight_decay : float, default 1e-3
        >= 0, decoupled.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    def __init__(self, lr: LearningRate = 1e-4, b1: float = 0.9, b2: float = 0.99,
                 weight_decay: float = 1e-3, *, maximize: bool = False) -> None:
        self._set_lr(lr)
        self.rule = RULES["lion"]
        self.hyper = (check.in_unit_interval("b1", b1, closed_right=True),
                      check.in_unit_interval("b2", b2, closed_right=True),
                      check.non_negative("weight_decay", weight_decay),
                      float(check.boolean("maximize", maximize)))


METHODS: dict[str, Callable[..., Optimizer]] = {
    "gd": lambda **kw: SGD(**{"lr": 0.1, **kw}),
    "sgd": SGD,
    "momentum": lambda **kw: SGD(**{"lr": 0.1, "momentum": 0.9, **kw}),
    "nesterov": lambda **kw: SGD(**{"lr": 0.1, "momentum": 0.9, "nesterov": True, **kw}),
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "adamax": Adamax,
    "nadam": NAdam,
    "radam": RAdam,
    "adadelta": Adadelta,
    "rprop": Rprop,
    "lion": Lion,
}


def make_optimizer(method: str | Optimizer, options: dict | None = None) -> Optimizer:
    """An Optimizer from an instance, or from a name in METHODS and options."""
    if isinstance(method, Optimizer):
        if options:
            raise TypeError("options is only for a method given by name; "
                            "pass the hyperparameters to the optimizer object")
        return method
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be an Optimizer or one of {sorted(METHODS)}, "
                         f"got {method!r}")
    return METHODS[method.lower()](**(options or {}))
