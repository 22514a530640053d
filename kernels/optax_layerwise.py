"""optax's layer-wise rules: LAMB, LARS and NovoGrad.

Same calling convention as every gdfast kernel (see kernels/__init__.py)::

    bad = rule_step(x, g, state, t, lr, hyper)

One flat array is one layer (one leaf of optax's pytree): each of these
rules scales its update by a norm of the whole array. The norms are sums of
squares in `N_BLOCKS` fixed blocks (`gdfast.kernels.reductions.block_bounds`),
each block summed into ``work[k]`` (the last state array,
scratch of ``NORM_WORK`` entries kept in the state so that a step allocates
nothing), then the blocks added in order: the serial kernel and the parallel
one (which sums the blocks over numba's threads) give the same bits. LARS's
and NovoGrad's blocks are summed in the fixed order of
`gdfast.kernels.reductions.sum_squares_range` (four interleaved partial
sums: a single chain of adds was latency-bound); LAMB's in index order, in
its pass that also updates the moments. When a
sum of squares overflows (entries beyond about 1e154) while every entry is
finite, LAMB's and LARS's norm is computed again, serially in both kernels,
as max|a| sqrt(sum (a / max|a|)^2): the trust ratio stays finite where the
norm is (it was inf, and so was x); the usual bits are unchanged.

XLA sums a norm in an order of its own (vectorised partial sums), so the
norms differ from optax's in the last bits; the rest is optax's equations in
optax's order with the fused multiply-adds XLA compiles them to on the CPU
(jax 0.10), as in kernels/optax_rules.py: within 1e-12 relative of optax with
jax x64 over 100 steps (tests/facade/test_optax_parity.py). A NaN or inf in
one entry of g makes the norm NaN and so spoils the whole array (optax's
too): the count of bad entries is then the array's length.

The gradient d is -g when ``maximize`` is 1.0, else g (optax run on -g).
optax's masks (which leaves get weight decay or the trust ratio) have no
counterpart: a flat array is one leaf, decayed and trust-scaled.
"""
import math

from numba import prange

from ._elementwise import direction_sign
from .averaging import fma
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite
from .reductions import LANES, N_BLOCKS, block_bounds, sum_squares_range

NORM_WORK = 2 * N_BLOCKS   # length of the scratch state array "work"


@njit(**SERIAL)
def _block_total(work, offset):
    """work[offset] + ... + work[offset + N_BLOCKS - 1], in order."""
    total = 0.0
    for k in range(N_BLOCKS):
        total += work[offset + k]
    return total


@njit(**SERIAL)
def _trust_ratio(x_norm, u_norm, coefficient, eps):
    """optax.scale_by_trust_ratio's: coefficient ||x|| / (||u|| + eps), 1 when
    either norm is 0."""
    if x_norm == 0.0 or u_norm == 0.0:
        return 1.0
    return coefficient * x_norm / (u_norm + eps)


@njit(**SERIAL)
def _norm_from(sq, scale, scaled_sq):
    """sqrt(sq); where sq overflowed to inf but every entry was finite (its
    largest magnitude scale is), scale sqrt(scaled_sq) instead: the sum of
    (a_i / scale)^2, which cannot overflow (entries of 1e155 or more square
    beyond float64; their norm does not)."""
    if sq == math.inf and scale < math.inf and scale > 0.0:
        return scale * math.sqrt(scaled_sq)
    return math.sqrt(sq)


@njit(**SERIAL)
def _max_abs(a):
    top = 0.0
    for i in range(a.size):
        top = max(top, abs(a[i]))
    return top


@njit(**SERIAL)
def _scaled_sq(a, scale):
    s = 0.0
    for i in range(a.size):
        q = a[i] / scale
        s += q * q
    return s


@njit(**SERIAL)
def _x_norm(x, work):
    """||x|| from work's block sums; rescaled (a serial pass, so serial and
    parallel kernels agree) only when the sum of squares overflowed."""
    sq = _block_total(work, 0)
    if sq != math.inf:
        return math.sqrt(sq)
    scale = _max_abs(x)
    return _norm_from(sq, scale, _scaled_sq(x, scale) if 0.0 < scale < math.inf else 0.0)


# --- LAMB ------------------------------------------------------------------------


@njit(**SERIAL)
def _lamb_corrections(t, b1, b2):
    tf = float(t)
    return 1.0 / (1.0 - b1 ** tf), 1.0 / (1.0 - b2 ** tf)


@njit(**SERIAL)
def _lamb_direction(x_i, m_i, v_i, r1, r2, eps, eps_root, weight_decay):
    """The Adam direction with decoupled decay, before the trust ratio."""
    u = (m_i * r1) / (math.sqrt(fma(v_i, r2, eps_root)) + eps)
    if weight_decay != 0.0:
        u = fma(weight_decay, x_i, u)
    return u


@njit(**SERIAL)
def _lamb_moments(k, x, g, m, v, work, r1, r2, b1, b2, eps, eps_root, weight_decay, sign):
    """Block k: the moments updated in place, the sums of x^2 and u^2 into work."""
    lo, hi = block_bounds(x.size, N_BLOCKS, k)
    x_sq = 0.0
    u_sq = 0.0
    for i in range(lo, hi):
        d = sign * g[i]
        m_i = fma(1.0 - b1, d, b1 * m[i])
        v_i = fma(b2, v[i], (1.0 - b2) * (d * d))
        m[i] = m_i
        v[i] = v_i
        u = _lamb_direction(x[i], m_i, v_i, r1, r2, eps, eps_root, weight_decay)
        x_sq += x[i] * x[i]
        u_sq += u * u
    work[k] = x_sq
    work[N_BLOCKS + k] = u_sq


@njit(**SERIAL)
def _lamb_u_norm(x, m, v, work, r1, r2, eps, eps_root, weight_decay):
    """||u|| from work's block sums; rescaled only when they overflowed (see _x_norm)."""
    sq = _block_total(work, N_BLOCKS)
    if sq != math.inf:
        return math.sqrt(sq)
    scale = 0.0
    for i in range(x.size):
        scale = max(scale, abs(_lamb_direction(x[i], m[i], v[i], r1, r2, eps, eps_root,
                                               weight_decay)))
    scaled = 0.0
    if 0.0 < scale < math.inf:
        for i in range(x.size):
            q = _lamb_direction(x[i], m[i], v[i], r1, r2, eps, eps_root, weight_decay) / scale
            scaled += q * q
    return _norm_from(sq, scale, scaled)


@njit(**SERIAL)
def _lamb_apply(i, x, m, v, scale, r1, r2, eps, eps_root, weight_decay):
    u = _lamb_direction(x[i], m[i], v[i], r1, r2, eps, eps_root, weight_decay)
    x_i = x[i] + (u * scale[0]) * scale[1]
    x[i] = x_i
    return any_nonfinite(x_i, m[i], v[i])


@njit(**SERIAL)
def lamb_step(x, g, state, t, lr, hyper):
    """LAMB (You et al., 2020) as optax.lamb, in place.

    ::

        d = ±g
        m <- (1 - b1) d + b1 m
        v <- (1 - b2) d^2 + b2 v
        u = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t) + eps_root) + eps)
            + weight_decay x
        r = ||x|| / ||u||   (1 if ||x|| = 0 or ||u|| = 0)
        x <- x - lr r u

    optax.lamb is the chain scale_by_adam, add_decayed_weights,
    scale_by_trust_ratio, scale_by_learning_rate: the norms are of the whole
    array x (one layer) and of its whole update u.

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(mu, nu, work)``: m and v of shape (n,), starting at 0 (optax's
        ScaleByAdamState.mu and .nu), and ``work``, NORM_WORK entries of
        scratch for the norms (any content).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, >= 0.
    hyper : tuple of float
        ``(b1, b2, eps, eps_root, weight_decay, maximize)``:

        - b1, b2 in [0, 1) (optax: 0.9, 0.999);
        - eps >= 0, outside the square root (optax: 1e-6);
        - eps_root >= 0, inside it (optax: 0);
        - weight_decay >= 0 (optax: 0), inside the trust ratio's norm;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (``gdfast.kernels.nonfinite``).

    Notes
    -----
    Where gdfast differs from optax: the two norms' summation order (see the
    module's docstring), hence their last bits. optax's mask has no
    counterpart (weight_decay = 0 is its False).
    Reference: You et al. (2020), "Large batch optimization for deep
    learning: training BERT in 76 minutes"; optax.lamb.
    """
    b1, b2, eps, eps_root, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    r1, r2 = _lamb_corrections(t, b1, b2)
    m, v, work = state
    for k in range(N_BLOCKS):
        _lamb_moments(k, x, g, m, v, work, r1, r2, b1, b2, eps, eps_root, weight_decay, sign)
    scale = (_trust_ratio(_x_norm(x, work),
                          _lamb_u_norm(x, m, v, work, r1, r2, eps, eps_root, weight_decay),
                          1.0, 0.0), -lr)
    bad = 0
    for i in range(x.size):
        bad += _lamb_apply(i, x, m, v, scale, r1, r2, eps, eps_root, weight_decay)
    return bad


@njit(**PARALLEL)
def lamb_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `lamb_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `lamb_step`.

    Returns
    -------
    bad : int
        As `lamb_step`'s.
    """
    b1, b2, eps, eps_root, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    r1, r2 = _lamb_corrections(t, b1, b2)
    m, v, work = state
    for k in prange(N_BLOCKS):
        _lamb_moments(k, x, g, m, v, work, r1, r2, b1, b2, eps, eps_root, weight_decay, sign)
    scale = (_trust_ratio(_x_norm(x, work),
                          _lamb_u_norm(x, m, v, work, r1, r2, eps, eps_root, weight_decay),
                          1.0, 0.0), -lr)
    bad = 0
    for i in prange(x.size):
        bad += _lamb_apply(i, x, m, v, scale, r1, r2, eps, eps_root, weight_decay)
    return bad


# --- LARS ------------------------------------------------------------------------


@njit(**SERIAL)
def _lars_norms(k, x, g, work, weight_decay, sign):
    """Block k: the sums of x^2 and of u^2, u = d + weight_decay x, into work,
    each in reductions.sum_squares_range's order of LANES (4) partial sums."""
    lo, hi = block_bounds(x.size, N_BLOCKS, k)
    xb = x[lo:hi]   # indices from 0: see sum_squares_range
    gb = g[lo:hi]
    m = xb.size // LANES
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    for c in range(m):
        i = LANES * c
        x0, x1, x2, x3 = xb[i], xb[i + 1], xb[i + 2], xb[i + 3]
        u0 = fma(weight_decay, x0, sign * gb[i])
        u1 = fma(weight_decay, x1, sign * gb[i + 1])
        u2 = fma(weight_decay, x2, sign * gb[i + 2])
        u3 = fma(weight_decay, x3, sign * gb[i + 3])
        a0 += x0 * x0
        a1 += x1 * x1
        a2 += x2 * x2
        a3 += x3 * x3
        b0 += u0 * u0
        b1 += u1 * u1
        b2 += u2 * u2
        b3 += u3 * u3
    ra = 0.0
    rb = 0.0
    for i in range(LANES * m, xb.size):
        u = fma(weight_decay, xb[i], sign * gb[i])
        ra += xb[i] * xb[i]
        rb += u * u
    work[k] = ((a0 + a1) + (a2 + a3)) + ra
    work[N_BLOCKS + k] = ((b0 + b1) + (b2 + b3)) + rb


@njit(**SERIAL)
def _lars_u_norm(x, g, work, weight_decay, sign):
    """||d + weight_decay x|| from work's block sums; rescaled only when they
    overflowed (see _x_norm)."""
    sq = _block_total(work, N_BLOCKS)
    if sq != math.inf:
        return math.sqrt(sq)
    scale = 0.0
    for i in range(x.size):
        scale = max(scale, abs(fma(weight_decay, x[i], sign * g[i])))
    scaled = 0.0
    if 0.0 < scale < math.inf:
        for i in range(x.size):
            q = fma(weight_decay, x[i], sign * g[i]) / scale
            scaled += q * q
    return _norm_from(sq, scale, scaled)


@njit(**SERIAL)
def _lars_apply(i, x, g, trace, ratio, lr, weight_decay, momentum, nesterov, sign):
    w = (fma(weight_decay, x[i], sign * g[i]) * ratio) * (-lr)
    tr = fma(momentum, trace[i], w)
    trace[i] = tr
    x_i = x[i] + (fma(momentum, tr, w) if nesterov != 0.0 else tr)
    x[i] = x_i
    return any_nonfinite(x_i, tr, tr)


@njit(**SERIAL)
def lars_step(x, g, state, t, lr, hyper):
    """LARS (You et al., 2017) as optax.lars, in place.

    ::

        d = ±g
        u = d + weight_decay x
        r = trust_coefficient ||x|| / (||u|| + eps)   (1 if ||x|| = 0 or ||u|| = 0)
        b <- -lr r u + momentum b
        x <- x + b        (nesterov: x <- x - lr r u + momentum b)

    optax.lars is the chain add_decayed_weights, scale_by_trust_ratio,
    scale_by_learning_rate, trace: the learning rate is inside the momentum
    buffer b (a changing lr changes the steps to come only).

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(trace, work)``: the momentum buffer b of shape (n,), starting at 0
        (optax's TraceState.trace), and NORM_WORK entries of scratch.
    t : int
        The step number, 1 on the first call (unused: LARS has no bias
        correction).
    lr : float
        This step's learning rate, >= 0.
    hyper : tuple of float
        ``(weight_decay, trust_coefficient, eps, momentum, nesterov, maximize)``:

        - weight_decay >= 0 (optax: 0);
        - trust_coefficient > 0 (optax: 1e-3);
        - eps >= 0, added to ||u|| (optax: 0);
        - momentum in [0, 1) (optax: 0.9);
        - nesterov, maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (``gdfast.kernels.nonfinite``).

    Notes
    -----
    Where gdfast differs from optax: the norms' summation order (the module's
    docstring). optax's weight_decay_mask and trust_ratio_mask have no
    counterpart (one array is one leaf, and both apply to it).
    Reference: You et al. (2017), "Large batch training of convolutional
    networks"; optax.lars.
    """
    weight_decay, trust_coefficient, eps, momentum, nesterov, maximize = hyper
    sign = direction_sign(maximize)
    trace, work = state
    for k in range(N_BLOCKS):
        _lars_norms(k, x, g, work, weight_decay, sign)
    ratio = _trust_ratio(_x_norm(x, work), _lars_u_norm(x, g, work, weight_decay, sign),
                         trust_coefficient, eps)
    bad = 0
    for i in range(x.size):
        bad += _lars_apply(i, x, g, trace, ratio, lr, weight_decay, momentum, nesterov, sign)
    return bad


@njit(**PARALLEL)
def lars_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `lars_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `lars_step`.

    Returns
    -------
    bad : int
        As `lars_step`'s.
    """
    weight_decay, trust_coefficient, eps, momentum, nesterov, maximize = hyper
    sign = direction_sign(maximize)
    trace, work = state
    for k in prange(N_BLOCKS):
        _lars_norms(k, x, g, work, weight_decay, sign)
    ratio = _trust_ratio(_x_norm(x, work), _lars_u_norm(x, g, work, weight_decay, sign),
                         trust_coefficient, eps)
    bad = 0
    for i in prange(x.size):
        bad += _lars_apply(i, x, g, trace, ratio, lr, weight_decay, momentum, nesterov, sign)
    return bad


# --- NovoGrad ----------------------------------------------------------------------


@njit(**SERIAL)
def _novograd_norm(k, g, work):
    """Block k: the sum of g^2 into work (the sign of d does not matter)."""
    lo, hi = block_bounds(g.size, N_BLOCKS, k)
    work[k] = sum_squares_range(g, lo, hi, 1.0)


@njit(**SERIAL)
def _novograd_second_moment(t, nu, work, b2):
    """optax's nu: ||g||^2 (squared after the square root, as optax) on step
    1, then (1 - b2) ||g||^2 + b2 nu; stored in nu[0]."""
    norm = math.sqrt(_block_total(work, 0))
    n2 = norm * norm
    if t == 1:
        nu[0] = n2
    else:
        nu[0] = fma(1.0 - b2, n2, b2 * nu[0])
    return nu[0]


@njit(**SERIAL)
def _novograd_apply(i, t, x, g, m, denom, lr, b1, weight_decay, sign):
    u = (sign * g[i]) / denom
    if weight_decay != 0.0:
        u = fma(weight_decay, x[i], u)
    m_i = u if t == 1 else fma(b1, m[i], u)
    m[i] = m_i
    x_i = x[i] + m_i * (-lr)
    x[i] = x_i
    return any_nonfinite(x_i, m_i, denom)


@njit(**SERIAL)
def novograd_step(x, g, state, t, lr, hyper):
    """NovoGrad (Ginsburg et al., 2019) as optax.novograd, in place.

    ::

        d = ±g
        nu <- ||d||^2 on step 1, then (1 - b2) ||d||^2 + b2 nu   (one number)
        u = d / (sqrt(nu + eps_root) + eps) + weight_decay x
        m <- u on step 1, then b1 m + u
        x <- x - lr m

    The second moment is one number per array (layer), of the gradient's
    norm; the first moment is not damped by (1 - b1), as optax's.

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(mu, nu, work)``: m of shape (n,) (optax's
        ScaleByNovogradState.mu), nu of shape (1,) (optax's scalar .nu; both
        start at 0, and step 1 overwrites them) and NORM_WORK entries of
        scratch.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, >= 0.
    hyper : tuple of float
        ``(b1, b2, eps, eps_root, weight_decay, maximize)``:

        - b1, b2 in [0, 1) (optax: 0.9, 0.25);
        - eps >= 0, outside the square root (optax.novograd: 1e-6);
        - eps_root >= 0, inside it (optax: 0);
        - weight_decay >= 0 (optax: 0), added to the normalised gradient
          before the momentum;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or m,
        or all n when nu is NaN or inf (``gdfast.kernels.nonfinite``).

    Notes
    -----
    Where gdfast differs from optax: the norm's summation order (the module's
    docstring).
    Reference: Ginsburg et al. (2019), "Stochastic gradient methods with
    layer-wise adaptive moments for training of deep networks";
    optax.novograd / optax.scale_by_novograd.
    """
    b1, b2, eps, eps_root, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    m, nu, work = state
    for k in range(N_BLOCKS):
        _novograd_norm(k, g, work)
    denom = math.sqrt(_novograd_second_moment(t, nu, work, b2) + eps_root) + eps
    bad = 0
    for i in range(x.size):
        bad += _novograd_apply(i, t, x, g, m, denom, lr, b1, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def novograd_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `novograd_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `novograd_step`.

    Returns
    -------
    bad : int
        As `novograd_step`'s.
    """
    b1, b2, eps, eps_root, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    m, nu, work = state
    for k in prange(N_BLOCKS):
        _novograd_norm(k, g, work)
    denom = math.sqrt(_novograd_second_moment(t, nu, work, b2) + eps_root) + eps
    bad = 0
    for i in prange(x.size):
        bad += _novograd_apply(i, t, x, g, m, denom, lr, b1, weight_decay, sign)
    return bad
