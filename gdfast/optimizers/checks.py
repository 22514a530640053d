"""The hyperparameter checks by kind, shared by the optimizer classes' ``_spec``
tables.

Each check takes the hyperparameter's name and a value, and returns the value
to keep or raises TypeError or ValueError naming the hyperparameter (the
messages of `gdfast._validation`). A check one class alone uses sits beside
that class.
"""
from collections.abc import Callable
from typing import Any

from .. import _validation as check
from ..schedules import Schedule

# the checks by kind, shared by the classes' _spec tables
# (typed: mypy cannot infer an alias of another module's function in an import cycle)
Check = Callable[[str, Any], Any]
POSITIVE: Check = check.positive
NON_NEGATIVE: Check = check.non_negative
FINITE: Check = check.finite
FLAG: Check = check.flag


def lr(name, value):
    """lr: a Schedule, or a number >= 0 (a 0-d array counts as its number)."""
    return value if isinstance(value, Schedule) else check.non_negative(name, value)


def pair(what):
    """The check of a pair (a tuple or list of two), ``what`` naming its
    entries in the message; returns the two entries, unchecked."""
    def checked(name, value):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{name} must be a pair {what}, got {value!r}")
        return value[0], value[1]
    return checked


def betas(name, betas):
    """(beta1, beta2), each in [0, 1)."""
    b0, b1 = pair("(beta1, beta2)")(name, betas)
    return (check.in_unit_interval(f"{name}[0]", b0), check.in_unit_interval(f"{name}[1]", b1))


def unit(name, value):
    """A number in [0, 1)."""
    return check.in_unit_interval(name, value)


def unit_closed(name, value):
    """A number in [0, 1]."""
    return check.in_unit_interval(name, value, closed_right=True)
