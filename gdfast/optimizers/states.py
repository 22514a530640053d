"""The state of a run, and the flat views a step works on.

`OptimizerState` holds one array's run (the rule's arrays, the step count,
the skip counts); `OptimizerStates` one per array for several arrays
(torch's param groups). `flat_view` and `flat_pair` give the 1-D views of
C-contiguous arrays that the kernels take, without a copy; `record_skip`
counts a step that ``step_if_finite`` skipped.
"""
from collections.abc import Sequence

import numpy as np

from .. import _validation as check


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


def flat_pair(x, g):
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


def record_skip(state: "OptimizerState | OptimizerStates") -> bool:
    """Count a step skipped for NaN or inf in the gradient (``state.skipped``
    and ``state.skipped_in_a_row``); returns False, step_if_finite's answer."""
    state.skipped += 1
    state.skipped_in_a_row += 1
    return False
