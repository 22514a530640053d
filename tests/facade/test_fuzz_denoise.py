"""Fuzzing gdfast.denoise (see test_fuzz_hyperparameters.py for the contract
every fuzz test checks)."""

import math
import sys

import numpy as np
from fuzzing import (
    AMBIG,
    BAD,
    FUZZ,
    JUNK,
    MAXF,
    OK,
    SPECIAL,
    STATUSES,
    SUCCESS,
    TINY,
    VALID_REALS,
    array_specs,
    as_real,
    call,
    check_outcome,
    examples,
    judge_bool,
    judge_real,
    make_array,
    mostly,
    real_like,
    snapshot,
    unchanged,
    x0_verdict,
)
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

import gdfast

# --- 6. gdfast.denoise -----------------------------------------------------------

IMAGE_SHAPES = st.one_of(
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
    st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
    st.sampled_from([(), (5,), (2, 2, 2, 2), (0, 4), (3, 0, 2)]))
PIXELS = st.one_of(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.sampled_from(SPECIAL))
DENOISE_METHODS = {"momentum": "momentum", "nesterov": "nesterov", "gd": "gd", "adam": "adam",
                   "sgd": "sgd", "MOMENTUM": "MOMENTUM", "bogus": "bogus", "3": 3,
                   "SGD(lr=0.5)": lambda: gdfast.SGD(lr=0.5),
                   "Adam(lr=1e308)": lambda: gdfast.Adam(lr=1e308)}
LAMS = mostly(st.one_of(st.sampled_from([0.0, 0.1, 1.0, 1e-300, TINY, 1e300, 1e308]),
                        VALID_REALS["nonneg"]),
              st.one_of(real_like, st.sampled_from(JUNK)))
EPSS = mostly(st.one_of(st.sampled_from([0.03, 1.0, 1e-8, 1e-300, TINY, 1e300, MAXF]),
                        VALID_REALS["pos"]),
              st.one_of(real_like, st.sampled_from(JUNK)))
VALID_DENOISE_METHODS = ["momentum", "nesterov", "gd", "adam", "sgd", "MOMENTUM", "SGD(lr=0.5)",
                         "Adam(lr=1e308)"]


def denoise_eps_verdict(eps):
    """eps > 0 with eps**2 a normal float64 (denoise's docstring: in
    [1.5e-154, 1.3e154]; beyond it eps**2 under- or overflows)."""
    v = judge_real(eps, "pos")
    if v != OK:
        return v
    e = float(as_real(eps))
    return OK if e * e >= sys.float_info.min and math.isfinite(e * e) else BAD


def start_energy_below(f, lam, eps, anisotropic, bound):
    """The smoothed-TV energy at u = f (forward differences, Neumann
    boundary), written from the formula with numpy: below ``bound``?"""
    with np.errstate(all="ignore"):
        d = [np.diff(f, axis=a, append=np.take(f, [-1], axis=a)) for a in range(f.ndim)]
        if anisotropic:
            tv = sum(np.sqrt(x * x + eps * eps).sum() for x in d)
        else:
            tv = np.sqrt(sum(x * x for x in d) + eps * eps).sum()
        return bool(lam * tv < bound)


@settings(max_examples=examples(150), **FUZZ)
@given(f_spec=array_specs(IMAGE_SHAPES, elements=PIXELS,
                          layouts=["contig"] * 6 + ["strided", "fortran", "readonly", "list",
                                                    "unaligned"]),
       lam=LAMS, eps=EPSS,
       method=mostly(st.sampled_from(VALID_DENOISE_METHODS),
                     st.sampled_from(sorted(DENOISE_METHODS))),
       max_iter=mostly(st.integers(0, 25), st.sampled_from([-1, 2.5, None, True])),
       tol=mostly(st.sampled_from([0.0, 1e-7, 0.5, 1e308]), real_like),
       clean=st.sampled_from(["none"] * 3 + ["same", "equal-f", "wrong-shape", "nan"]),
       anisotropic=mostly(st.sampled_from([False, True]), st.sampled_from([1, None])))
# found by hypothesis: lam / eps large enough that L = 1 + 8 lam / eps overflows:
# denoise refuses documented-valid lam and eps with "lr must be > 0, got 0.0"
@example(f_spec=("float64", (5, 5), [0.1, 0.5, 0.9], "contig"), lam=1.0, eps=TINY,
         method="momentum", max_iter=5, tol=1e-7, clean="none", anisotropic=False)
@example(f_spec=("float64", (5, 5), [0.1, 0.5, 0.9], "contig"), lam=1e308, eps=0.03,
         method="nesterov", max_iter=5, tol=1e-7, clean="none", anisotropic=False)
def test_denoise_works_or_raises_a_documented_error(f_spec, lam, eps, method, max_iter, tol,
                                                    clean, anisotropic):
    """Contract (denoise's docstring): f a finite real 2-D/3-D array, lam >= 0,
    eps > 0, max_iter an int >= 0, tol >= 0, clean None or a finite image
    shaped like f, method a known name or an optimizer -> an OptimizeResult
    with x finite and shaped like f, fun finite unless status is 'non-finite',
    nit <= max_iter, no NaN PSNR; anything else -> TypeError/ValueError naming
    the argument. f and clean are never modified."""
    f = make_array(f_spec)
    f_before = snapshot(f)
    shape = np.shape(f)
    clean_img = {"none": None, "same": np.full(shape, 0.5), "equal-f": snapshot(f),
                 "wrong-shape": np.zeros(tuple(s + 1 for s in shape)),
                 "nan": np.full(shape, math.nan)}[clean]
    m = DENOISE_METHODS[method]
    m = m() if callable(m) else m
    fv = x0_verdict(f)
    if fv == OK and len(shape) not in (2, 3):
        fv = BAD
    if clean == "none":
        cv = OK
    elif clean == "wrong-shape" or clean == "nan" or np.size(clean_img) == 0:
        cv = BAD
    else:
        cv = x0_verdict(clean_img) if fv == OK else AMBIG
    verdicts = {
        "f": fv, "lam": judge_real(lam, "nonneg"), "eps": denoise_eps_verdict(eps),
        "method": (OK if not isinstance(m, str) and not isinstance(m, int)
                   else OK if isinstance(m, str) and m.lower() in
                   ("momentum", "nesterov", "gd", "adam", "sgd") else BAD),
        "max_iter": (OK if isinstance(max_iter, int) and not isinstance(max_iter, bool)
                     and max_iter >= 0 else BAD),
        "tol": judge_real(tol, "nonneg"), "clean": cv,
        "anisotropic": judge_bool(anisotropic),
    }
    if verdicts["f"] == verdicts["lam"] == verdicts["eps"] == OK and \
            not start_energy_below(np.asarray(f, dtype=np.float64), float(lam), float(eps),
                                   anisotropic is True, 1e300):
        verdicts["lam"] = AMBIG        # "the energy at u = f overflows float64": refused
    note(f"f = {f!r}; verdicts = {verdicts}")
    res, err = call(gdfast.denoise, f, lam, eps=eps, method=m, max_iter=max_iter, tol=tol,
                    clean=clean_img, anisotropic=anisotropic)
    assert unchanged(f, f_before), "denoise modified f"
    check_outcome(verdicts, err, "denoise")
    if err is not None:
        return
    assert res.x.shape == shape and res.x.dtype == np.float64
    assert np.isfinite(res.x).all(), f"denoised image not finite (status {res.status})"
    status = str(res.status)
    assert status in STATUSES and res.success == (status in SUCCESS)
    assert 0 <= res.nit <= max_iter
    if status != "non-finite":
        assert math.isfinite(res.fun), f"fun = {res.fun!r} with status {status}"
    if clean_img is not None:
        assert not math.isnan(res.psnr) and not np.isnan(res.psnr_history).any()
