"""Shared pieces of the facade fuzz tests (tests/facade/test_fuzz_*.py): how a
value, an array or a call is judged from the docstrings alone (OK, BAD or
AMBIG), and the strategies that draw them. See test_fuzz_hyperparameters.py
for what the fuzzing asks of the facade."""

import math
import numbers
import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import gdfast
from gdfast.schedules import Schedule

# derandomize: the same examples on every run, so CI is reproducible (a wider
# search: run with derandomize=False and a larger max_examples). Hypothesis also
# draws about 5% of its numbers from the literals of the "local" modules loaded
# at that moment (hypothesis.internal.conjecture.providers._get_local_constants),
# so the examples changed with whatever modules the session had imported
# before: a run of the whole suite drew others than a run of this folder, and
# a new module anywhere changed them all. The fuzz tests draw from Hypothesis's
# own constants only (internal API: if it moves, the examples depend on the
# session again, nothing else changes).
try:
    from hypothesis.internal.conjecture import providers as _providers
    _NO_LOCAL_CONSTANTS = type(_providers._local_constants)()
    _providers._get_local_constants = lambda: _NO_LOCAL_CONSTANTS
except (ImportError, AttributeError, TypeError):      # pragma: no cover
    pass
FUZZ = dict(deadline=None, derandomize=True, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                   HealthCheck.data_too_large, HealthCheck.large_base_example])



def examples(full):
    """How many examples a fuzz test whose full count is ``full`` draws: all
    of them under the Hypothesis profile "full", a quarter under "ci", the
    default (tests/conftest.py: the profile's max_examples over Hypothesis's
    100). derandomize: either count draws the same examples on every run."""
    return max(1, math.ceil(full * settings.default.max_examples / 100))


OK, BAD, AMBIG = "ok", "bad", "ambiguous"
DOCUMENTED = (TypeError, ValueError)
STATUSES = {s.value for s in gdfast.Status}
SUCCESS = {"gtol", "ftol", "xtol"}


# --- values ---------------------------------------------------------------------

TINY = 5e-324                       # the smallest subnormal
MAXF = 1.7976931348623157e308
EXTREMES = [0.0, TINY, 2.2250738585072014e-308, 1e-300, 1e-16, 1e-8, 0.1, 0.5, 0.9,
            0.9999999999999999, 1.0, 1.0000000000000002, 2.0, 1e8, 1e16, 1e150, 1e300,
            1e308, MAXF]
SPECIAL = EXTREMES + [-v for v in EXTREMES if v] + [-0.0, math.nan, math.inf, -math.inf]
HUGE_INTS = [10 ** 400, -10 ** 400, 2 ** 1024]


class _Sub(np.ndarray):
    """An ndarray subclass (the docs speak of numpy arrays; either outcome is fine)."""


def _np_scalar(t, v):
    with np.errstate(all="ignore"):
        return t(v)


JUNK = [None, "0.1", "", b"1", True, False, np.True_, np.False_, [0.1], (0.1,), {}, 1j,
        complex(0.1, 0.0), Decimal("0.1"), np.array(0.1), np.array([0.1]), object()]

real_like = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(),
    st.integers(-3, 3),
    st.sampled_from(HUGE_INTS),
    st.just(Fraction(1, 3)),
    st.builds(_np_scalar, st.sampled_from([np.float16, np.float32, np.float64]),
              st.sampled_from([0.0, 0.5, 1.0, 3.0, 1e-8, 1e5, 1e300, math.nan, math.inf])),
    st.builds(_np_scalar, st.sampled_from([np.int8, np.int64, np.uint8]), st.integers(0, 5)),
)


def as_real(v):
    """The float that v stands for, BAD if the docs make it an error (not a real
    number; a real number outside float64's range), AMBIG if they do not say."""
    if isinstance(v, (bool, np.bool_)):
        return BAD
    if isinstance(v, (np.ndarray, Decimal)):
        return AMBIG
    if not isinstance(v, numbers.Real):
        return BAD
    try:
        return float(v)
    except OverflowError:
        return BAD


RANGES = {
    "pos": lambda f: f > 0.0,
    "nonneg": lambda f: f >= 0.0,
    "unit_open": lambda f: 0.0 <= f < 1.0,
    "unit_closed": lambda f: 0.0 <= f <= 1.0,
    # schedule-free's b1 (1 / b1 finite: its docstring)
    "open_unit": lambda f: 0.0 < f < 1.0 and math.isfinite(1.0 / f),
    "nonpos": lambda f: f <= 0.0,                  # Adafactor's beta2_decay
    "at_least_one": lambda f: f >= 1.0,            # Adafactor's d
}


def judge_real(v, kind):
    f = as_real(v)
    if isinstance(f, str):
        return f
    return OK if math.isfinite(f) and RANGES[kind](f) else BAD


def judge_bool(v):
    return OK if isinstance(v, (bool, np.bool_)) else BAD


def judge_pair(v, kind):
    if isinstance(v, np.ndarray):
        return AMBIG
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        return BAD
    if kind == "betas":
        verdicts = [judge_real(v[0], "unit_open"), judge_real(v[1], "unit_open")]
    elif kind == "etas":
        verdicts = [judge_real(v[0], "pos"), judge_real(v[1], "pos")]
    else:   # step_sizes
        verdicts = [judge_real(v[0], "nonneg"), judge_real(v[1], "nonneg")]
    if BAD in verdicts:
        return BAD
    if AMBIG in verdicts:
        return AMBIG
    a, b = float(v[0]), float(v[1])
    if kind == "etas" and not a < 1.0 < b:
        return BAD
    if kind == "step_sizes" and a > b:
        return BAD
    return OK


def judge(kind, v):
    if kind == "lr":
        return OK if isinstance(v, Schedule) else judge_real(v, "pos")
    if kind == "bool":
        return judge_bool(v)
    if kind in ("betas", "etas", "step_sizes"):
        return judge_pair(v, kind)
    return judge_real(v, kind)


def names_in(message, names):
    return any(re.search(rf"\b{re.escape(n)}\b", message) for n in names)


def check_outcome(verdicts, err, who):
    """verdicts: {argument name: OK/BAD/AMBIG}. err: the exception raised, or None."""
    bad = [k for k, v in verdicts.items() if v == BAD]
    ambig = [k for k, v in verdicts.items() if v == AMBIG]
    if err is None:
        assert not bad, f"{who}: accepted invalid argument(s) {bad}"
        return
    assert isinstance(err, DOCUMENTED), (
        f"{who}: undocumented exception {type(err).__name__}: {err}")
    assert bad or ambig, f"{who}: valid arguments refused: {type(err).__name__}: {err}"
    assert names_in(str(err), bad + ambig), (
        f"{who}: the message {str(err)!r} names none of the bad arguments {bad + ambig}")


def mostly(valid, anything):
    """valid three times in four (hypothesis picks a branch of one_of about uniformly)."""
    return st.one_of(valid, valid, valid, anything)


def call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except Exception as e:    # noqa: BLE001 -- classified by the caller
        return None, e

VALID_REALS = {
    "pos": st.one_of(st.sampled_from([v for v in EXTREMES if v > 0]),
                     st.floats(min_value=TINY, max_value=MAXF)),
    "nonneg": st.one_of(st.sampled_from(EXTREMES), st.floats(min_value=0.0, max_value=MAXF)),
    "unit_open": st.one_of(st.sampled_from([v for v in EXTREMES if v < 1.0]),
                           st.floats(min_value=0.0, max_value=1.0, exclude_max=True)),
    "unit_closed": st.one_of(st.sampled_from([v for v in EXTREMES if v <= 1.0]),
                             st.floats(min_value=0.0, max_value=1.0)),
    "open_unit": st.one_of(st.sampled_from([v for v in EXTREMES if 1 / MAXF < v < 1.0]),
                           st.floats(min_value=1 / MAXF, max_value=1.0, exclude_min=True,
                                     exclude_max=True)),
    "nonpos": st.one_of(st.sampled_from([-v for v in EXTREMES]),
                        st.floats(min_value=-MAXF, max_value=0.0)),
    "at_least_one": st.one_of(st.sampled_from([v for v in EXTREMES if v >= 1.0]),
                              st.floats(min_value=1.0, max_value=MAXF)),
}


# the state arrays that are scratch (the optimizers' _scratch: the norms' block
# sums of LAMB, LARS, NovoGrad, PolyakSGD, Adafactor, Muon's iteration): "any
# content" by their docs, so an overflowed sum of squares there is no result
SCRATCH = ("work",)


def all_finite(x, state):
    """Whether x and every array of the OptimizerState but its scratch hold
    finite numbers only."""
    return bool(np.isfinite(x).all()) and all(
        np.isfinite(a).all() for name, a in zip(state.names, state.arrays)
        if name not in SCRATCH)

DTYPES = ["float64"] * 8 + ["float32", "float16", "int64", "uint8", "bool", "complex128",
                            "object", ">f8", "longdouble"]
LAYOUTS = ["contig"] * 6 + ["strided", "reversed", "fortran", "readonly", "unaligned",
                            "subclass", "broadcast", "list"]
ELEMENTS = st.one_of(st.floats(-4.0, 4.0), st.sampled_from(SPECIAL), st.floats())


def _as_dtype(flat, dtype):
    with np.errstate(all="ignore"):
        if dtype == "object":
            return np.array(list(flat) + [None], dtype=object)[:-1]
        if dtype == "bool":
            return flat != 0.0
        if dtype in ("int64", "uint8"):
            info = np.iinfo(dtype)
            clean = np.nan_to_num(flat, nan=0.0, posinf=info.max, neginf=info.min)
            return np.clip(clean, float(info.min), float(info.max) / 2).astype(dtype)
        return flat.astype(dtype)


def make_array(spec):
    """An array (or list) from (dtype, shape, values, layout); values are cycled."""
    dtype, shape, values, layout = spec
    size = math.prod(shape)
    flat = np.resize(np.array(values, dtype=np.float64), size)
    a = _as_dtype(flat, dtype).reshape(shape)
    if layout == "strided" and a.ndim >= 1:
        b = np.empty((2 * a.shape[0],) + a.shape[1:], dtype=a.dtype)
        b[::2] = a
        return b[::2]
    if layout == "reversed" and a.ndim >= 1:
        return a.copy()[::-1]
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "unaligned" and a.dtype != object:
        buf = bytearray(a.nbytes + 1)
        u = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
        u[...] = a
        return u
    if layout == "subclass":
        return a.view(_Sub)
    if layout == "broadcast" and a.ndim >= 1 and a.size:
        return np.broadcast_to(a.reshape(-1)[:1].reshape((1,) * a.ndim), a.shape)
    if layout == "list":
        return a.tolist()
    return np.ascontiguousarray(a) if a.ndim else a


def array_specs(shapes, dtypes=DTYPES, layouts=LAYOUTS, elements=ELEMENTS):
    return st.tuples(st.sampled_from(dtypes), shapes, st.lists(elements, min_size=1, max_size=6),
                     st.sampled_from(layouts))


def snapshot(a):
    if isinstance(a, np.ndarray):
        return np.array(a, copy=True)
    return a.copy() if isinstance(a, list) else a


def unchanged(a, before):
    if isinstance(a, np.ndarray) and a.dtype == object:
        return a.shape == before.shape and all(
            p is q for p, q in zip(a.ravel().tolist(), before.ravel().tolist()))
    if isinstance(a, np.ndarray):
        return a.dtype == before.dtype and np.array_equal(
            a, before, equal_nan=a.dtype.kind in "fc")
    return a == before or (a != a and before != before)


def x0_verdict(x0):
    """x0: array-like of real numbers, any shape, finite, not empty (strings
    and bools are not real numbers, even where numpy would convert them)."""
    if isinstance(x0, np.ndarray) and x0.dtype.kind not in "fiu":
        return AMBIG if x0.dtype.kind == "O" else BAD
    try:
        kind = np.asarray(x0).dtype.kind
    except (TypeError, ValueError):
        return BAD
    if kind not in "fiuO":
        return BAD
    with np.errstate(all="ignore"):
        try:
            a = np.asarray(x0, dtype=np.float64)
        except (TypeError, ValueError):
            return BAD
    if a.size == 0 or not np.isfinite(a).all():
        return BAD
    return OK
