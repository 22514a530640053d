"""The optimizer base class: `Optimizer` (live hyperparameters checked by its
``_spec``, init, step, step_if_finite, several arrays in groups, the
state_dict methods) and `ParamGroup`, torch.optim's view of a group.

A subclass names its hyperparameters and their checks (`gdfast.optimizers.checks`)
in ``_spec`` and turns the checked values into a rule of `gdfast._rules` and
its ``hyper`` tuple in ``_configure``. The state_dict methods' forms (gdfast's
and torch.optim's) are in `gdfast.optimizers.state_dicts`.
"""
import copy
import numbers
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Self

import numpy as np

from .. import _validation as check
from .. import kernels
from .._rules import Rule
from .._validation import F8
from ..kernels.reductions import max_abs, max_abs_parallel
from ..schedules import Schedule
from . import state_dicts
from .states import OptimizerState, OptimizerStates, flat_pair, flat_view, record_skip

# lr: a float >= 0 or a schedule from gdfast.schedules
LearningRate = float | Schedule
# the unused-array mask of an optimizer of several groups: no state's mask
_GROUPED = ("several groups",)


def all_finite(rule: Rule, g: np.ndarray) -> bool:
    """True if every entry of the flat gradient g is finite: one max_abs pass,
    the rule's serial or parallel one by g's size (as its kernels)."""
    reduce = max_abs if g.shape[0] < rule.parallel_min_size else max_abs_parallel
    return bool(np.isfinite(reduce(g)))


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

    def _check_several(self):
        """TypeError if this class takes one array only (SparseAdam)."""
        if getattr(self, "_several", True) is False:
            raise TypeError(f"{type(self).__name__} takes one array (see its step); use one "
                            f"{type(self).__name__} per array")

    def _set_groups(self, groups):
        """Make one optimizer of this class per group (checked, then taken)."""
        self._check_several()
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
                               kind=type(self).__name__, lengths=self._lengths(n))
        state._owner = self._token
        return state

    def _lengths(self, n):
        """The length of each state array in use for n parameters (default n;
        the layer-wise rules keep arrays of fixed lengths, see optax_rules)."""
        return (n,) * len(self.rule.state)

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
            x, g = flat_pair(x, g)
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
        x, g = self._checked(x, g, state)
        if not all_finite(self.rule, g):
            return record_skip(state)
        self.step(x, g, state)
        state.skipped_in_a_row = 0
        return True

    def _checked(self, x, g, state):
        """The flat views of x and g, checked for a step of state (TypeError or
        ValueError naming the problem; nothing is modified)."""
        if type(x) is np.ndarray and x.ndim != 1:
            x, g = flat_pair(x, g)
        self._check_step_arguments(x, g, state)
        return x, g

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
        # (a shaped rule's hand-made state: its layout checked against its shape
        # by _ShapedOptimizer._checked)
        if not ours and not self._shaped and state.unused not in (None, self._unused()):
            raise TypeError(f"state was made for other options of {type(self).__name__} "
                            f"(state arrays in use: {state.unused}); call init(x) of this "
                            "optimizer")
        if not ours and not self._shaped:
            # a state built by hand with the rule's names: its arrays in use must have
            # the lengths the kernel indexes (the layer-wise and Polyak rules' scratch
            # "work", the one-entry arrays): a shorter one would be written out of bounds
            for name, a, length in zip(state.names, state.arrays, self._lengths(state.n)):
                if a.shape[0] not in (0, length):
                    raise ValueError(f"state[{name!r}] has length {a.shape[0]}, but "
                                     f"{type(self).__name__} needs {length} for x of "
                                     f"{state.n} entries; call init(x) of this optimizer")
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
        self._check_several()
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
                xf, gf = sub._checked(x, g, st)
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
            if not all_finite(sub.rule, g):
                return record_skip(state)
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
        return state_dicts.dict_of(self, state)

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
        return state_dicts.state_from_dict(self, state_dict)

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
        return state_dicts.torch_dict_of(self, state, shape)

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
        return state_dicts.state_from_torch(self, state_dict, x)

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
