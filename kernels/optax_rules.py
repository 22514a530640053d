"""optax's element-wise rules that torch.optim lacks: AdaBelief, Yogi and Adan.

Same calling convention as every gdfast kernel (see kernels/__init__.py)::

    bad = rule_step(x, g, state, t, lr, hyper)

The equations are optax's (``optax.scale_by_belief``, ``optax.scale_by_yogi``
followed by ``optax.scale_by_learning_rate``), evaluated in optax's order --
the moments as ``(1 - b) * g + b * m``, the bias corrections as products with
``1 / (1 - b^t)`` -- and with the fused multiply-adds (``fma(p, q, r) = p q
+ r`` rounded once, `gdfast.kernels.fma`) that XLA compiles optax's jitted
update to on the CPU (jax 0.10): the same bits as optax with jax x64 there,
step after step (tests/facade/test_optax_parity.py). The gradient d is -g
when ``maximize`` is 1.0 (optax has no such switch: it is optax run on -g),
else g. Each rule has a serial kernel and a bitwise-equal parallel one.
"""
import math

from numba import prange

from ._elementwise import direction_sign
from .averaging import fma
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite

# --- AdaBelief -----------------------------------------------------------------


@njit(**SERIAL)
def _belief_corrections(t, b1, b2):
    """The reciprocals of optax's bias corrections of step t: 1 / (1 - b1^t),
    1 / (1 - b1^(t+1)), 1 / (1 - b2^t)."""
    tf = float(t)
    return (1.0 / (1.0 - b1 ** tf), 1.0 / (1.0 - b1 ** (tf + 1.0)),
            1.0 / (1.0 - b2 ** tf))


@njit(**SERIAL)
def _adabelief_update(i, x, g, m, s, lr, r1, r1_next, r2, b1, b2, eps, eps_root,
                      weight_decay, nesterov, sign):
    d = sign * g[i]
    m_i = fma(1.0 - b1, d, b1 * m[i])
    e = d - m_i
    s_i = fma(b2, s[i], (1.0 - b2) * (e * e)) + eps_root
    m[i] = m_i
    s[i] = s_i
    if nesterov != 0.0:
        m_hat = fma(1.0 - b1, d * r1, b1 * (m_i * r1_next))
    else:
        m_hat = m_i * r1
    u = m_hat / (math.sqrt(s_i * r2) + eps)
    if weight_decay != 0.0:
        u = fma(weight_decay, x[i], u)
    x_i = x[i] + (-lr) * u
    x[i] = x_i
    return any_nonfinite(x_i, m_i, s_i)


@njit(**SERIAL)
def adabelief_step(x, g, state, t, lr, hyper):
    """AdaBelief (Zhuang et al., 2020) as optax.adabelief, in place.

    ::

        d = ±g
        m <- (1 - b1) d + b1 m
        s <- (1 - b2) (d - m)^2 + b2 s + eps_root
        m_hat = m / (1 - b1^t)
              (nesterov: b1 m / (1 - b1^(t+1)) + (1 - b1) d / (1 - b1^t))
        u = m_hat / (sqrt(s / (1 - b2^t)) + eps) + weight_decay x
        x <- x - lr u

    eps sits outside the square root, eps_root inside the second moment (it
    is added to s itself, and so is kept in the state, as optax keeps it).

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(mu, nu)``: the first moment m and the second central moment s, both
        starting at 0 (optax's ``ScaleByBeliefState.mu`` and ``.nu``).
    t : int
        The step number, 1 on the first call (optax's count after the step).
    lr : float
        This step's learning rate, >= 0.
    hyper : tuple of float
        ``(b1, b2, eps, eps_root, weight_decay, nesterov, maximize)``:

        - b1, b2 in [0, 1) (optax: 0.9, 0.999);
        - eps >= 0, outside the square root (optax: 1e-16);
        - eps_root >= 0, added to s (optax: 1e-16);
        - weight_decay >= 0, optax.add_decayed_weights after the rescaling
          (so multiplied by lr; optax: None, i.e. 0);
        - nesterov, maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Zhuang et al. (2020), "AdaBelief optimizer: adapting stepsizes
    by the belief in observed gradients"; optax.adabelief (whose defaults
    eps = eps_root = 1e-16 differ from the paper's 1e-8 and 0).
    """
    b1, b2, eps, eps_root, weight_decay, nesterov, maximize = hyper
    sign = direction_sign(maximize)
    r1, r1_next, r2 = _belief_corrections(t, b1, b2)
    m, s = state
    bad = 0
    for i in range(x.size):
        bad += _adabelief_update(i, x, g, m, s, lr, r1, r1_next, r2, b1, b2, eps,
                                 eps_root, weight_decay, nesterov, sign)
    return bad


@njit(**PARALLEL)
def adabelief_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adabelief_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adabelief_step`.

    Returns
    -------
    bad : int
        As `adabelief_step`'s.
    """
    b1, b2, eps, eps_root, weight_decay, nesterov, maximize = hyper
    sign = direction_sign(maximize)
    r1, r1_next, r2 = _belief_corrections(t, b1, b2)
    m, s = state
    bad = 0
    for i in prange(x.size):
        bad += _adabelief_update(i, x, g, m, s, lr, r1, r1_next, r2, b1, b2, eps,
                                 eps_root, weight_decay, nesterov, sign)
    return bad


# --- Yogi --------------------------------------------------------------------------


@njit(**SERIAL)
def _sign(v):
    """jnp.sign: -1, 0 or 1, NaN for NaN."""
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return v


@njit(**SERIAL)
def _yogi_corrections(t, b1, b2):
    """1 / (1 - b1^t), 1 / (1 - b2^t)."""
    tf = float(t)
    return 1.0 / (1.0 - b1 ** tf), 1.0 / (1.0 - b2 ** tf)


@njit(**SERIAL)
def _yogi_update(i, x, g, m, v, lr, r1, r2, b1, b2, eps, eps_root, sign):
    d = sign * g[i]
    m_i = fma(1.0 - b1, d, b1 * m[i])
    d2 = d * d
    v_i = fma(-((1.0 - b2) * _sign(v[i] - d2)), d2, v[i])
    m[i] = m_i
    v[i] = v_i
    u = (m_i * r1) / (math.sqrt(fma(v_i, r2, eps_root)) + eps)
    x_i = x[i] + (-lr) * u
    x[i] = x_i
    return any_nonfinite(x_i, m_i, v_i)


@njit(**SERIAL)
def yogi_step(x, g, state, t, lr, hyper):
    """Yogi (Zaheer et al., 2018) as optax.yogi, in place.

    ::

        d = ±g
        m <- (1 - b1) d + b1 m
        v <- v - (1 - b2) sign(v - d^2) d^2
        x <- x - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t) + eps_root) + eps)

    Unlike Adam's, v moves towards d^2 by (1 - b2) d^2 at most per step, so
    the effective rate cannot grow fast when the gradients shrink.

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(mu, nu)``: m and v, both starting at optax's
        initial_accumulator_value (1e-6), not at 0.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, >= 0.
    hyper : tuple of float
        ``(b1, b2, eps, eps_root, maximize)``:

        - b1, b2 in [0, 1) (optax: 0.9, 0.999);
        - eps >= 0, outside the square root (optax: 1e-3);
        - eps_root >= 0, inside the square root (optax.scale_by_yogi: 0);
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    v / (1 - b2^t) + eps_root is one fused multiply-add (v times the
    reciprocal, plus eps_root), as XLA compiles optax's; with eps_root != 0
    a separate product and sum differ from optax in the last bits (8e-14
    relative over 100 steps: the yogi-eps-root case of tests/optax_cases.py
    gives optax's bits with the FMA).
    Reference: Zaheer et al. (2018), "Adaptive methods for nonconvex
    optimization"; optax.yogi / optax.scale_by_yogi.
    """
    b1, b2, eps, eps_root, maximize = hyper
    sign = direction_sign(maximize)
    r1, r2 = _yogi_corrections(t, b1, b2)
    m, v = state
    bad = 0
    for i in range(x.size):
        bad += _yogi_update(i, x, g, m, v, lr, r1, r2, b1, b2, eps, eps_root, sign)
    return bad


@njit(**PARALLEL)
def yogi_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `yogi_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `yogi_step`.

    Returns
    -------
    bad : int
        As `yogi_step`'s.
    """
    b1, b2, eps, eps_root, maximize = hyper
    sign = direction_sign(maximize)
    r1, r2 = _yogi_corrections(t, b1, b2)
    m, v = state
    bad = 0
    for i in prange(x.size):
        bad += _yogi_update(i, x, g, m, v, lr, r1, r2, b1, b2, eps, eps_root, sign)
    return bad


# --- Adan --------------------------------------------------------------------------


@njit(**SERIAL)
def _adan_corrections(t, b1, b2, b3):
    """1 / (1 - b1^t), 1 / (1 - b2^t), 1 / (1 - b3^t)."""
    tf = float(t)
    return 1.0 / (1.0 - b1 ** tf), 1.0 / (1.0 - b2 ** tf), 1.0 / (1.0 - b3 ** tf)


@njit(**SERIAL)
def _adan_update(i, t, x, g, m, v, n, prev, lr, r1, r2, r3, b1, b2, b3, eps, eps_root,
                 weight_decay, sign):
    d = sign * g[i]
    diff = 0.0 if t == 1 else d - prev[i]
    m_i = fma(1.0 - b1, d, b1 * m[i])
    v_i = fma(b2, v[i], (1.0 - b2) * diff)
    sq = fma(1.0 - b2, diff, d)
    n_i = fma(b3, n[i], (1.0 - b3) * (sq * sq))
    m[i] = m_i
    v[i] = v_i
    n[i] = n_i
    prev[i] = d
    # XLA contracts m_hat + (1 - b2) v_hat on the other product when
    # eps_root is 0 (its add folded away): the same choice here
    if eps_root != 0.0:
        u = fma(m_i, r1, (1.0 - b2) * (v_i * r2))
    else:
        u = fma(1.0 - b2, v_i * r2, m_i * r1)
    u = u / (math.sqrt(fma(n_i, r3, eps_root)) + eps)
    if weight_decay != 0.0:
        u = fma(weight_decay, x[i], u)
    x_i = x[i] + (-lr) * u
    x[i] = x_i
    return any_nonfinite(x_i, m_i, v_i, n_i)


@njit(**SERIAL)
def adan_step(x, g, state, t, lr, hyper):
    """Adan (Xie et al., 2022) as optax.adan, in place.

    ::

        d = ±g ;  e = d - d_prev  (0 on step 1)
        m <- (1 - b1) d + b1 m
        v <- (1 - b2) e + b2 v
        n <- (1 - b3) (d + (1 - b2) e)^2 + b3 n
        u = (m / (1 - b1^t) + (1 - b2) v / (1 - b2^t))
            / (sqrt(n / (1 - b3^t) + eps_root) + eps) + weight_decay x
        x <- x - lr u

    optax's b1, b2, b3 are the decays of the moments (the paper's 1 - beta),
    its moments start at 0 with bias corrections (the paper's at g_0), and
    its weight decay is added to the update (the paper divides by 1 + lr
    weight_decay instead): gdfast follows optax.

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m, v, n, g)``, all starting at 0 (optax's ScaleByAdanState): the
        three moments and the previous step's d.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, >= 0.
    hyper : tuple of float
        ``(b1, b2, b3, eps, eps_root, weight_decay, maximize)``:

        - b1, b2, b3 in [0, 1) (optax: 0.98, 0.92, 0.99);
        - eps >= 0, outside the square root (optax: 1e-8);
        - eps_root >= 0, inside it (optax: 1e-8);
        - weight_decay >= 0 (optax: 0), add_decayed_weights after the
          rescaling (so multiplied by lr);
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Xie et al. (2022), "Adan: adaptive Nesterov momentum algorithm
    for faster optimizing deep models"; optax.adan / optax.scale_by_adan.
    """
    b1, b2, b3, eps, eps_root, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    r1, r2, r3 = _adan_corrections(t, b1, b2, b3)
    m, v, n, prev = state
    bad = 0
    for i in range(x.size):
        bad += _adan_update(i, t, x, g, m, v, n, prev, lr, r1, r2, r3, b1, b2, b3, eps,
                            eps_root, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def adan_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adan_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adan_step`.

    Returns
    -------
    bad : int
        As `adan_step`'s.
    """
    b1, b2, b3, eps, eps_root, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    r1, r2, r3 = _adan_corrections(t, b1, b2, b3)
    m, v, n, prev = state
    bad = 0
    for i in prange(x.size):
        bad += _adan_update(i, t, x, g, m, v, n, prev, lr, r1, r2, r3, b1, b2, b3, eps,
                            eps_root, weight_decay, sign)
    return bad
