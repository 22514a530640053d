"""The objective and the helpers of the tests of gdfast.minimize's reliability
features (tests/facade/test_minimize_*.py), on both of its loops.

* on_nonfinite='skip' / max_skips / nskipped (optax.apply_if_finite), and
  'stop' / 'raise';
* checkpoints: checkpoint=, checkpoint_every=, resume=, the fingerprint of a
  run, and every way a checkpoint file can be wrong;
* Ctrl-C (SIGINT): the first stops the run after the iteration in progress,
  the second raises KeyboardInterrupt, the handler comes back;
* the memory the Python loop holds.

One objective serves every test: ``rough`` is a numba @njit function
``fun(x, g, *args) -> f`` (jac='inplace'), so minimize runs it in compiled
code (the nopython loop); ``rough.py_func``, the same body as plain Python,
forces the Python loop. The two loops must give the same bits. One objective
and two optimizers keep the number of compilations of the nopython loop
(about a second or two each) at two.
"""
import numpy as np
from numba import njit

import gdfast
from gdfast.schedules import inverse_time_decay

N = 48
C = np.linspace(2.0, -1.5, N)          # c[0] = 2: x[0] climbs from 0 towards 2
INF = float("inf")
NAN_IN_G, NAN_IN_F, INF_IN_G = 0.0, 1.0, 2.0


@njit
def rough(x, g, c, count, bad, p):
    """f = sum_j w_j d_j^2 + d_j^4 / 4 with d = x - c, w_j = 1 + j / n; g = df/dx.

    count[0] counts the evaluations (the first is number 1). Evaluation number
    k in ``bad`` returns a non-finite value of the kind p[2] (0: NaN in g,
    1: NaN in f, 2: +inf in g); every evaluation from number p[0] on has
    f = NaN (a run that breaks for good); f = NaN wherever x[0] > p[1] (a
    region where f is undefined). Otherwise deterministic.
    """
    count[0] += 1
    k = count[0]
    n = x.size
    f = 0.0
    for j in range(n):
        d = x[j] - c[j]
        w = 1.0 + j / n
        d2 = d * d
        f += w * d2 + 0.25 * d2 * d2
        g[j] = 2.0 * w * d + d2 * d
    for b in bad:
        if b == k:
            if p[2] == 0.0:
                g[k % n] = np.nan
            elif p[2] == 1.0:
                f = np.nan
            else:
                g[(3 * k) % n] = np.inf
    if k >= p[0] or x[0] > p[1]:
        f = np.nan
    return f


ROUGH_PYTHON = getattr(rough, "py_func", rough)       # no py_func under NUMBA_DISABLE_JIT
FUNS = {"python": ROUGH_PYTHON, "nopython": rough}
LOOPS = list(FUNS)


def args_of(bad=(), nan_from=INF, x_limit=INF, kind=NAN_IN_G, c=C):
    """The args of rough, with a fresh evaluation counter."""
    return (c, np.zeros(1, np.int64), np.array(bad, dtype=np.int64),
            np.array([nan_from, x_limit, kind]))


def adam():
    """Adam with a schedule, so the step count t matters."""
    return gdfast.Adam(lr=inverse_time_decay(0.05, 10))


def momentum():
    return gdfast.SGD(lr=0.01, momentum=0.9)


OPTIMIZERS = {"adam": adam, "momentum": momentum}


def run(loop, make_opt=adam, x0=None, bad=(), nan_from=INF, x_limit=INF, kind=NAN_IN_G,
        c=C, **kw):
    kw.setdefault("gtol", 0.0)
    x0 = np.zeros(c.size) if x0 is None else x0
    res = gdfast.minimize(FUNS[loop], x0, make_opt(), jac="inplace",
                          args=args_of(bad, nan_from, x_limit, kind, c), **kw)
    assert res.nopython == (loop == "nopython")
    return res


ARRAYS = ("x", "fun", "jac", "fun_history", "grad_norm_history")
TRAJECTORY = ("x", "fun", "jac", "nit", "fun_history", "grad_norm_history")
EVERYTHING = TRAJECTORY + ("status", "nfev", "nskipped")


def assert_same(a, b, keys=EVERYTHING):
    """a[k] and b[k] bit for bit (arrays: same shape and bytes)."""
    for k in keys:
        if k in ARRAYS:
            x, y = np.asarray(a[k], np.float64), np.asarray(b[k], np.float64)
            assert x.shape == y.shape, f"{k}: shape {x.shape} != {y.shape}"
            assert x.tobytes() == y.tobytes(), f"{k}: {a[k]!r} != {b[k]!r}"
        else:
            assert a[k] == b[k], f"{k}: {a[k]!r} != {b[k]!r}"
