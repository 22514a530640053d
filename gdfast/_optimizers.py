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

Several arrays (torch's param groups): ``init([w, b])`` and ``step([w, b],
[gw, gb], state)`` step each array with its group's settings, one kernel call
per array; ``Adam.grouped([{"params": 2, "lr": 1e-3}, {"params": 1}],
lr=1e-2)`` makes groups of their own settings, each a count of the step's
arrays (the objects do not hold the arrays). See `Optimizer.grouped`.
"""
import copy
import math
import numbers
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Self

import numpy as np

from . import _validation as check
from . import kernels
from ._rules import MORE_RULES, RULES, SCHEDULES, Rule
from ._validation import F8
from .kernels.adafactor import WORK_BASE as ADAFACTOR_WORK_BASE
from .kernels.adam_family import nadam_mu
from .kernels.asgd import asgd_factors
from .kernels.muon import work_size as muon_work_size
from .kernels.reductions import max_abs, max_abs_parallel
from .schedules import Schedule

# lr: a float >= 0 or a schedule from gdfast.schedules
LearningRate = float | Schedule
# the unused-array mask of an optimizer of several groups: no state's mask
_GROUPED = ("several groups",)

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
    kind : str, optional
        The class name of the optimizer it is made for (``init`` sets it).
    lengths : sequence of int, optional
        The length of each array when in use (default n for every array): the
        factored and matrix rules (Adafactor, Muon) keep arrays of other
        lengths.
    shape : tuple of int, optional
        The parameters' shape, for the rules that read it (Adafactor, Muon);
        None for the element-wise rules.

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
    lengths : tuple of int
        The length of each array when in use.
    shape : tuple of int or None
        The parameters' shape for Adafactor and Muon, else None.
    kind : str or None
        The class name of the optimizer whose ``init`` (or ``load_state_dict``)
        made it; None for a state built by hand. The state follows a live
        change of that optimizer object's options: its next step lays the
        arrays out for the new options (`Optimizer.step`); another optimizer
        refuses a state made for other options.

    Raises
    ------
    ValueError, TypeError
        An array is not a C-contiguous float64 vector, or its length is
        neither n nor 0.
    """
    __slots__ = ("names", "arrays", "t", "n", "skipped", "skipped_in_a_row", "unused",
                 "kind", "lengths", "shape", "_ids", "_owned", "_kept", "_owner")

    def __init__(self, names: Sequence[str], arrays: Sequence[np.ndarray], n: int,
                 t: int = 0, kind: str | None = None, lengths: Sequence[int] | None = None,
                 shape: tuple[int, ...] | None = None) -> None:
        self.n, self.t, self.kind, self.shape = n, t, kind, shape
        self.lengths = tuple(lengths) if lengths is not None else (n,) * len(names)
        self.skipped = self.skipped_in_a_row = 0
        for name, a, length in zip(names, arrays, self.lengths):
            check.kernel_array(f"state[{name!r}]", a)
            if a.shape[0] not in (0, length):
                raise ValueError(f"state[{name!r}] has length {a.shape[0]}, expected {length} "
                                 "(or 0 for an array the options leave unused)")
        # arrays of buffers the options turned off (kept, as torch keeps them in
        # its state, for when they are turned on again), by name
        self._kept: dict[str, np.ndarray] = {}
        self._owner: object = None     # the token of the optimizer whose init made it
        self.set_layout(names, arrays)

    def set_layout(self, names: Sequence[str], arrays: Sequence[np.ndarray]) -> None:
        """Replace the names and arrays (checked by the caller), and what step's
        fast path reads from them.

        Parameters
        ----------
        names : sequence of str
        arrays : sequence of ndarray
            Each of length n or 0.
        """
        if len(names) != len(self.lengths):
            self.lengths = (self.n,) * len(names)
        self.names, self.arrays = tuple(names), tuple(arrays)
        # which arrays the options leave unused (length 0): a state made for
        # other options must not reach a kernel that would index them
        self.unused = tuple(a.shape[0] == 0 for a in self.arrays) if self.n else None
        # for step's fast test that x and g are not (views of) state arrays
        self._ids = frozenset(map(id, self.arrays))
        self._owned = all(a.base is None for a in self.arrays)

    def arrays_by_name(self) -> dict[str, np.ndarray]:
        """Every array of length n the state holds, by name: those of the
        current options, and the buffers of options turned off since (kept).

        Returns
        -------
        dict of str to ndarray
            The arrays themselves, not copies.
        """
        out = dict(self._kept)
        out.update((k, a) for k, a, length in zip(self.names, self.arrays, self.lengths)
                   if self.holds(a, length))
        return out

    def holds(self, a: np.ndarray, length: int) -> bool:
        """True if the array a, of the layout's ``length``, is in use (an array of
        length 0 is, only for parameters of size 0).

        Parameters
        ----------
        a : ndarray
        length : int

        Returns
        -------
        bool
        """
        return a.shape[0] == length and (length > 0 or self.n == 0)

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


class OptimizerStates:
    """The state of a run over several arrays: one `OptimizerState` per array.

    Made by `Optimizer.init` given a list of arrays; pass it to every
    ``step(xs, gs, state)`` of the run. ``state[i]`` is the state of the i-th
    array (its arrays by name: ``state[i]["exp_avg"]``).

    Parameters
    ----------
    states : sequence of OptimizerState
        One per array, in the step's order.
    shapes : sequence of tuple of int
        The arrays' shapes.
    kind : str, optional
        The class name of the optimizer it is made for.

    Attributes
    ----------
    states : tuple of OptimizerState
    shapes : tuple of tuple of int
    t : int
        The number of steps taken (every array's t).
    skipped, skipped_in_a_row : int
        Steps that `Optimizer.step_many_if_finite` skipped.
    kind : str or None
    """

    __slots__ = ("states", "shapes", "kind", "skipped", "skipped_in_a_row", "_owner")

    def __init__(self, states: Sequence[OptimizerState], shapes: Sequence[tuple[int, ...]],
                 kind: str | None = None) -> None:
        self.states, self.shapes, self.kind = tuple(states), tuple(map(tuple, shapes)), kind
        self.skipped = self.skipped_in_a_row = 0
        self._owner: object = None

    @property
    def t(self) -> int:
        """The number of steps taken."""
        return self.states[0].t if self.states else 0

    def __getitem__(self, i: int) -> OptimizerState:
        return self.states[i]

    def __len__(self) -> int:
        return len(self.states)

    def __repr__(self):
        return f"OptimizerStates(t={self.t}, shapes={list(self.shapes)})"


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

    A subclass names its hyperparameters and their checks in ``_spec``
    (torch's argument names, in the constructor's order), and turns the
    checked values into a rule and its ``hyper`` tuple in ``_configure``.
    Every hyperparameter is live: ``opt.betas = (0.8, 0.99)`` (or torch's
    spelling, ``opt.param_groups[0]["betas"] = ...``) is checked as the
    constructor checks it -- a bad value raises TypeError or ValueError naming
    the attribute, and changes nothing -- and the next step uses it, as the
    same step of a fresh optimizer made with that value would from the same
    state. An option that changes which state arrays the rule keeps (SGD's
    momentum from 0, RMSprop's centered, Adam's amsgrad, ...) lays the state
    out anew at the next step: a buffer turned on starts as torch starts it
    (zeros; SGD's momentum buffer as the first step's d), one turned off is
    kept in the state for when it is turned on again. ``rule`` and ``hyper``
    are derived and read-only.

    Attributes
    ----------
    rule : Rule
        The update rule: its serial and parallel kernels, the names of its
        state arrays and of its hyperparameters.
    hyper : tuple of float
        The rule's hyperparameters, in the kernel's order.
    lr : Schedule
        The learning rate (a number given is ``schedules.constant(lr)``; read
        it as given from ``param_groups[0]["lr"]``).
    param_groups : list of ParamGroup
        torch.optim's view of the hyperparameters: one group, a mapping from
        torch's names to the values, writable.

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
    >>> opt.lr = 0.05                       # live: the next step uses it
    >>> opt.param_groups[0]["momentum"] = 0.9
    """

    rule: Rule
    hyper: tuple[float, ...] = ()
    lr: Schedule
    _values: dict
    _spec: dict[str, Callable[[str, Any], Any]] = {}
    _unused_mask = None        # set by _unused(); the fast path of step compares it
    _shaped = False            # the state depends on the parameters' shape (Adafactor, Muon)
    _scratch: tuple[str, ...] = ()   # state arrays that are scratch, not saved
    _lr_constant: float | None = None
    _token: object
    # several arrays in groups of their own settings (Optimizer.grouped): one
    # optimizer of this class per group, and how many of the step's arrays each
    # covers; None for an optimizer of one group (the object itself)
    _groups: tuple["Optimizer", ...] | None = None
    _group_sizes: tuple[int, ...] | None = None

    def _configure(self, v: dict) -> tuple[Rule, tuple[float, ...]]:
        """The rule and its hyper tuple for the checked values ``v``."""
        raise NotImplementedError

    def _cross_check(self, v: dict) -> None:
        """Checks that involve several hyperparameters (ValueError naming them)."""

    def _apply(self, raw: dict) -> None:
        """Check every value of ``raw`` (a value for each name of ``_spec``) and
        take them; nothing is changed if a check fails."""
        v = {name: checker(name, raw[name]) for name, checker in self._spec.items()}
        self._cross_check(v)
        rule, hyper = self._configure(v)
        if "_token" not in self.__dict__:
            # which states this optimizer made: those follow its live changes
            object.__setattr__(self, "_token", object())
        lr = v["lr"]
        schedule = lr if isinstance(lr, Schedule) else Schedule("constant", kernels.constant,
                                                                lr, ())
        for name, value in (("_values", v), ("rule", rule), ("hyper", hyper), ("lr", schedule),
                            # A constant rate skips the schedule call on every step.
                            ("_lr_constant",
                             schedule.lr0 if schedule.name == "constant" else None),
                            # a grouped optimizer's own step is never the fast
                            # path: its sentinel equals no state's mask
                            ("_unused_mask",
                             None if self.__dict__.get("_groups") is None else _GROUPED)):
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only for names not found the ordinary way: the hyperparameters
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name in self._spec:
            self._set({name: value})
        elif name in ("rule", "hyper"):
            raise AttributeError(f"{type(self).__name__}.{name} is derived from the "
                                 f"hyperparameters; set those instead ({', '.join(self._spec)})")
        else:
            raise AttributeError(f"{type(self).__name__} has no hyperparameter {name!r}; "
                                 f"its hyperparameters are {', '.join(self._spec)}")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__}'s attributes cannot be deleted")

    @property
    def param_groups(self) -> list["ParamGroup"]:
        """torch.optim's ``param_groups``: a live view of each group's
        hyperparameters. One group (``opt.param_groups[0]["lr"] = 0.01`` sets
        ``opt.lr``), or those given to `grouped` (``opt.param_groups[1]["lr"] =
        0.01`` sets the second group's rate only)."""
        if self._groups is not None:
            return [ParamGroup(sub) for sub in self._groups]
        return [ParamGroup(self)]

    @property
    def group_sizes(self) -> tuple[int, ...] | None:
        """How many of the step's arrays each group covers, in order (torch's
        ``len(group["params"])``); None for an optimizer of one group, which
        takes any number of arrays."""
        return self._group_sizes

    @classmethod
    def grouped(cls, groups: Sequence[Mapping[str, Any]], **defaults: Any) -> Self:
        """An optimizer over several arrays in groups of their own settings:
        torch's ``param_groups``, where a group names how many of the step's
        arrays it covers instead of holding them.

        ``Adam.grouped([{"params": 2, "lr": 1e-3}, {"params": 1,
        "weight_decay": 0.0}], lr=1e-2, weight_decay=0.1)`` is torch's
        ``Adam([{"params": [w, b], "lr": 1e-3}, {"params": [c],
        "weight_decay": 0.0}], lr=1e-2, weight_decay=0.1)``: ``init([w, b, c])``
        and ``step([w, b, c], [gw, gb, gc], state)``; the first group's two
        arrays step with lr 1e-3, the third with weight_decay 0.

        Parameters
        ----------
        groups : sequence of mapping
            Each ``{"params": k, name: value, ...}``: k >= 1 arrays (the next k
            of the step's arrays, in order), and the hyperparameters (torch's
            names) that differ from ``defaults``.
        **defaults
            The constructor's arguments: every group's values where it gives
            none (torch's ``optimizer.defaults``).

        Returns
        -------
        Optimizer
            Of this class. ``param_groups[i]`` is group i's live view (an lr
            set there, a number or a schedule, is taken at the next step);
            assigning ``opt.name = value`` sets it in every group.

        Raises
        ------
        TypeError, ValueError
            A group that is not a mapping, a ``params`` that is not an integer
            >= 1, an unknown or out-of-range hyperparameter (named with its
            group's index), or a class that takes one array (SparseAdam).
        """
        opt = cls(**defaults)
        opt._set_groups(groups)
        return opt

    def _set_groups(self, groups):
        """Make one optimizer of this class per group (checked, then taken)."""
        if getattr(self, "_several", True) is False:
            raise TypeError(f"{type(self).__name__} takes one array (see its step); use one "
                            f"{type(self).__name__} per array")
        if not isinstance(groups, (list, tuple)) or not groups:
            raise TypeError(f"groups must be a non-empty list of mappings "
                            f"{{'params': count, hyperparameter: value, ...}}, got {groups!r}")
        subs, sizes = [], []
        for i, group in enumerate(groups):
            if not isinstance(group, Mapping):
                raise TypeError(f"groups[{i}] must be a mapping {{'params': count, ...}}, got "
                                f"{group!r}")
            size = group.get("params")
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral) \
                    or size < 1:
                raise ValueError(f"groups[{i}]['params'] must be the number of arrays the "
                                 f"group covers, an integer >= 1, got {size!r} (gdfast's "
                                 "optimizers do not hold the arrays)")
            values = {k: v for k, v in group.items() if k != "params"}
            unknown = [k for k in values if k not in self._spec]
            if unknown:
                raise TypeError(f"groups[{i}] has no hyperparameter(s) {unknown}; "
                                f"{type(self).__name__}'s are {', '.join(self._spec)}")
            sub = copy.copy(self)
            for name, value in (("_groups", None), ("_group_sizes", None),
                                ("_token", object())):
                object.__setattr__(sub, name, value)
            try:
                sub._apply({**self._values, **values})
            except (TypeError, ValueError) as e:
                raise type(e)(f"groups[{i}]: {e}") from None
            subs.append(sub)
            sizes.append(int(size))
        for name, value in (("_groups", tuple(subs)), ("_group_sizes", tuple(sizes)),
                            ("_unused_mask", _GROUPED)):
            object.__setattr__(self, name, value)

    def _array_optimizers(self, count):
        """The optimizer of each of ``count`` arrays (its group's, or self)."""
        if self._groups is None:
            return [self] * count
        return [sub for sub, k in zip(self._groups, self._group_sizes) for _ in range(k)]

    def _check_count(self, name, count):
        sizes = self._group_sizes
        if sizes is not None and count != sum(sizes):
            raise ValueError(f"{name} holds {count} array(s), but the optimizer's groups cover "
                             f"{sum(sizes)} ({' + '.join(map(str, sizes))}: "
                             "group_sizes)")

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters by torch's names, as given (checked).

        Returns
        -------
        dict
            lr as the number or the Schedule given, pairs as tuples of float,
            flags as bool, the rest as float.
        """
        return dict(self._values)

    def set_hyperparameters(self, **values: Any) -> None:
        """Set several hyperparameters at once, checked together (e.g. SGD's
        ``momentum=0.9, nesterov=True``); nothing changes if a check fails.

        Parameters
        ----------
        **values
            torch's names (the constructor's arguments) and their new values.

        Raises
        ------
        TypeError, ValueError
            An unknown name, or a value out of its range (named).
        """
        unknown = [k for k in values if k not in self._spec]
        if unknown:
            raise TypeError(f"{type(self).__name__} has no hyperparameter(s) {unknown}; "
                            f"its hyperparameters are {', '.join(self._spec)}")
        self._set(values)

    def _set(self, changes: dict) -> None:
        """Take the changed hyperparameters: on an optimizer of several groups, in
        every group too (each group checked first; nothing changes if one fails)."""
        groups = self._groups
        if groups is not None:
            for i, sub in enumerate(groups):
                try:
                    copy.copy(sub)._apply({**sub._values, **changes})
                except (TypeError, ValueError) as e:
                    raise type(e)(f"param_groups[{i}]: {e}") from None
        self._apply({**self._values, **changes})
        for sub in groups or ():
            sub._apply({**sub._values, **changes})

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
            options' initial values), and t = 0. For a list of arrays (see
            `init_many`), an `OptimizerStates`.
        """
        if self._groups is not None or isinstance(x, (list, tuple)):
            return self._many_init(x)
        if type(x) is np.ndarray and x.ndim != 1:
            x = flat_view("x", x)
        check.kernel_array("x", x)
        n = x.shape[0]
        self._unused()
        state = OptimizerState(self.rule.state, self._initial_state(n), n,
                               kind=type(self).__name__)
        state._owner = self._token
        return state

    def _initial_state(self, n):
        return tuple(np.zeros(n) for _ in self.rule.state)

    def _torch_shapes(self, shape):
        """torch's shape of each state array (default: the parameter's)."""
        return {}

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
            If the options changed since in a way that changes which state
            arrays the rule keeps, the state is laid out for the new options
            first (see `Optimizer`).

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
            weight_decay, g^2 beyond 1e308), or 0 / 0 with eps = 0 where a
            gradient entry and its history are 0. The kernel counts such entries
            in the same pass (``gdfast.kernels.nonfinite``), so the check costs
            no extra pass. The step has then been taken, as IEEE arithmetic gives
            it (state.t counts it): x and the state hold those values. To skip
            gradients with NaN or inf instead, use `step_if_finite`; to recover
            from an overflow, keep a copy.

        For several arrays (lists x and g, the state `init` made for the list)
        see `step_many`.
        """
        if type(x) is np.ndarray and x.ndim != 1:
            x, g = _flat_pair(x, g)
        fresh = False
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
            if self._groups is not None or isinstance(x, (list, tuple)):
                return self._many_step(x, g, state)
            self._check_step_arguments(x, g, state)
            if state.names != self.rule.state or state.unused not in (None, self._unused()):
                fresh = self._relayout(state)
        t = state.t + 1
        lr = self._lr_constant
        if lr is None:
            lr = self.lr(t)
        # rule.kernel_for(n), written out: a method call here costs more than
        # the rest of the dispatch on this per-step path
        rule = self.rule
        kernel = rule.step if x.shape[0] < rule.parallel_min_size else rule.step_parallel
        # a momentum buffer started mid-run starts as the step's d, as torch's
        # does: the kernel's first-step branch (its only use of t)
        bad = kernel(x, g, state.arrays, 1 if fresh else t, lr, self.hyper)
        state.t = t
        if bad:
            raise FloatingPointError(
                f"{type(self).__name__}.step wrote NaN or inf at {bad} of {x.shape[0]} "
                f"entries of x or the state (step t={t}, lr={lr:g}): a NaN or inf in g, x "
                "or the state, or an overflow; x and the state now hold those values "
                "(step_if_finite skips gradients with NaN or inf)")

    def _relayout(self, state):
        """Lay out a state of this optimizer, made for other options, for the
        current ones: arrays by name, a buffer turned on starting as the rule's
        initial state (kept from before if it was turned off), one turned off
        kept aside. Returns True if SGD's momentum buffer was started afresh
        (its first step then takes the kernel's t == 1 branch)."""
        held = state.arrays_by_name()
        names, arrays, started = self.rule.state, [], []
        for name, start in zip(names, self._initial_state(state.n)):
            if start.shape[0] == 0 or name not in held:
                arrays.append(start)
                if start.shape[0]:
                    started.append(name)
            else:
                arrays.append(held.pop(name))
        state._kept = held
        state.set_layout(names, arrays)
        return state.t > 0 and "momentum_buffer" in started and self.rule.name in (
            "momentum", "nesterov")

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
        if self._groups is not None or isinstance(x, (list, tuple)):
            return self._many_step_if_finite(x, g, state)
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
        ours = type(state) is OptimizerState and state._owner is self._token
        if type(state) is not OptimizerState or not (ours or state.names == self.rule.state):
            raise TypeError(f"state must be the OptimizerState made by this optimizer's "
                            f"init(x), got {state!r}")
        if state.n != x.shape[0]:
            raise ValueError(f"state arrays have length {state.n} but x has length "
                             f"{x.shape[0]}; call init(x) for these parameters")
        if not ours and state.unused not in (None, self._unused()):
            raise TypeError(f"state was made for other options of {type(self).__name__} "
                            f"(state arrays in use: {state.unused}); call init(x) of this "
                            "optimizer")
        if g is not x and np.may_share_memory(x, g) and x.ctypes.data != g.ctypes.data:
            raise ValueError("g overlaps x in memory (a shifted view of the same buffer); "
                             "pass a copy of g")
        for name, a in state.arrays_by_name().items():
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

    # --- several arrays (torch's param groups) ------------------------------

    def init_many(self, xs: Sequence[np.ndarray]) -> "OptimizerStates":
        """Allocate the state of several arrays, one `OptimizerState` each, made
        by the optimizer of its group (``init([w, b])`` calls it).

        Parameters
        ----------
        xs : list or tuple of ndarray of float64
            The arrays, each of any shape (C-contiguous if not 1-D); as many as
            the groups cover (`group_sizes`), any number for an optimizer of one
            group. Only the shapes are read.

        Returns
        -------
        OptimizerStates
            ``states[i]`` the state of ``xs[i]``, t = 0.

        Raises
        ------
        TypeError, ValueError
            xs is not a non-empty list or tuple, its count does not match the
            groups, an array is not one init takes (named by its index).
        """
        if getattr(self, "_several", True) is False:
            raise TypeError(f"{type(self).__name__} takes one array (see its step); use one "
                            f"{type(self).__name__} per array")
        if (not isinstance(xs, (list, tuple)) or not xs) and self._group_sizes is not None:
            raise TypeError(f"x must be a list or tuple of the {sum(self._group_sizes)} arrays "
                            f"this optimizer's groups cover (group_sizes "
                            f"{self._group_sizes}), got {type(xs).__name__}")
        if not isinstance(xs, (list, tuple)) or not xs:
            raise TypeError(f"x must be an array, or a non-empty list or tuple of arrays, got "
                            f"{xs!r}")
        self._check_count("x", len(xs))
        states = []
        for i, (sub, x) in enumerate(zip(self._array_optimizers(len(xs)), xs)):
            if isinstance(x, (list, tuple)):
                raise TypeError(f"x[{i}] must be an array, got {type(x).__name__}")
            try:
                states.append(type(sub).init(sub, x))
            except (TypeError, ValueError) as e:
                raise type(e)(f"x[{i}]: {e}") from None
        out = OptimizerStates(states, [np.shape(x) for x in xs], kind=type(self).__name__)
        out._owner = self._token
        return out

    # the dispatch of init, step and step_if_finite given lists (untyped: their
    # signatures are those of one array; init_many and step_many are typed)
    def _many_init(self, xs):
        return self.init_many(xs)

    def _many_step(self, xs, gs, state):
        return self.step_many(xs, gs, state)

    def _many_step_if_finite(self, xs, gs, state):
        return self.step_many_if_finite(xs, gs, state)

    def _prepared(self, xs, gs, state):
        """Every array's optimizer, flat x, flat g and state, all checked before
        any is stepped; TypeError or ValueError naming the array otherwise."""
        cls = type(self).__name__
        for name, a in (("x", xs), ("g", gs)):       # a list of numbers is not several arrays
            if isinstance(a, (list, tuple)):
                bad = next((k for k, v in enumerate(a) if not isinstance(v, np.ndarray)), None)
                if bad is not None:
                    raise TypeError(f"{name} must be a numpy.ndarray, or a list of them for "
                                    f"several arrays; {name}[{bad}] is a "
                                    f"{type(a[bad]).__name__}")
        if type(state) is not OptimizerStates or state._owner is not self._token:
            raise TypeError(f"state must be the OptimizerStates made by this {cls}'s "
                            f"init(x) for a list of arrays, got {state!r}")
        for name, a in (("x", xs), ("g", gs)):
            if not isinstance(a, (list, tuple)):
                raise TypeError(f"{name} must be a list or tuple of arrays (the state was made "
                                f"for {len(state.states)}), got {type(a).__name__}")
        self._check_count("x", len(xs))
        if len(xs) != len(state.states) or len(gs) != len(xs):
            raise ValueError(f"x holds {len(xs)} array(s) and g {len(gs)}, but the state was "
                             f"made for {len(state.states)}: call init(x) for these arrays")
        out = []
        for i, (sub, x, g, st, shape) in enumerate(zip(self._array_optimizers(len(xs)), xs, gs,
                                                      state.states, state.shapes)):
            if type(x) is not np.ndarray:
                raise TypeError(f"x[{i}] must be a numpy.ndarray, got {type(x).__name__}")
            if x.shape != shape and x.shape != (st.n,):
                raise ValueError(f"x[{i}] has shape {x.shape}, but the state was made for "
                                 f"shape {shape}: a state made for other arrays; call init(x)")
            try:
                if sub._shaped:
                    xf, gf = sub._checked(x, g, st)
                else:
                    xf, gf = (x, g) if x.ndim == 1 else _flat_pair(x, g)
                    sub._check_step_arguments(xf, gf, st)
            except (TypeError, ValueError) as e:
                raise type(e)(f"x[{i}], g[{i}]: {e}") from None
            out.append((sub, xf, gf, st))
        # one array's step must not change another's x, g or state
        for i, (_, xi, _, si) in enumerate(out):
            for j, (_, xj, gj, _) in enumerate(out):
                if i == j:
                    continue
                for what, b in ((f"x[{j}]", xj), (f"g[{j}]", gj)):
                    if np.may_share_memory(xi, b):
                        raise ValueError(f"x[{i}] shares memory with {what}: each array's "
                                         "step would change the other's; pass arrays of "
                                         "their own")
                    if any(np.may_share_memory(a, b) for a in si.arrays):
                        raise ValueError(f"{what} shares memory with the state of x[{i}]")
        return out

    def step_many(self, xs: Sequence[np.ndarray], gs: Sequence[np.ndarray],
                  state: "OptimizerStates") -> None:
        """One update of several arrays in place, each by its group's
        hyperparameters (``step([w, b], [gw, gb], state)`` calls it): one kernel
        call per array, in order.

        Parameters
        ----------
        xs : list or tuple of ndarray of float64
            The arrays `init` was given (their shapes, or flat views), each
            C-contiguous and writable, none sharing memory with another.
        gs : list or tuple of ndarray of float64
            Their gradients: gs[i] has xs[i]'s shape (gs[i] may be xs[i] itself,
            not another array of xs).
        state : OptimizerStates
            Made by this optimizer's `init` for the list.

        Returns
        -------
        None

        Raises
        ------
        TypeError, ValueError
            A count that does not match the groups or the state, a state made
            for other arrays or by another optimizer, a bad array (named by its
            index): checked for every array first, nothing is modified then.
        FloatingPointError
            A step wrote NaN or inf (as `step`); every array has been stepped,
            the message names those that got NaN or inf.
        """
        bad = []
        for i, (sub, x, g, st) in enumerate(self._prepared(xs, gs, state)):
            try:
                sub.step(x, g, st)
            except FloatingPointError as e:
                bad.append(f"x[{i}]: {e}")
        if bad:
            raise FloatingPointError("; ".join(bad))

    def step_many_if_finite(self, xs: Sequence[np.ndarray], gs: Sequence[np.ndarray],
                            state: "OptimizerStates") -> bool:
        """`step_many` if every entry of every gradient is finite; else skip the
        step of every array, and count it in ``state.skipped`` and
        ``state.skipped_in_a_row``.

        Parameters
        ----------
        xs, gs, state
            As in `step_many`.

        Returns
        -------
        bool
            True if the step was taken.
        """
        prepared = self._prepared(xs, gs, state)
        for sub, _, g, _ in prepared:
            reduce = max_abs if g.shape[0] < sub.rule.parallel_min_size else max_abs_parallel
            if not np.isfinite(reduce(g)):
                state.skipped += 1
                state.skipped_in_a_row += 1
                return False
        self.step_many(xs, gs, state)
        state.skipped_in_a_row = 0
        return True

    def state_dict(self, state: "OptimizerState | OptimizerStates") -> dict[str, Any]:
        """The hyperparameters and the run's state, as plain values.

        ``load_state_dict`` of a new optimizer of the same class gives back a
        state from which the run continues with the same bits. The dict holds
        Python numbers, strings, lists and copies of the arrays (np.savez or
        pickle keep it; for torch.optim's form see `to_torch_state_dict`).

        Parameters
        ----------
        state : OptimizerState or OptimizerStates
            The run's state, made by this optimizer's ``init``. For several
            arrays the dict is ``{"format", "optimizer", "defaults": {...},
            "groups": None or [{"params": count, "hyperparameters": {...}}],
            "shapes", "skipped", "skipped_in_a_row", "arrays": [one array's
            dict, as below, per array]}``; `load_state_dict` gives the
            optimizer those groups back.

        Returns
        -------
        dict
            ``{"optimizer": class name, "hyperparameters": {torch's name: value}
            (lr a number, or {"schedule": name, "lr0": float, "params": list}),
            "t": int, "n": int, "skipped": int, "skipped_in_a_row": int,
            "state": {name: float64 array of shape (n,)}}``; "state" holds the
            arrays in use and the buffers of options turned off since.

        Raises
        ------
        TypeError
            state is not an OptimizerState of this optimizer's class.
        """
        if isinstance(state, OptimizerStates):
            return _many_state_dict_of(self, state)
        return _state_dict_of(self, state)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> OptimizerState:
        """Take the hyperparameters of ``state_dict`` and return its state.

        Parameters
        ----------
        state_dict : mapping
            As `state_dict` made it, for an optimizer of this class.

        Returns
        -------
        OptimizerState
            New arrays holding copies of the saved ones, t and the skip counts
            as saved.

        Raises
        ------
        TypeError, ValueError
            The dict is not one of this class's (its optimizer, a missing or
            malformed entry, a hyperparameter out of range, an array of the
            wrong shape or dtype): the optimizer is left unchanged.
        """
        if isinstance(state_dict, Mapping) and state_dict.get("format") == FORMAT_MANY:
            return _many_state_from_dict(self, state_dict)
        if self._groups is not None:
            raise ValueError("state_dict is one array's, but this optimizer has several groups "
                             "(a state_dict of several arrays has format "
                             f"{FORMAT_MANY!r})")
        return _state_from_dict(self, state_dict)

    def to_torch_state_dict(self, state: "OptimizerState | OptimizerStates",
                            shape: Any = None) -> dict[str, Any]:
        """The same run as torch.optim's ``optimizer.state_dict()``, for one
        parameter tensor: ``torch_opt.load_state_dict(opt.to_torch_state_dict(state))``
        continues it in torch (imports torch, which it needs for the tensors).

        Parameters
        ----------
        state : OptimizerState or OptimizerStates
            The run's state. For several arrays, torch's dict of the same
            groups: the parameters numbered 0, 1, ... over the groups in order,
            one param group per group.
        shape : tuple of int or list of them, optional
            The torch parameter's shape (default ``(state.n,)``); for several
            arrays a list of shapes (default the shapes ``init`` was given).

        Returns
        -------
        dict
            ``{"state": {0: {"step": tensor, name: float64 tensor, ...}},
            "param_groups": [{torch's hyperparameters..., "params": [0]}]}``;
            lr is the rate of the next step (a schedule's value at t + 1:
            torch's schedulers are objects of their own).

        Raises
        ------
        ValueError
            The optimizer has no torch.optim counterpart (Lion), or shape does
            not hold state.n entries.
        """
        if isinstance(state, OptimizerStates):
            return _many_torch_state_dict_of(self, state, shape)
        return _torch_state_dict_of(self, state, shape)

    def load_torch_state_dict(self, state_dict: Mapping[str, Any],
                              x: np.ndarray) -> OptimizerState:
        """Take a torch.optim state_dict of the same optimizer (one parameter)
        and return the state to continue its run with gdfast, for parameters x.

        The tensors are read through numpy (``tensor.detach().cpu().numpy()``);
        torch is not imported. Keys that have no counterpart (foreach, fused,
        capturable, differentiable, a scheduler's initial_lr) are ignored.

        Parameters
        ----------
        state_dict : mapping
            ``torch_optimizer.state_dict()`` of the class of the same name,
            with one param group holding one parameter; or, for a list x, the
            groups of this optimizer (one group of len(x) parameters, or
            `group_sizes`), as torch's own load_state_dict requires.
        x : ndarray of float64, or a list of them
            gdfast's parameters (the tensors' values, any shape; only the
            shapes are read), in torch's order of the parameters. For a list
            the result is an `OptimizerStates` and the groups take torch's
            groups' hyperparameters.

        Returns
        -------
        OptimizerState

        Raises
        ------
        TypeError, ValueError
            More than one group or parameter, a state array that does not hold
            x.size entries, a missing or out-of-range hyperparameter, NAdam's
            mu_product not the product of its mu's (see docs/optimizers.md):
            the optimizer is left unchanged.
        """
        if isinstance(x, (list, tuple)) or self._groups is not None:
            return _many_state_from_torch(self, state_dict, x)
        return _state_from_torch(self, state_dict, x)

    def __repr__(self):
        opts = ", ".join(f"{k}={v}" for k, v in zip(self.rule.hyper, self.hyper))
        return f"{type(self).__name__}(lr={self.lr}, rule={self.rule.name}, {opts})"


class ParamGroup(MutableMapping):
    """torch.optim's param group of an `Optimizer`: its hyperparameters by
    torch's names, read and written through to the optimizer's attributes
    (so a value is checked, and taken at the next step, as ``opt.name = value``).
    The keys are fixed: no key can be added or deleted.

    Parameters
    ----------
    optimizer : Optimizer
    """

    __slots__ = ("optimizer",)

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer

    def __getitem__(self, key: str) -> Any:
        values = self.optimizer._values
        if key not in values:
            raise KeyError(f"{type(self.optimizer).__name__} has no hyperparameter {key!r}; "
                           f"its keys are {', '.join(values)}")
        return values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self.optimizer._values:
            raise KeyError(f"{type(self.optimizer).__name__} has no hyperparameter {key!r} "
                           f"(torch's foreach, fused, capturable and differentiable have no "
                           f"counterpart); its keys are {', '.join(self.optimizer._values)}")
        setattr(self.optimizer, key, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("a param group's hyperparameters cannot be deleted")

    def __iter__(self):
        return iter(self.optimizer._values)

    def __len__(self) -> int:
        return len(self.optimizer._values)

    def __repr__(self):
        return f"ParamGroup({self.optimizer._values!r})"


def _lr(name, value):
    """lr: a Schedule, or a number >= 0 (a 0-d array counts as its number)."""
    return value if isinstance(value, Schedule) else check.non_negative(name, value)


def _pair(what):
    def checked(name, value):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{name} must be a pair {what}, got {value!r}")
        return value[0], value[1]
    return checked


def _betas(name, betas):
    b0, b1 = _pair("(beta1, beta2)")(name, betas)
    return (check.in_unit_interval(f"{name}[0]", b0), check.in_unit_interval(f"{name}[1]", b1))


def _unit_closed(name, value):
    return check.in_unit_interval(name, value, closed_right=True)


# the checks by kind, shared by the classes' _spec tables
POSITIVE, NON_NEGATIVE, FLAG = check.positive, check.non_negative, check.flag


class SGD(Optimizer):
    """Stochastic gradient descent: plain, heavy-ball momentum or Nesterov.

    torch.optim.SGD's arguments and defaults. With momentum = 0 the update is
    ``x <- x - lr * (±g + weight_decay * x)``; with momentum > 0 see
    `gdfast.kernels.momentum_step`, with nesterov=True
    `gdfast.kernels.nesterov_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0 (0 freezes x), or a schedule from
        `gdfast.schedules`.
    momentum : float, default 0.0
        >= 0; 0 is plain gradient descent.
    dampening : float, default 0.0
        Any finite number (torch's range; 0 to 1 is the usual one).
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

    _spec = dict(lr=_lr, momentum=NON_NEGATIVE, dampening=check.finite,
                 weight_decay=NON_NEGATIVE, nesterov=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _cross_check(self, v):
        if v["nesterov"] and (v["momentum"] <= 0.0 or v["dampening"] != 0.0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={v['momentum']!r}, dampening={v['dampening']!r}")

    def _configure(self, v):
        maximize = float(v["maximize"])
        if v["nesterov"]:
            return RULES["nesterov"], (v["momentum"], v["weight_decay"], maximize)
        if v["momentum"] > 0.0:
            return RULES["momentum"], (v["momentum"], v["dampening"], v["weight_decay"],
                                       maximize)
        return RULES["gd"], (v["weight_decay"], maximize)


class Adagrad(Optimizer):
    """AdaGrad with torch.optim.Adagrad's arguments and defaults.

    Equations: `gdfast.kernels.adagrad_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    lr_decay : float, default 0.0
        >= 0.
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    initial_accumulator_value : float, default 0.0
        >= 0, the starting sum of squared gradients: read by ``init`` (as
        torch reads it when it makes the state), so a change applies to the
        states made afterwards.
    eps : float, default 1e-10
        >= 0, added outside the square root (0: a gradient entry 0 with a sum
        0 gives 0 / 0, which step reports, as torch gives NaN).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, lr_decay=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 initial_accumulator_value=NON_NEGATIVE, eps=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         maximize=maximize))

    def _configure(self, v):
        return RULES["adagrad"], (v["lr_decay"], v["eps"], v["weight_decay"],
                                  float(v["maximize"]))

    def _initial_state(self, n):
        return (np.full(n, self._values["initial_accumulator_value"]),)


class RMSprop(Optimizer):
    """RMSProp with torch.optim.RMSprop's arguments and defaults.

    Equations: `gdfast.kernels.rmsprop_step` (plain) and
    `gdfast.kernels.rmsprop_full_step` (centred or with momentum); the state
    holds only the arrays the options use.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    alpha : float, default 0.99
        In [0, 1], the decay of the squared-gradient average (1 keeps it at
        its start, 0, so the step is lr d / eps; torch allows alpha > 1, whose
        average goes negative at the first step: NaN).
    eps : float, default 1e-8
        >= 0, added outside the square root; > 0 with alpha = 1 (else d / 0).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    momentum : float, default 0.0
        >= 0.
    centered : bool, default False
        Subtract the square of the mean gradient.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, alpha=_unit_closed, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 momentum=NON_NEGATIVE, centered=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered, maximize=maximize))

    def _cross_check(self, v):
        if v["alpha"] == 1.0 and v["eps"] == 0.0:
            raise ValueError("alpha = 1 with eps = 0 divides by 0 at every step (the average "
                             "of g^2 stays 0): give eps > 0 or alpha < 1")

    def _configure(self, v):
        maximize = float(v["maximize"])
        if v["momentum"] == 0.0 and not v["centered"]:
            return RULES["rmsprop"], (v["alpha"], v["eps"], v["weight_decay"], maximize)
        return RULES["rmsprop_full"], (v["alpha"], v["eps"], v["weight_decay"], v["momentum"],
                                       float(v["centered"]), maximize)

    def _initial_state(self, n):
        if self.rule.name == "rmsprop":
            return (np.zeros(n),)
        return (np.zeros(n), np.zeros(n if self._values["centered"] else 0),
                np.zeros(n if self._values["momentum"] > 0 else 0))


class Adam(Optimizer):
    """Adam with torch.optim.Adam's arguments and defaults.

    Equations: `gdfast.kernels.adam_step` (the default options) and
    `gdfast.kernels.adamw_step` (amsgrad or decoupled decay).

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root (0: 0 / 0 where a gradient entry
        and its history are 0, which step reports; torch gives NaN).
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

    _spec = dict(lr=_lr, betas=_betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 amsgrad=FLAG, maximize=FLAG, decoupled_weight_decay=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize,
                         decoupled_weight_decay=decoupled_weight_decay))

    def _configure(self, v):
        (beta1, beta2), maximize = v["betas"], float(v["maximize"])
        if not v["amsgrad"] and not v["decoupled_weight_decay"]:
            return RULES["adam"], (beta1, beta2, v["eps"], v["weight_decay"], maximize)
        return RULES["adamw"], (beta1, beta2, v["eps"], v["weight_decay"],
                                float(v["decoupled_weight_decay"]), float(v["amsgrad"]),
                                maximize)

    def _initial_state(self, n):
        if self.rule.name == "adam":
            return (np.zeros(n), np.zeros(n))
        return (np.zeros(n), np.zeros(n), np.zeros(n if self._values["amsgrad"] else 0))


class AdamW(Adam):
    """AdamW: torch.optim.AdamW's arguments and defaults.

    weight_decay 0.01, decoupled: ``x <- x (1 - lr weight_decay)`` before the
    Adam step. Equations: `gdfast.kernels.adamw_step`. Its
    ``decoupled_weight_decay`` hyperparameter (True) is settable, as in
    torch's param group.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root.
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
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0 (0: 0 / 0 where a gradient entry and its history are 0).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, betas=_betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         maximize=maximize))

    def _configure(self, v):
        return RULES["adamax"], (*v["betas"], v["eps"], v["weight_decay"], float(v["maximize"]))


class NAdam(Optimizer):
    """NAdam with torch.optim.NAdam's arguments and defaults.

    lr 2e-3, momentum_decay 4e-3. Equations: `gdfast.kernels.nadam_step`.
    The product of the momentum schedule, mu_1 ... mu_t, is recomputed from
    betas[0] and momentum_decay at every step (torch keeps it in its state as
    ``mu_product``): after a live change of either, gdfast's step is that of a
    fresh optimizer with the new values, torch's keeps the old factors.

    Parameters
    ----------
    lr : float or Schedule, default 2e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root.
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

    _spec = dict(lr=_lr, betas=_betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 momentum_decay=NON_NEGATIVE, decoupled_weight_decay=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _configure(self, v):
        return RULES["nadam"], (*v["betas"], v["eps"], v["weight_decay"], v["momentum_decay"],
                                float(v["decoupled_weight_decay"]), float(v["maximize"]))


class RAdam(Optimizer):
    """RAdam with torch.optim.RAdam's arguments and defaults.

    Equations: `gdfast.kernels.radam_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    betas : (float, float), default (0.9, 0.999)
        (beta1, beta2), each in [0, 1).
    eps : float, default 1e-8
        >= 0, added outside the square root.
    weight_decay : float, default 0.0
        >= 0: L2 added to the gradient, or decoupled with
        decoupled_weight_decay=True.
    decoupled_weight_decay : bool, default False
        AdamW's decoupled decay.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, betas=_betas, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 decoupled_weight_decay=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _configure(self, v):
        return RULES["radam"], (*v["betas"], v["eps"], v["weight_decay"],
                                float(v["decoupled_weight_decay"]), float(v["maximize"]))


class Adadelta(Optimizer):
    """Adadelta with torch.optim.Adadelta's arguments and defaults.

    lr 1.0, rho 0.9, eps 1e-6 inside the square roots. Equations:
    `gdfast.kernels.adadelta_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1.0
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    rho : float, default 0.9
        In [0, 1], the decay of the running averages.
    eps : float, default 1e-6
        >= 0, inside the square roots; > 0 with rho = 1 (else 0 / 0). With
        eps = 0 the accumulated update stays 0, so x never moves (as in torch).
    weight_decay : float, default 0.0
        >= 0, the L2 penalty's weight (added to the gradient).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, rho=_unit_closed, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _cross_check(self, v):
        if v["rho"] == 1.0 and v["eps"] == 0.0:
            raise ValueError("rho = 1 with eps = 0 gives 0 / 0 at every step (both averages "
                             "stay 0): give eps > 0 or rho < 1")

    def _configure(self, v):
        return RULES["adadelta"], (v["rho"], v["eps"], v["weight_decay"], float(v["maximize"]))


def _rprop_lr(name, value):
    """Rprop's lr: a Schedule or a number in [0, inf] (torch clamps it to step_max)."""
    return value if isinstance(value, Schedule) else check.non_negative_or_inf(name, value)


def _etas(name, etas):
    a, b = _pair("(eta_minus, eta_plus)")(name, etas)
    eta_minus, eta_plus = check.positive(f"{name}[0]", a), check.positive(f"{name}[1]", b)
    if not eta_minus < 1.0 < eta_plus:
        raise ValueError(f"{name} must satisfy 0 < eta_minus < 1 < eta_plus, got {etas!r}")
    return eta_minus, eta_plus


def _step_sizes(name, step_sizes):
    a, b = _pair("(min, max)")(name, step_sizes)
    lo, hi = check.non_negative(f"{name}[0]", a), check.non_negative(f"{name}[1]", b)
    if lo > hi:
        raise ValueError(f"{name} must satisfy min <= max, got {step_sizes!r}")
    return lo, hi


class Rprop(Optimizer):
    """Rprop with torch.optim.Rprop's arguments and defaults.

    Equations: `gdfast.kernels.rprop_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        The initial step size of every coordinate, in [0, inf] (inf: the
        first step clamps it to step_sizes[1], as torch does). Read by
        ``init`` (a schedule's lr(1)), as torch reads it when it makes the
        state: a change applies to the states made afterwards, not to a run's
        step sizes (as in torch).
    etas : (float, float), default (0.5, 1.2)
        (eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus.
    step_sizes : (float, float), default (1e-6, 50.0)
        (min, max) with 0 <= min <= max.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_rprop_lr, etas=_etas, step_sizes=_step_sizes, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), *,
                 maximize: bool = False) -> None:
        self._apply(dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize))

    def _configure(self, v):
        return RULES["rprop"], (*v["etas"], *v["step_sizes"], float(v["maximize"]))

    def _initial_state(self, n):
        # the first step multiplies the step sizes by 1 (prev = 0) and clamps them
        # to [min, max]: starting from min(lr, max) gives the same step sizes,
        # and keeps an lr of inf out of the state
        return (np.zeros(n), np.full(n, min(self.lr(1), self._values["step_sizes"][1])))


class Lion(Optimizer):
    """Lion with optax.lion's equations and defaults.

    b1 0.9, b2 0.99, weight_decay 1e-3, decoupled. optax requires a learning
    rate; 1e-4 here. Equations: `gdfast.kernels.lion_step`.

    Parameters
    ----------
    lr : float or Schedule, default 1e-4
        The learning rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1], the momentum's weight in the update's sign.
    b2 : float, default 0.99
        In [0, 1], the decay of the momentum.
    weight_decay : float, default 1e-3
        >= 0, decoupled.
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, b1=_unit_closed, b2=_unit_closed, weight_decay=NON_NEGATIVE,
                 maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-4, b1: float = 0.9, b2: float = 0.99,
                 weight_decay: float = 1e-3, *, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, weight_decay=weight_decay, maximize=maximize))

    def _configure(self, v):
        return RULES["lion"], (v["b1"], v["b2"], v["weight_decay"], float(v["maximize"]))


# --- the torch.optim rules of issue 31 item 5 (gdfast._rules.MORE_RULES) -------

def _finite(name, value):
    return check.finite(name, value)


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

    _spec = dict(lr=_lr, lambd=_finite, alpha=_finite, t0=_finite,
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
    e1, e2 = _pair("(eps1 or None, eps2)")(name, eps)
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
    reads x's shape, and ``step`` takes x of that shape (or its flat view)."""

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
        if type(x) is np.ndarray and x.shape not in (state.shape, (state.n,)):
            raise ValueError(f"x must have the shape {state.shape} the state was made for "
                             f"(or its flat view), got {x.shape}")
        if type(x) is np.ndarray and x.ndim != 1:
            x, g = _flat_pair(x, g)
        self._check_step_arguments(x, g, state)
        return x, g

    def step_if_finite(self, x: np.ndarray, g: np.ndarray, state: OptimizerState) -> bool:
        """`step` if every g_i is finite; else skip, and count it (as
        `Optimizer.step_if_finite`).

        Parameters
        ----------
        x, g, state
            As in `step`.

        Returns
        -------
        bool
            True if the step was taken.
        """
        if self._groups is not None or isinstance(x, (list, tuple)):
            return self._many_step_if_finite(x, g, state)
        xf, gf = self._checked(x, g, state)
        reduce = max_abs if xf.shape[0] < self.rule.parallel_min_size else max_abs_parallel
        if not np.isfinite(reduce(gf)):
            state.skipped += 1
            state.skipped_in_a_row += 1
            return False
        self.step(x, g, state)
        state.skipped_in_a_row = 0
        return True


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

    _spec = dict(lr=_lr, beta2_decay=_non_positive, eps=_adafactor_eps, d=_at_least_one,
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
        return (b * r, b * c, 0, ADAFACTOR_WORK_BASE + b)

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

    _spec = dict(lr=_lr, weight_decay=NON_NEGATIVE, momentum=NON_NEGATIVE, nesterov=FLAG,
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

    _spec = dict(lr=_lr, betas=_betas, eps=POSITIVE, maximize=FLAG)
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
            state.skipped += 1
            state.skipped_in_a_row += 1
            return False
        self.step(x, indices, values, state)
        state.skipped_in_a_row = 0
        return True


# --- state_dict: gdfast's own form, and torch.optim's --------------------------
# An optimizer's run as a dict: gdfast's own form, and torch.optim's.
#
# ``Optimizer.state_dict(state)`` / ``load_state_dict(d)``: the
# hyperparameters, the step count, the skip counts and copies of the state
# arrays, as plain Python values and float64 arrays; a run restored from it
# continues with the same bits as the run that made it.
#
# ``Optimizer.to_torch_state_dict(state, shape)`` /
# ``load_torch_state_dict(d, x)``: torch.optim's ``optimizer.state_dict()``
# of the class of the same name, for one parameter tensor (one param group
# holding one parameter). The state arrays have torch's names already
# (gdfast's state names are torch's keys). Reading a torch dict needs no
# torch: tensors are read through ``tensor.detach().cpu().numpy()``; writing
# one imports torch to make the tensors.

# Every state array each class can hold (over all of its options): torch's keys.
STATE_KEYS = {
    "SGD": ("momentum_buffer",),
    "Adagrad": ("sum",),
    "RMSprop": ("square_avg", "grad_avg", "momentum_buffer"),
    "Adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "AdamW": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "Adamax": ("exp_avg", "exp_inf"),
    "NAdam": ("exp_avg", "exp_avg_sq"),
    "RAdam": ("exp_avg", "exp_avg_sq"),
    "Adadelta": ("square_avg", "acc_delta"),
    "Rprop": ("prev", "step_size"),
    "ASGD": ("ax",),
    "Adafactor": ("row_var", "col_var", "variance"),
    "Muon": ("momentum_buffer",),
    "SparseAdam": ("exp_avg", "exp_avg_sq"),
}
# torch.optim's param-group switches that gdfast has no counterpart for, with
# torch 2.13's defaults (written by to_torch, ignored when read)
TORCH_SWITCHES = {
    "SGD": dict(foreach=None, differentiable=False, fused=None),
    "Adagrad": dict(foreach=None, differentiable=False, fused=None),
    "RMSprop": dict(capturable=False, foreach=None, differentiable=False),
    "Adam": dict(foreach=None, capturable=False, differentiable=False, fused=None),
    "AdamW": dict(foreach=None, capturable=False, differentiable=False, fused=None),
    "Adamax": dict(foreach=None, differentiable=False, capturable=False),
    "NAdam": dict(foreach=None, capturable=False, differentiable=False),
    "RAdam": dict(foreach=None, capturable=False, differentiable=False),
    "Adadelta": dict(capturable=False, foreach=None, differentiable=False),
    "Rprop": dict(foreach=None, differentiable=False, capturable=False),
    "ASGD": dict(foreach=None, differentiable=False, capturable=False),
    "Adafactor": dict(foreach=None),
    "Muon": {},
    "SparseAdam": {},
}
IGNORED_GROUP_KEYS = {"params", "param_names", "initial_lr", "foreach", "fused", "capturable",
                      "differentiable"}
FORMAT = "gdfast.optimizer_state/1"


def _check_state(opt, state):
    if type(state) is not OptimizerState or state.kind != type(opt).__name__:
        raise TypeError(f"state must be an OptimizerState made by a {type(opt).__name__}'s "
                        f"init(x), got {state!r}")


def _plain_lr(lr):
    if isinstance(lr, Schedule):
        if not all(isinstance(p, (int, float, np.integer, np.floating)) for p in lr.params):
            raise TypeError(f"state_dict: the lr schedule {lr.name!r} holds a user's function, "
                            "which a state_dict of plain values cannot (torch's leaves lambdas "
                            "out too): save the state with a numeric schedule, or pass the "
                            "function's schedule as lr again after load_state_dict")
        return {"schedule": lr.name, "lr0": float(lr.lr0), "params": [float(p) for p in lr.params]}
    return lr


def _schedule_from(name, value):
    if not isinstance(value, Mapping):
        return value
    if set(value) != {"schedule", "lr0", "params"} or value["schedule"] not in SCHEDULES:
        raise ValueError(f"{name} must be a number or {{'schedule': one of {sorted(SCHEDULES)}, "
                         f"'lr0': float, 'params': list}}, got {value!r}")
    params = value["params"]
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{name}['params'] must be a list of numbers, got {params!r}")
    return Schedule(value["schedule"], SCHEDULES[value["schedule"]][0],
                    check.finite(f"{name}['lr0']", value["lr0"]),
                    tuple(check.finite(f"{name}['params']", p) for p in params))


def _state_dict_of(opt, state):
    """`Optimizer.state_dict`."""
    _check_state(opt, state)
    scratch = opt._scratch
    in_use = {k: a.copy() for k, a, length in zip(state.names, state.arrays, state.lengths)
              if state.holds(a, length) and k not in scratch}
    kept = {k: a.copy() for k, a in state.arrays_by_name().items()
            if k not in in_use and k not in scratch}
    out = {"format": FORMAT, "optimizer": type(opt).__name__,
           "hyperparameters": {k: _plain_lr(v) for k, v in opt.hyperparameters().items()},
           "t": state.t, "n": state.n, "skipped": state.skipped,
           "skipped_in_a_row": state.skipped_in_a_row,
           "names": list(state.names), "state": in_use, "kept": kept}
    if state.shape is not None:
        out["shape"] = list(state.shape)
    return out


def _count(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < 0:
        raise ValueError(f"state_dict[{name!r}] must be an integer >= 0, got {value!r}")
    return int(value)


def _saved_array(name, a, n):
    if type(a) is not np.ndarray or a.dtype != np.float64 or a.shape != (n,):
        raise ValueError(f"state_dict's {name} must be a float64 array of shape ({n},), got "
                         f"{getattr(a, 'dtype', type(a).__name__)} "
                         f"{getattr(a, 'shape', '')}")
    return np.array(a, dtype=np.float64, order="C")       # a copy of its own


def _entry(d, key, what="state_dict"):
    if key not in d:
        raise ValueError(f"{what} has no {key!r} entry")
    return d[key]


def _state_from_dict(opt, d):
    """`Optimizer.load_state_dict`."""
    cls = type(opt).__name__
    if not isinstance(d, Mapping):
        raise TypeError(f"state_dict must be a mapping (made by state_dict()), "
                        f"got {type(d).__name__}")
    if d.get("format") != FORMAT:
        raise ValueError(f"state_dict is not gdfast's optimizer state (format {FORMAT!r}), "
                         f"got format {d.get('format')!r}; for torch.optim's, use "
                         "load_torch_state_dict")
    if _entry(d, "optimizer") != cls:
        raise ValueError(f"state_dict was made by a {d['optimizer']}, not a {cls}")
    hp = _entry(d, "hyperparameters")
    if not isinstance(hp, Mapping) or set(hp) != set(opt.hyperparameters()):
        raise ValueError(f"state_dict['hyperparameters'] must hold exactly "
                         f"{list(opt.hyperparameters())}, got {hp!r}")
    hp = {k: _schedule_from(f"hyperparameters[{k!r}]", v) for k, v in hp.items()}
    candidate = copy.copy(opt)
    candidate.set_hyperparameters(**hp)        # checks them; opt is not touched
    n, t = _count("n", _entry(d, "n")), _count("t", _entry(d, "t"))
    if opt._shaped:
        return _shaped_state_from_dict(opt, candidate, d, hp, n, t)
    names, saved, kept = _entry(d, "names"), _entry(d, "state"), _entry(d, "kept")
    if not isinstance(names, (list, tuple)) or not all(isinstance(k, str) for k in names):
        raise ValueError(f"state_dict['names'] must be a list of str, got {names!r}")
    if not isinstance(saved, Mapping) or not isinstance(kept, Mapping) \
            or not set(saved) <= set(names) or set(kept) & set(names):
        raise ValueError("state_dict['state'] must map names of state_dict['names'] to arrays "
                         "and state_dict['kept'] other names to arrays")
    arrays = [_saved_array(f"state[{k!r}]", saved[k], n) if k in saved else np.zeros(0)
              for k in names]
    state = OptimizerState(names, arrays, n, t, kind=cls)
    state._owner = opt._token
    state.skipped = _count("skipped", _entry(d, "skipped"))
    state.skipped_in_a_row = _count("skipped_in_a_row", _entry(d, "skipped_in_a_row"))
    state._kept = {k: _saved_array(f"kept[{k!r}]", a, n) for k, a in kept.items()}
    opt.set_hyperparameters(**hp)
    return state


def _shaped_state_from_dict(opt, candidate, d, hp, n, t):
    """`_state_from_dict` for the rules whose state depends on the parameters'
    shape (Adafactor, Muon): a fresh state for the saved shape, the saved arrays
    copied in."""
    shape = _entry(d, "shape")
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 0
            for k in shape) or math.prod(shape) != n:
        raise ValueError(f"state_dict['shape'] must be the parameters' shape ({n} entries), "
                         f"got {shape!r}")
    state = candidate.init(np.empty(tuple(int(k) for k in shape)))
    saved = _entry(d, "state")
    lengths = dict(zip(state.names, state.lengths))
    wanted = {k for k, a, length in zip(state.names, state.arrays, state.lengths)
              if state.holds(a, length) and k not in opt._scratch}
    if not isinstance(saved, Mapping) or set(saved) != wanted \
            or list(_entry(d, "names")) != list(state.names):
        raise ValueError(f"state_dict['state'] must hold exactly {sorted(wanted)} for "
                         f"{type(opt).__name__} of shape {tuple(shape)}")
    arrays = {k: _saved_array(f"state[{k!r}]", saved[k], lengths[k]) for k in wanted}
    for name, a in zip(state.names, state.arrays):
        if name in arrays:
            a[:] = arrays[name]
    state.t = t
    state.skipped = _count("skipped", _entry(d, "skipped"))
    state.skipped_in_a_row = _count("skipped_in_a_row", _entry(d, "skipped_in_a_row"))
    state._owner = opt._token
    opt.set_hyperparameters(**hp)
    return state


def _torch_class(opt):
    cls = type(opt).__name__
    if cls not in STATE_KEYS:
        raise ValueError(f"{cls} has no torch.optim counterpart (it follows optax); "
                         "use state_dict() for gdfast's own form")
    return cls


def nadam_mu_product(t, beta1, momentum_decay):
    """mu_1 ... mu_t, in the order (and with the function) of the kernel."""
    product = 1.0
    for k in range(1, t + 1):
        product *= nadam_mu(k, beta1, momentum_decay)
    return product


def _torch_state_dict_of(opt, state, shape):
    """`Optimizer.to_torch_state_dict`."""
    import torch
    cls = _torch_class(opt)
    _check_state(opt, state)
    shape = (state.n,) if shape is None else tuple(shape)
    if math.prod(shape) != state.n:
        raise ValueError(f"shape {shape} does not hold the state's {state.n} entries")
    hp = opt.hyperparameters()
    lr = hp["lr"]
    group = dict(hp, lr=float(opt.lr(state.t + 1)) if isinstance(lr, Schedule) else lr,
                 **TORCH_SWITCHES[cls], params=[0])
    held = {k: a for k, a in state.arrays_by_name().items() if k not in opt._scratch}
    # the arrays the current options use, by the rule's own start where a buffer
    # was turned on since the last step (torch's start too: zeros; SGD's
    # momentum buffer is left out, so that torch starts it as the step's d)
    fresh = opt.init(np.empty(state.shape if opt._shaped else state.n))
    for name, start in zip(opt.rule.state, fresh.arrays):
        if start.shape[0] and name not in held and not (cls == "SGD" and state.t > 0) \
                and name not in opt._scratch:
            held[name] = start
    if cls in ("SGD", "Muon") and state.t == 0:
        held = {}
    shapes = opt._torch_shapes(shape)
    entry = {k: torch.tensor(a.reshape(shapes.get(k, shape)), dtype=torch.float64)
             for k, a in held.items()}
    scalar = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    if cls == "SparseAdam":
        if state.t:
            entry["step"] = state.t                  # torch keeps a Python int
    elif cls not in ("SGD", "Muon"):
        entry["step"] = torch.tensor(float(state.t), dtype=scalar)
        if cls == "NAdam":
            entry["mu_product"] = torch.tensor(
                nadam_mu_product(state.t, hp["betas"][0], hp["momentum_decay"]),
                dtype=torch.float64)
        if cls == "ASGD":
            eta, mu = opt._factors(state.t + 1)
            entry["eta"] = torch.tensor(eta, dtype=scalar)
            entry["mu"] = torch.tensor(mu, dtype=scalar)
    return {"state": {0: entry}, "param_groups": [group]}


def _numpy(value):
    """A tensor as a numpy array (through .detach().cpu().numpy()), else value."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return value


def _torch_value(value):
    value = _numpy(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_numpy(v) for v in value)
    return value


def _state_from_torch(opt, d, x):
    """`Optimizer.load_torch_state_dict`."""
    cls = _torch_class(opt)
    if not isinstance(d, Mapping):
        raise TypeError(f"state_dict must be a mapping (torch's optimizer.state_dict()), "
                        f"got {type(d).__name__}")
    groups, states = _entry(d, "param_groups"), _entry(d, "state")
    if not isinstance(groups, (list, tuple)) or len(groups) != 1 \
            or not isinstance(groups[0], Mapping) \
            or len(_entry(groups[0], "params", "param_groups[0]")) != 1:
        raise ValueError("gdfast's optimizers hold one array: the torch state_dict must have "
                         "one param group with one parameter")
    group = groups[0]
    names = list(opt.hyperparameters())
    unknown = set(group) - set(names) - IGNORED_GROUP_KEYS
    if unknown:
        raise ValueError(f"param_groups[0] has key(s) {sorted(unknown)} that {cls} does not "
                         f"have (is it a torch.optim.{cls}'s state_dict?)")
    hp = {k: _torch_value(_entry(group, k, "param_groups[0]")) for k in names}
    candidate = copy.copy(opt)
    candidate.set_hyperparameters(**hp)        # checks them; opt is not touched
    if type(x) is not np.ndarray:
        raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    if opt._shaped:
        state = candidate.init(np.empty(x.shape))
    else:
        state = candidate.init(x.reshape(-1) if x.flags.c_contiguous else np.empty(x.size))
    n = state.n
    lengths = dict(zip(state.names, state.lengths))
    entry = states.get(group["params"][0], {}) if isinstance(states, Mapping) else None
    if not isinstance(entry, Mapping):
        raise ValueError("state_dict['state'] must map the parameter's index to its state")
    extra = set(entry) - set(STATE_KEYS[cls]) - {"step", "mu_product", "eta", "mu"}
    if extra:
        raise ValueError(f"the torch state has key(s) {sorted(extra)} that {cls} does not "
                         "have")
    arrays = {}
    for k in STATE_KEYS[cls]:
        if entry.get(k) is not None:
            a = np.asarray(_numpy(entry[k]), dtype=np.float64)
            if a.size != lengths.get(k, n):
                raise ValueError(f"the torch state's {k!r} has {a.size} entries, expected "
                                 f"{lengths.get(k, n)} for x of shape {x.shape}")
            arrays[k] = np.array(a.reshape(-1), dtype=np.float64)
    if cls in ("SGD", "Muon"):
        t = 1 if "momentum_buffer" in arrays else 0     # torch keeps no step count
    elif entry:
        step = float(np.asarray(_numpy(_entry(entry, "step", "the torch state"))))
        if not (step >= 0 and step.is_integer()):
            raise ValueError(f"the torch state's step must be an integer >= 0, got {step!r}")
        t = int(step)
    else:
        t = 0                                           # before torch's first step
    # an array the options use that torch's state lacks (an option turned on in
    # the group since torch's last step) starts as init's, zeros: as gdfast's
    # own state does after a live change (torch would raise a KeyError)
    new = [arrays.pop(k) if k in arrays and a.shape[0] == length else a
           for k, a, length in zip(state.names, state.arrays, state.lengths)]
    if cls == "ASGD" and t > 0:
        _check_asgd_scalars(candidate, entry, t)
    if cls == "NAdam" and t > 0:
        want = nadam_mu_product(t, hp["betas"][0], hp["momentum_decay"])
        got_array = np.asarray(_numpy(_entry(entry, "mu_product", "the torch state")))
        rtol = (1e-12 if got_array.dtype == np.float64 else 1e-6) * t
        if not abs(float(got_array) - want) <= rtol * abs(want):
            raise ValueError(f"the torch state's mu_product {float(got_array)!r} is not "
                             f"mu_1 ... mu_t ({want!r}) for betas[0] and momentum_decay: gdfast "
                             "recomputes it from them (was momentum_decay or betas changed "
                             "mid-run in torch?)")
    state.set_layout(state.names, new)
    state._kept = arrays                  # buffers torch holds for options now off
    state.t = t
    opt.set_hyperparameters(**hp)
    return state


def _check_asgd_scalars(opt, entry, t):
    """ASGD's eta and mu in a torch state against the ones gdfast recomputes."""
    want = opt._factors(t + 1)
    for key, w in zip(("eta", "mu"), want):
        got_array = np.asarray(_numpy(_entry(entry, key, "the torch state")))
        rtol = 1e-12 if got_array.dtype == np.float64 else 1e-6
        if not abs(float(got_array) - w) <= rtol * abs(w):
            raise ValueError(f"the torch state's {key} {float(got_array)!r} is not the one of "
                             f"step {t + 1} for lr, lambd, alpha and t0 ({w!r}): gdfast "
                             "recomputes it from them (was lr changed mid-run in torch?)")


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
        if method._groups is not None:
            raise TypeError(f"an optimizer of several groups ({type(method).__name__}.grouped) "
                            "cannot drive a run over one vector x; give one group's settings")
        if options:
            raise TypeError("options is only for a method given by name; "
                            "pass the hyperparameters to the optimizer object")
        if isinstance(method, (SparseAdam, Muon)):
            why = ("it takes row-sparse gradients" if isinstance(method, SparseAdam)
                   else "it takes 2-D parameters")
            raise TypeError(f"{type(method).__name__} cannot drive a run over a vector x "
                            f"({why}); call its step in your own loop")
        return method
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be an Optimizer or one of {sorted(METHODS)}, "
                         f"got {method!r}")
    return METHODS[method.lower()](**(options or {}))


# --- several arrays: gdfast's form and torch's ---------------------------------
FORMAT_MANY = "gdfast.optimizer_states/1"


def _check_many(opt, state):
    if type(state) is not OptimizerStates or state._owner is not opt._token:
        raise TypeError(f"state must be the OptimizerStates made by this "
                        f"{type(opt).__name__}'s init(x) for a list of arrays, got {state!r}")


def _many_state_dict_of(opt, state):
    """`Optimizer.state_dict` of several arrays: the defaults, each group's
    size and hyperparameters, and one array's state_dict per array."""
    _check_many(opt, state)
    subs = opt._array_optimizers(len(state.states))
    groups = None if opt._groups is None else [
        {"params": k, "hyperparameters": {n: _plain_lr(v) for n, v in
                                          sub.hyperparameters().items()}}
        for sub, k in zip(opt._groups, opt._group_sizes)]
    return {"format": FORMAT_MANY, "optimizer": type(opt).__name__,
            "defaults": {k: _plain_lr(v) for k, v in opt.hyperparameters().items()},
            "groups": groups, "shapes": [list(shape) for shape in state.shapes],
            "skipped": state.skipped, "skipped_in_a_row": state.skipped_in_a_row,
            "arrays": [_state_dict_of(sub, st) for sub, st in zip(subs, state.states)]}


def _candidate(opt, defaults):
    """A copy of opt (its token: the states it makes are opt's) with the
    checked defaults and no groups."""
    candidate = copy.copy(opt)
    for name, value in (("_groups", None), ("_group_sizes", None)):
        object.__setattr__(candidate, name, value)
    candidate._apply({**opt._values, **defaults})
    return candidate


def _take(opt, candidate):
    """Move the candidate's hyperparameters and groups into opt."""
    for name in ("_values", "rule", "hyper", "lr", "_lr_constant", "_unused_mask", "_groups",
                 "_group_sizes"):
        object.__setattr__(opt, name, candidate.__dict__.get(name))


def _many_state_from_dict(opt, d):
    """`Optimizer.load_state_dict` of several arrays: opt takes the saved
    defaults and groups; nothing changes if an entry is bad."""
    cls = type(opt).__name__
    if _entry(d, "optimizer") != cls:
        raise ValueError(f"state_dict was made by a {d['optimizer']}, not a {cls}")
    defaults, groups = _entry(d, "defaults"), _entry(d, "groups")
    arrays, shapes = _entry(d, "arrays"), _entry(d, "shapes")
    if not isinstance(defaults, Mapping) or set(defaults) != set(opt._spec):
        raise ValueError(f"state_dict['defaults'] must hold exactly {list(opt._spec)}, "
                         f"got {defaults!r}")
    if not isinstance(arrays, (list, tuple)) or not arrays \
            or not isinstance(shapes, (list, tuple)) or len(shapes) != len(arrays):
        raise ValueError("state_dict['arrays'] must be a non-empty list of one array's "
                         "state_dicts, and state_dict['shapes'] their shapes")
    candidate = _candidate(opt, {k: _schedule_from(f"defaults[{k!r}]", v)
                                 for k, v in defaults.items()})
    if groups is not None:
        if not isinstance(groups, (list, tuple)) or not all(
                isinstance(g, Mapping) and isinstance(g.get("hyperparameters"), Mapping)
                for g in groups):
            raise ValueError("state_dict['groups'] must be None or a list of "
                             "{'params': count, 'hyperparameters': {...}}")
        candidate._set_groups([
            {"params": g.get("params"),
             **{k: _schedule_from(f"groups[{i}][{k!r}]", v)
                for k, v in g["hyperparameters"].items()}} for i, g in enumerate(groups)])
        candidate._check_count("state_dict['arrays']", len(arrays))
    states = []
    for i, (sub, a, shape) in enumerate(zip(candidate._array_optimizers(len(arrays)), arrays,
                                            shapes)):
        try:
            st = _state_from_dict(sub, a)
            if not isinstance(shape, (list, tuple)) or math.prod(shape) != st.n:
                raise ValueError(f"shape {shape!r} does not hold the state's {st.n} entries")
        except (TypeError, ValueError) as e:
            raise type(e)(f"state_dict['arrays'][{i}]: {e}") from None
        states.append(st)
    out = OptimizerStates(states, [tuple(int(k) for k in shape) for shape in shapes], kind=cls)
    out.skipped = _count("skipped", _entry(d, "skipped"))
    out.skipped_in_a_row = _count("skipped_in_a_row", _entry(d, "skipped_in_a_row"))
    out._owner = opt._token
    _take(opt, candidate)
    return out


def _many_torch_state_dict_of(opt, state, shapes):
    """`Optimizer.to_torch_state_dict` of several arrays: torch numbers the
    parameters 0, 1, ... over the groups in order."""
    _check_many(opt, state)
    shapes = state.shapes if shapes is None else shapes
    if not isinstance(shapes, (list, tuple)) or len(shapes) != len(state.states) or not all(
            isinstance(shape, (list, tuple)) for shape in shapes):
        raise ValueError(f"shape must be a list of the {len(state.states)} parameters' "
                         f"shapes, got {shapes!r}")
    groups = opt._groups or (opt,)
    sizes = opt._group_sizes or (len(state.states),)
    out_state, out_groups, k = {}, [], 0
    for sub, size in zip(groups, sizes):
        group = None
        for _ in range(size):
            d = _torch_state_dict_of(sub, state.states[k], shapes[k])
            if d["state"]:
                out_state[k] = d["state"][0]
            group = d["param_groups"][0]
            k += 1
        group["params"] = list(range(k - size, k))
        out_groups.append(group)
    return {"state": out_state, "param_groups": out_groups}


def _many_state_from_torch(opt, d, xs):
    """`Optimizer.load_torch_state_dict` of several arrays: torch's groups must
    be this optimizer's (one group of any count, or group_sizes), as torch's own
    load_state_dict requires; nothing changes if an entry is bad."""
    _torch_class(opt)
    if not isinstance(d, Mapping):
        raise TypeError(f"state_dict must be a mapping (torch's optimizer.state_dict()), "
                        f"got {type(d).__name__}")
    if not isinstance(xs, (list, tuple)) or not xs:
        raise TypeError(f"x must be the list of the parameters' arrays for an optimizer of "
                        f"several groups, got {type(xs).__name__}")
    groups, states = _entry(d, "param_groups"), _entry(d, "state")
    if not isinstance(groups, (list, tuple)) or not all(
            isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple))
            for g in groups) or not isinstance(states, Mapping):
        raise ValueError("state_dict must have torch's 'param_groups' (a list of groups, each "
                         "with its 'params') and 'state'")
    sizes = [len(g["params"]) for g in groups]
    want = list(opt._group_sizes) if opt._group_sizes is not None else [len(xs)]
    if sizes != want or sum(sizes) != len(xs):
        raise ValueError(f"the torch state_dict has groups of {sizes} parameter(s); this "
                         f"optimizer's groups cover {want} and x holds {len(xs)} array(s)")
    candidate = _candidate(opt, {})
    if opt._groups is not None:
        candidate._set_groups([{"params": k} for k in sizes])
    subs, k, out = candidate._array_optimizers(len(xs)), 0, []
    for gi, group in enumerate(groups):
        for p in group["params"]:
            one = {"param_groups": [dict(group, params=[p])],
                   "state": {p: states[p]} if p in states else {}}
            try:
                out.append(_state_from_torch(subs[k], one, xs[k]))
            except (TypeError, ValueError) as e:
                raise type(e)(f"param_groups[{gi}], parameter {p} (x[{k}]): {e}") from None
            k += 1
    result = OptimizerStates(out, [np.shape(x) for x in xs], kind=type(opt).__name__)
    result._owner = opt._token
    _take(opt, candidate)
    return result


# --- optax's AdaBelief and Yogi (issue 31 item 8; gdfast._rules.MORE_RULES) -----

def _unit(name, value):
    return check.in_unit_interval(name, value)


class AdaBelief(Optimizer):
    """AdaBelief with optax.adabelief's arguments and defaults.

    Equations: `gdfast.kernels.adabelief_step` (optax's: eps outside the square
    root, eps_root added to the second central moment). optax requires a
    learning rate; 1e-3 here, the paper's. No torch.optim counterpart: the
    state arrays are optax's ``mu`` and ``nu``.

    Parameters
    ----------
    lr : float or Schedule, default 1e-3
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.999
        In [0, 1), the decay of the second central moment.
    eps : float, default 1e-16
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 1e-16
        >= 0, added to the second central moment at every step.
    weight_decay : float, default 0.0
        >= 0, optax.add_decayed_weights after the rescaling (multiplied by lr;
        optax's None is 0).
    nesterov : bool, default False
        Nesterov momentum, optax's form (keyword only).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, b1=_unit, b2=_unit, eps=NON_NEGATIVE, eps_root=NON_NEGATIVE,
                 weight_decay=NON_NEGATIVE, nesterov=FLAG, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-16, eps_root: float = 1e-16, weight_decay: float = 0.0, *,
                 nesterov: bool = False, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["adabelief"], (v["b1"], v["b2"], v["eps"], v["eps_root"],
                                         v["weight_decay"], float(v["nesterov"]),
                                         float(v["maximize"]))


class Yogi(Optimizer):
    """Yogi with optax.yogi's arguments and defaults.

    Equations: `gdfast.kernels.yogi_step`. optax requires a learning rate;
    1e-2 here, the paper's. eps_root and initial_accumulator_value are
    optax.scale_by_yogi's (optax.yogi fixes them at 0 and 1e-6). No
    torch.optim counterpart: the state arrays are optax's ``mu`` and ``nu``.

    Parameters
    ----------
    lr : float or Schedule, default 1e-2
        optax's learning_rate, >= 0, or a schedule from `gdfast.schedules`.
    b1 : float, default 0.9
        In [0, 1), the decay of the first moment.
    b2 : float, default 0.999
        In [0, 1), the rate of the second moment's additive update.
    eps : float, default 1e-3
        >= 0, added to the denominator outside the square root.
    eps_root : float, default 0.0
        >= 0, added inside the square root (keyword only).
    initial_accumulator_value : float, default 1e-6
        >= 0, the start of both moments: read by ``init`` (as optax reads it
        in its init), so a change applies to the states made afterwards
        (keyword only).
    maximize : bool, default False
        Ascend f instead (keyword only).
    """

    _spec = dict(lr=_lr, b1=_unit, b2=_unit, eps=NON_NEGATIVE, eps_root=NON_NEGATIVE,
                 initial_accumulator_value=NON_NEGATIVE, maximize=FLAG)

    def __init__(self, lr: LearningRate = 1e-2, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-3, *, eps_root: float = 0.0,
                 initial_accumulator_value: float = 1e-6, maximize: bool = False) -> None:
        self._apply(dict(lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                         initial_accumulator_value=initial_accumulator_value,
                         maximize=maximize))

    def _configure(self, v):
        return MORE_RULES["yogi"], (v["b1"], v["b2"], v["eps"], v["eps_root"],
                                    float(v["maximize"]))

    def _initial_state(self, n):
        start = self._values["initial_accumulator_value"]
        return (np.full(n, start), np.full(n, start))


METHODS["adabelief"] = AdaBelief
METHODS["yogi"] = Yogi
