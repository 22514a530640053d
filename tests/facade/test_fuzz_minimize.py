"""Fuzzing gdfast.minimize (both loops) and gdfast.minimize_batch (see
test_fuzz_hyperparameters.py for the contract every fuzz test checks)."""

import math
import numbers

import numba
import numpy as np
from fuzzing import (
    AMBIG,
    BAD,
    DOCUMENTED,
    ELEMENTS,
    FUZZ,
    JUNK,
    OK,
    STATUSES,
    SUCCESS,
    array_specs,
    call,
    check_outcome,
    examples,
    judge_real,
    make_array,
    mostly,
    names_in,
    real_like,
    snapshot,
    unchanged,
    x0_verdict,
)
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

import gdfast

# --- 4. gdfast.minimize ------------------------------------------------------------

BAD_F = ["1.5", b"1.5", None, 1 + 0j, [1.0], np.array([1.0]), (1.0,), np.array(1.0 + 0j),
         "nan", object()]


class Objective:
    """A quadratic 1/2 scale |x|^2 that misbehaves from call number ``bad_at`` on.

    kind: 'quadratic'; 'nan_f' (f is NaN); 'inf_grad' (g holds inf);
    'wrong_shape' (g has another shape); 'bad_f' (f is BAD_F[which]);
    'tuple_f' (fun returns (f, g) although jac is not True).
    ``misbehaved`` records whether gdfast was handed a wrong-typed result.
    """

    def __init__(self, kind, bad_at, scale, which):
        self.kind, self.bad_at, self.scale, self.which = kind, bad_at, scale, which
        self.calls = 0
        self.misbehaved = False

    def _bad(self):
        return self.calls >= self.bad_at

    def f(self, x, *args):
        self.calls += 1
        with np.errstate(all="ignore"):
            f = 0.5 * self.scale * float(np.sum(np.square(x)))
        if self.kind == "nan_f" and self._bad():
            return math.nan
        if self.kind == "bad_f" and self._bad():
            self.misbehaved = True
            return BAD_F[self.which % len(BAD_F)]
        return f

    def g(self, x, *args):
        with np.errstate(all="ignore"):
            g = self.scale * np.array(x, dtype=np.float64)
        if self.kind == "inf_grad" and self._bad() and g.size:
            g.flat[0] = math.inf
        if self.kind == "wrong_shape" and self._bad():
            self.misbehaved = True
            return np.zeros(g.size + 1) if self.which % 2 else g.reshape(g.shape + (1,))
        return g

    def fun_and_grad(self, x, *args):
        return self.f(x), self.g(x)

    def fun_only(self, x, *args):
        if self.kind == "tuple_f" and self.calls + 1 >= self.bad_at:
            self.misbehaved = True
            self.calls += 1
            return (0.5 * float(np.sum(np.square(x))), np.array(x))
        return self.f(x)

    def fun_inplace(self, x, g, *args):
        g[...] = self.g(x) if self.kind != "wrong_shape" else self.scale * x
        return self.f(x)


X0_SHAPES = st.one_of(st.integers(1, 4).map(lambda n: (n,)), st.just(()), st.just((0,)),
                      st.tuples(st.integers(1, 3), st.integers(1, 3)),
                      st.tuples(st.integers(0, 2), st.integers(1, 2), st.integers(1, 2)))
X0_LAYOUTS = ["contig"] * 6 + ["strided", "reversed", "fortran", "readonly", "unaligned",
                               "subclass", "broadcast", "list"]
METHODS = {
    "adam": "adam", "gd": "gd", "momentum": "momentum", "nesterov": "nesterov",
    "rmsprop": "rmsprop", "ADAM": "ADAM", "bogus": "bogus", "3": 3, "None": None,
    "Adam(lr=1e308)": lambda: gdfast.Adam(lr=1e308),
    "SGD(lr=1e300, momentum=0.9)": lambda: gdfast.SGD(lr=1e300, momentum=0.9),
    "RMSprop(alpha=0.3, centered=True, lr=0.01)":
        lambda: gdfast.RMSprop(alpha=0.3, centered=True, lr=0.01),
    "Rprop()": gdfast.Rprop, "Lion(lr=0.1)": lambda: gdfast.Lion(lr=0.1),
}
OPTIONS = {"none": None, "empty": {}, "lr": {"lr": 0.5}, "negative lr": {"lr": -1.0},
           "unknown": {"nonsense": 1}, "str": "lr"}
MAX_ITERS = mostly(st.integers(0, 40), st.sampled_from(
    [-1, 2.0, True, None, "5", np.int64(7), np.uint8(3), 10 ** 30]))
TOLS = mostly(st.sampled_from([0.0, 1e-12, 1e-6, 0.1, 1e308]),
              st.one_of(real_like, st.sampled_from(JUNK)))
VALID_METHODS = ["adam", "gd", "momentum", "nesterov", "rmsprop", "ADAM", "Adam(lr=1e308)",
                 "SGD(lr=1e300, momentum=0.9)", "RMSprop(alpha=0.3, centered=True, lr=0.01)",
                 "Rprop()", "Lion(lr=0.1)"]


def method_value(key):
    m = METHODS[key]
    return m() if callable(m) else m


def method_verdict(key, options_key):
    m = METHODS[key]
    opts = OPTIONS[options_key]
    if callable(m):                                   # an optimizer object
        return BAD if opts else OK
    if not isinstance(m, str) or m.lower() not in {"adam", "gd", "momentum", "nesterov",
                                                   "rmsprop"}:
        return BAD
    if opts is None or opts == {}:
        return OK
    return OK if opts == {"lr": 0.5} else BAD


def check_result(res, shape, max_iter, on_nonfinite):
    """The promises of minimize's docstring and OptimizeResult's."""
    assert isinstance(res, gdfast.OptimizeResult)
    status = str(res.status)
    assert status in STATUSES, status
    assert res.success == (status in SUCCESS)
    x = np.asarray(res.x)
    assert x.shape == shape and x.dtype == np.float64
    assert np.isfinite(x).all(), f"x is not finite (status {status}): {x!r}"
    assert 0 <= res.nit <= max_iter
    # OptimizeResult: f at x_0 .. x_nit, or none when x_0's f or gradient is non-finite
    entries = 0 if status in ("non-finite", "max_skips") and not np.isfinite(res.fun) \
        and res.nit == 0 else res.nit + 1
    assert len(res.fun_history) == len(res.grad_norm_history) == entries, (
        f"{len(res.fun_history)} history entries for nit = {res.nit} (status {status}); "
        "OptimizeResult documents nit + 1: f at x_0 .. x_nit")
    assert status != "interrupted"
    if status in ("non-finite", "max_skips"):
        assert on_nonfinite != "raise", f"status {status!r} although on_nonfinite='raise'"
        assert status == "non-finite" or on_nonfinite == "skip"
        if res.nit > 0:     # "return the last finite iterate": x and its recorded f
            assert math.isfinite(res.fun), f"fun = {res.fun!r} after {res.nit} steps ({status})"
    else:
        assert math.isfinite(res.fun), f"fun = {res.fun!r} with status {status}: a silent NaN"
        assert np.isfinite(res.jac).all(), f"jac not finite with status {status}"
        assert np.isfinite(res.fun_history).all()
    assert np.isfinite(res.fun_history[1:]).all()


@settings(max_examples=examples(400), **FUZZ)
@given(x0_spec=array_specs(X0_SHAPES, layouts=X0_LAYOUTS),
       kind=st.sampled_from(["quadratic"] * 3 + ["nan_f", "inf_grad", "wrong_shape", "bad_f",
                                                 "tuple_f"]),
       jac=st.sampled_from(["True"] * 3 + ["3-point", "callable", "inplace"] * 2 + ["nonsense"]),
       bad_at=st.integers(1, 6), which=st.integers(0, 20),
       scale=st.sampled_from([1.0, 1.0, 0.0, 1e-300, 1e300, 1e308]),
       method=mostly(st.sampled_from(VALID_METHODS), st.sampled_from(sorted(METHODS))),
       options=mostly(st.just("none"), st.sampled_from(sorted(OPTIONS))),
       max_iter=MAX_ITERS, ftol=TOLS, gtol=TOLS, xtol=TOLS,
       on_nonfinite=st.sampled_from(["stop"] * 3 + ["raise"] * 2 + ["skip"] * 2 + ["STOP", None]),
       max_skips=mostly(st.sampled_from([10, 1, 3]), st.sampled_from([0, -1, 2.0, True, None])),
       callback=st.sampled_from(["none"] * 4 + ["stop-at-2", "check", "check", "not-callable"]),
       args=st.sampled_from([(), (2.0,), 2.0]))
# found by hypothesis: a str f is taken as a number; (f, g) from fun with jac='3-point'
# gives numpy's error, which names nothing
@example(x0_spec=("float64", (2,), [1.0], "contig"), kind="bad_f", jac="True", bad_at=1,
         which=0, scale=1.0, method="adam", options="none", max_iter=3, ftol=0.0, gtol=1e-6,
         xtol=0.0, on_nonfinite="stop", max_skips=10, callback="none", args=())
@example(x0_spec=("float64", (3,), [1.0], "contig"), kind="tuple_f", jac="3-point", bad_at=1,
         which=0, scale=1.0, method="adam", options="none", max_iter=3, ftol=0.0, gtol=1e-6,
         xtol=0.0, on_nonfinite="stop", max_skips=10, callback="none", args=())
@example(x0_spec=("float64", (2,), [1.0], "contig"), kind="quadratic", jac="True", bad_at=1,
         which=0, scale=1.0, method="adam", options="none", max_iter=3, ftol=10 ** 400,
         gtol=1e-6, xtol=0.0, on_nonfinite="stop", max_skips=10, callback="none", args=())
# found by hypothesis: f(x0) overflows -> status 'non-finite' with an empty fun_history,
# where OptimizeResult documents nit + 1 = 1 entries (f at x_0)
@example(x0_spec=("float64", (1,), [1e200], "contig"), kind="quadratic", jac="True", bad_at=1,
         which=0, scale=1.0, method="adam", options="none", max_iter=3, ftol=0.0, gtol=1e-6,
         xtol=0.0, on_nonfinite="stop", max_skips=10, callback="none", args=())
def test_minimize_works_or_raises_a_documented_error(x0_spec, kind, jac, bad_at, which, scale,
                                                      method, options, max_iter, ftol, gtol,
                                                      xtol, on_nonfinite, max_skips, callback,
                                                      args):
    """Contract (gdfast.minimize's docstring): valid arguments -> an
    OptimizeResult whose x is finite and shaped like x0 (on a NaN/inf stop:
    the last finite iterate), whose fun, jac and history are finite unless
    status is 'non-finite' or 'max_skips', with 0 <= nit <= max_iter and
    nit + 1 history entries; or FloatingPointError when on_nonfinite='raise'
    meets NaN/inf. An objective returning a non-real f or
    a wrongly shaped/typed gradient -> TypeError/ValueError naming fun (or
    jac). Invalid arguments -> TypeError/ValueError. x0 is never modified."""
    x0 = make_array(x0_spec)
    x0_before = snapshot(x0)
    if isinstance(max_iter, int) and not isinstance(max_iter, bool) and max_iter > 10 ** 4:
        gtol = 1e308            # a valid huge max_iter: stop at x0 instead of running for ever
    obj = Objective(kind, bad_at, scale, which)
    jac_arg = {"True": True, "3-point": "3-point", "callable": obj.g, "inplace": "inplace",
               "nonsense": "2-point"}[jac]
    fun = {"True": obj.fun_and_grad, "inplace": obj.fun_inplace}.get(jac, obj.fun_only)
    if kind == "tuple_f" and jac in ("True", "inplace"):
        kind = obj.kind = "quadratic"
    cb_calls = []

    def check_cb(r):
        cb_calls.append(r.nit)
        assert not r.x.flags.writeable and np.shape(r.x) == np.shape(x0)
        assert np.isfinite(r.x).all() and math.isfinite(r.fun)
    def stop_at_2(r):
        if r.nit >= 2:
            raise StopIteration
    callbacks = {"none": None, "not-callable": 5, "check": check_cb, "stop-at-2": stop_at_2}
    verdicts = {
        "x0": x0_verdict(x0), "method": method_verdict(method, options),
        "max_iter": (OK if isinstance(max_iter, numbers.Integral) and not isinstance(
            max_iter, (bool, np.bool_)) and max_iter >= 0 else BAD),
        "ftol": judge_real(ftol, "nonneg"), "gtol": judge_real(gtol, "nonneg"),
        "xtol": judge_real(xtol, "nonneg"),
        "on_nonfinite": OK if on_nonfinite in ("stop", "raise", "skip") else BAD,
        "max_skips": (OK if isinstance(max_skips, int) and not isinstance(max_skips, bool)
                      and max_skips >= 1 else BAD),
        "callback": BAD if callback == "not-callable" else OK,
        "jac": BAD if jac == "nonsense" else OK,
    }
    note(f"x0 = {x0!r}; verdicts = {verdicts}")
    res, err = call(gdfast.minimize, fun, x0, method_value(method), jac=jac_arg, args=args,
                    options=OPTIONS[options], max_iter=max_iter, ftol=ftol, gtol=gtol,
                    xtol=xtol, callback=callbacks[callback], on_nonfinite=on_nonfinite,
                    max_skips=max_skips)
    assert unchanged(x0, x0_before), "minimize modified x0"
    if BAD in verdicts.values():
        assert err is not None, f"accepted invalid arguments: {verdicts}"
    if err is not None and (BAD in verdicts.values() or AMBIG in verdicts.values()):
        assert isinstance(err, DOCUMENTED), f"undocumented {type(err).__name__}: {err}"
        return
    if obj.misbehaved:
        assert err is not None, (
            f"the objective returned a bad value ({kind}, {BAD_F[which % len(BAD_F)]!r}) "
            f"and minimize accepted it: {res!r}")
        assert isinstance(err, DOCUMENTED), f"undocumented {type(err).__name__}: {err}"
        assert names_in(str(err), ["fun", "jac"]), (
            f"the error for a bad objective value names neither fun nor jac: {err}")
        return
    if err is not None:
        assert isinstance(err, FloatingPointError) and on_nonfinite == "raise", (
            f"valid call raised {type(err).__name__}: {err}")
        return
    check_result(res, np.shape(np.asarray(x0, dtype=np.float64)), max_iter, on_nonfinite)
    if callback == "stop-at-2" and res.nit >= 2:
        assert res.status == "callback"
    if callback == "check":
        assert cb_calls == list(range(1, res.nit + 1))


# --- 5. minimize in nopython mode and minimize_batch --------------------------------

@numba.njit
def _quad_inplace(x, g):
    f = 0.0
    for i in range(x.size):
        g[i] = x[i]
        f += 0.5 * x[i] * x[i]
    return f


@numba.njit
def _batch_quad(x, g, y):
    f = 0.0
    for i in range(x.size):
        d = x[i] - y[i]
        g[i] = d
        f += 0.5 * d * d
    return f


NOPY_METHODS = ["adam", "gd", "Adam(lr=1e308)", "SGD(lr=1e300)", "bogus"]
NOPY_METHOD_VALUES = {"adam": "adam", "gd": "gd", "bogus": "bogus",
                      "Adam(lr=1e308)": lambda: gdfast.Adam(lr=1e308),
                      "SGD(lr=1e300)": lambda: gdfast.SGD(lr=1e300)}
NOPY_MAX_ITERS = mostly(st.integers(0, 30), st.sampled_from(
    [-1, 1.5, True, 2 ** 63 - 1, 2 ** 64, 10 ** 30]))


def _nopy_method(key):
    m = NOPY_METHOD_VALUES[key]
    return m() if callable(m) else m


@settings(max_examples=examples(60), **FUZZ)
@given(x0_spec=array_specs(st.integers(1, 4).map(lambda n: (n,)),
                           dtypes=["float64"] * 4 + ["float32", "int64", "bool"],
                           layouts=["contig"] * 4 + ["strided", "readonly"]),
       method=st.sampled_from(NOPY_METHODS), max_iter=NOPY_MAX_ITERS,
       gtol=mostly(st.sampled_from([1e-6, 0.0, 1e308]), st.sampled_from([-1.0, math.nan])),
       on_nonfinite=st.sampled_from(["stop", "raise"]))
# found by hypothesis: a documented-valid max_iter >= 2**63 reaches numba as an int it
# cannot type: numba's TypingError or OverflowError (not a TypeError/ValueError)
@example(x0_spec=("float64", (2,), [0.0], "contig"), method="adam", max_iter=10 ** 30,
         gtol=1e308, on_nonfinite="stop")
@example(x0_spec=("float64", (2,), [0.0], "contig"), method="adam", max_iter=2 ** 63,
         gtol=1e308, on_nonfinite="stop")
# found by hypothesis: f(x0) overflows -> an empty fun_history (nit + 1 = 1 documented)
@example(x0_spec=("float64", (1,), [1e300], "contig"), method="adam", max_iter=0,
         gtol=1e-6, on_nonfinite="stop")
def test_minimize_nopython_works_or_raises_a_documented_error(x0_spec, method, max_iter, gtol,
                                                               on_nonfinite):
    """Contract: as test_minimize_works_or_raises_a_documented_error, for an
    @njit objective with jac='inplace' and 1-D x0 (the compiled loop)."""
    x0 = make_array(x0_spec)
    x0_before = snapshot(x0)
    huge = isinstance(max_iter, int) and not isinstance(max_iter, bool) and max_iter > 10 ** 4
    if huge:
        gtol = 1e308
    verdicts = {"x0": x0_verdict(x0), "gtol": judge_real(gtol, "nonneg"),
                "method": BAD if method == "bogus" else OK,
                "max_iter": (OK if isinstance(max_iter, int) and not isinstance(max_iter, bool)
                             and max_iter >= 0 else BAD)}
    res, err = call(gdfast.minimize, _quad_inplace, x0, _nopy_method(method), jac="inplace",
                    max_iter=max_iter, gtol=gtol, on_nonfinite=on_nonfinite)
    assert unchanged(x0, x0_before), "minimize modified x0"
    if BAD in verdicts.values():
        assert err is not None, f"accepted invalid arguments {verdicts}"
        assert isinstance(err, DOCUMENTED), f"undocumented {type(err).__name__}: {err}"
        return
    if err is not None:
        assert isinstance(err, FloatingPointError) and on_nonfinite == "raise", (
            f"valid call raised {type(err).__name__}: {str(err)[:300]}")
        return
    assert res.nopython
    check_result(res, (len(x0),), max_iter, on_nonfinite)


@settings(max_examples=examples(60), **FUZZ)
@given(x0_spec=array_specs(st.one_of(st.tuples(st.integers(1, 4), st.integers(1, 3)),
                                     st.sampled_from([(3,), (2, 2, 2), (0, 2), (2, 0), ()])),
                           dtypes=["float64"] * 4 + ["float32", "int64", "bool", "complex128"],
                           layouts=["contig"] * 4 + ["strided", "fortran", "readonly", "list"]),
       y=st.lists(ELEMENTS, min_size=1, max_size=4),
       batch_args=mostly(st.sampled_from(["ok", "fortran"]),
                         st.sampled_from(["short", "list", "not-tuple"])),
       args=mostly(st.just("ok"), st.sampled_from(["list", "none"])),
       method=mostly(st.sampled_from(NOPY_METHODS[:-1]), st.sampled_from(NOPY_METHODS)),
       max_iter=NOPY_MAX_ITERS,
       gtol=mostly(st.sampled_from([1e-8, 0.0, 1e308]), st.just(-1.0)),
       fun=mostly(st.just("njit"), st.just("python")))
# found by hypothesis: a documented-valid max_iter >= 2**63 escapes as numba's TypingError
# or OverflowError
@example(x0_spec=("float64", (2, 2), [0.0], "contig"), y=[0.0], batch_args="ok", args="ok",
         method="adam", max_iter=10 ** 30, gtol=1e308, fun="njit")
@example(x0_spec=("float64", (2, 2), [0.0], "contig"), y=[0.0], batch_args="ok", args="ok",
         method="adam", max_iter=2 ** 63, gtol=1e308, fun="njit")
def test_minimize_batch_works_or_raises_a_documented_error(x0_spec, y, batch_args, args, method,
                                                           max_iter, gtol, fun):
    """Contract (minimize_batch's docstring): valid arguments -> x of shape
    (n_problems, n_params), finite (a row that met NaN/inf keeps its last
    finite iterate), fun finite where status is not 'non-finite', status one
    of the documented strings, nit <= max_iter; invalid -> TypeError/ValueError.
    X0 is never modified."""
    X0 = make_array(x0_spec)
    X0_before = snapshot(X0)
    shape = np.shape(X0)
    m = shape[0] if len(shape) == 2 else 1
    n = shape[1] if len(shape) == 2 else 1
    with np.errstate(all="ignore"):
        Y = np.resize(np.array(y, dtype=np.float64), (m, n))
    Y = np.where(np.isfinite(Y), Y, 0.0)
    b = {"ok": (Y,), "fortran": (np.asfortranarray(Y),), "short": (Y[:-1],),
         "list": (Y.tolist(),), "not-tuple": Y}[batch_args]
    a = {"ok": (), "list": [], "none": None}[args]
    huge = isinstance(max_iter, int) and not isinstance(max_iter, bool) and max_iter > 10 ** 4
    if huge:
        gtol = 1e308
    x0v = x0_verdict(X0)
    verdicts = {"fun": OK if fun == "njit" else BAD, "X0": x0v if len(shape) == 2 else BAD,
                "batch_args": BAD if batch_args in ("short", "list", "not-tuple") else OK,
                "args": OK if args == "ok" else BAD, "gtol": judge_real(gtol, "nonneg"),
                "method": BAD if method == "bogus" else OK,
                "max_iter": (OK if isinstance(max_iter, int) and not isinstance(max_iter, bool)
                             and max_iter >= 0 else BAD)}
    f = _batch_quad if fun == "njit" else _batch_quad.py_func
    res, err = call(gdfast.minimize_batch, f, X0, _nopy_method(method), args=a, batch_args=b,
                    max_iter=max_iter, gtol=gtol)
    assert unchanged(X0, X0_before), "minimize_batch modified X0"
    check_outcome(verdicts, err, "minimize_batch")
    if err is not None:
        return
    assert res.x.shape == (m, n) and res.x.dtype == np.float64
    assert np.isfinite(res.x).all(), f"x not finite: {res.x!r}"
    assert set(res.status) <= STATUSES - {"callback"}
    assert np.array_equal(res.success, np.isin(res.status, sorted(SUCCESS)))
    assert (0 <= res.nit).all() and (res.nit <= max_iter).all()
    finite_rows = res.status != "non-finite"
    assert np.isfinite(res.fun[finite_rows]).all(), (
        "fun not finite for a problem that did not stop on NaN/inf")
