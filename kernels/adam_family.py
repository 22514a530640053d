"""The Adam family, with torch.optim's equations and options: Adam (the
paper's form), Adam/AdamW with amsgrad and decoupled weight decay, Adamax,
NAdam, RAdam.

Same calling convention as every gdfast kernel (see kernels/__init__.py)::

    bad = rule_step(x, g, state, t, lr, hyper)

The gradient d is -g when ``maximize`` is 1.0, else g; with L2 weight decay
(``decoupled`` 0.0) d += weight_decay * x, with decoupled decay (AdamW's,
``decoupled`` 1.0) x <- x * (1 - lr * weight_decay) first. Moments are updated
as torch writes them, m <- lerp(m, d, 1 - beta1) (see ``lerp``), so that the
numbers agree with torch.optim to rounding. Each rule has a serial kernel and
a bitwise-equal parallel one.
"""
import math

from numba import prange

from ._elementwise import descent_direction, direction_sign, lerp
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite

# --- Adam --------------------------------------------------------------------

@njit(**SERIAL)
def _adam_update(i, x, g, m, v, step_size, inv_sqrt_bc2, beta1, beta2, eps,
                 weight_decay, sign):
    d = descent_direction(g[i], x[i], weight_decay, sign)
    m_i = beta1 * m[i] + (1.0 - beta1) * d
    v_i = beta2 * v[i] + (1.0 - beta2) * d * d
    m[i] = m_i
    v[i] = v_i
    x_i = x[i] - step_size * m_i / (math.sqrt(v_i) * inv_sqrt_bc2 + eps)
    x[i] = x_i
    return any_nonfinite(x_i, m_i, v_i)


@njit(**SERIAL)
def _adam_bias_corrections(t, lr, beta1, beta2):
    """(lr / (1 - beta1^t), 1 / sqrt(1 - beta2^t))."""
    tf = float(t)
    return lr / (1.0 - beta1 ** tf), 1.0 / math.sqrt(1.0 - beta2 ** tf)


@njit(**SERIAL)
def adam_step(x, g, state, t, lr, hyper):
    """Adam with bias correction, torch.optim.Adam form, in place.

    ::

        d = ±g + weight_decay * x
        m <- beta1 * m + (1 - beta1) * d
        v <- beta2 * v + (1 - beta2) * d * d
        x <- x - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m, v)``, first and second moment estimates (start at 0).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(beta1, beta2, eps, weight_decay, maximize)``:

        - beta1, beta2 in [0, 1) (defaults 0.9, 0.999);
        - eps > 0, added outside the square root (default 1e-8);
        - weight_decay >= 0 (L2 added to the gradient, not AdamW's decoupled
          decay);
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    As torch.optim.Adam, sqrt(v / bc2) is computed as sqrt(v) / sqrt(bc2),
    here as a product with 1 / sqrt(bc2): one division per element instead of
    two, a difference of an ulp or so per step. (torch writes the m update as a
    lerp, m + (1 - beta1)(d - m); this kernel keeps the paper's form.)

    Reference: Kingma & Ba (2015), "Adam: a method for stochastic
    optimization", Algorithm 1; torch.optim.Adam; optax.adam.
    """
    beta1, beta2, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    step_size, inv_sqrt_bc2 = _adam_bias_corrections(t, lr, beta1, beta2)
    m, v = state
    bad = 0
    for i in range(x.size):
        bad += _adam_update(i, x, g, m, v, step_size, inv_sqrt_bc2, beta1, beta2,
                            eps, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def adam_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adam_step`; bitwise the same result.

    It spreads one large array over numba's threads; `adam_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adam_step`.

    Returns
    -------
    bad : int
        As `adam_step`'s.
    """
    beta1, beta2, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    step_size, inv_sqrt_bc2 = _adam_bias_corrections(t, lr, beta1, beta2)
    m, v = state
    bad = 0
    for i in prange(x.size):
        bad += _adam_update(i, x, g, m, v, step_size, inv_sqrt_bc2, beta1, beta2,
                            eps, weight_decay, sign)
    return bad


# decoupled is 0.0 or 1.0. Both forms of decay are written without a branch
# (for finite x, x * 1.0 and d + 0.0 * x are exact), which keeps the loops
# vectorisable.
@njit(**SERIAL)
def _direction(g_i, x_i, weight_decay, decoupled, sign):
    """d = sign * g, plus weight_decay * x unless the decay is decoupled."""
    return sign * g_i + (weight_decay * (1.0 - decoupled)) * x_i


@njit(**SERIAL)
def _decayed(x_i, lr, weight_decay, decoupled):
    """x * (1 - lr * weight_decay) for decoupled decay, else x."""
    return x_i * (1.0 - lr * (weight_decay * decoupled))   # no inf * 0 when not decoupled


@njit(**SERIAL)
def _moments(m_i, v_i, d, beta1, beta2):
    """(lerp(m, d, 1 - beta1), beta2 v + (1 - beta2) d^2), as torch updates them."""
    return lerp(m_i, d, 1.0 - beta1), v_i * beta2 + (1.0 - beta2) * d * d


# --- Adam / AdamW with amsgrad -----------------------------------------------

@njit(**SERIAL)
def _adamw_update(i, x, g, m, v, vmax, lr, step_size, inv_bc2_sqrt, beta1, beta2, eps,
                  weight_decay, decoupled, sign, amsgrad):
    xi = _decayed(x[i], lr, weight_decay, decoupled)
    d = _direction(g[i], x[i], weight_decay, decoupled, sign)
    m_i, v_i = _moments(m[i], v[i], d, beta1, beta2)
    m[i] = m_i
    v[i] = v_i
    v_used = v_i
    if amsgrad:
        v_used = max(vmax[i], v_i)
        vmax[i] = v_used
    x_i = xi + (-step_size * m_i) / (math.sqrt(v_used) * inv_bc2_sqrt + eps)
    x[i] = x_i
    return any_nonfinite(x_i, m_i, v_i, v_used)


@njit(**SERIAL)
def _adamw_scalars(t, lr, beta1, beta2):
    tf = float(t)
    # torch divides sqrt(v) by sqrt(1 - beta2^t); one multiplication by the
    # reciprocal differs by an ulp and leaves one division per element
    return lr / (1.0 - beta1 ** tf), 1.0 / (1.0 - beta2 ** tf) ** 0.5


@njit(**SERIAL)
def adamw_step(x, g, state, t, lr, hyper):
    """Adam with every torch option: AdamW's decoupled decay and AMSGrad.

    ::

        x <- x (1 - lr wd)                      if decoupled (AdamW)
        d = ±g (+ wd x if not decoupled)
        m <- lerp(m, d, 1 - beta1) ;  v <- beta2 v + (1 - beta2) d^2
        vmax <- max(vmax, v) and use vmax for v  if amsgrad
        x <- x - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m, v, vmax)``; vmax may have length 0 when amsgrad is 0.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize)``:

        - beta1, beta2 in [0, 1);
        - eps > 0;
        - weight_decay >= 0;
        - decoupled, amsgrad, maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Equivalent: torch.optim.Adam(amsgrad=..., decoupled_weight_decay=...),
    torch.optim.AdamW.

    References: Loshchilov & Hutter (2019) "Decoupled weight decay
    regularization"; Reddi, Kale & Kumar (2018) "On the convergence of Adam and
    beyond".
    """
    beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize = hyper
    sign = direction_sign(maximize)
    step_size, inv_bc2_sqrt = _adamw_scalars(t, lr, beta1, beta2)
    m, v, vmax = state
    bad = 0
    if amsgrad != 0.0:       # two loops rather than a test per element
        for i in range(x.size):
            bad += _adamw_update(i, x, g, m, v, vmax, lr, step_size, inv_bc2_sqrt, beta1,
                                 beta2, eps, weight_decay, decoupled, sign, True)
    else:
        for i in range(x.size):
            bad += _adamw_update(i, x, g, m, v, vmax, lr, step_size, inv_bc2_sqrt, beta1,
                                 beta2, eps, weight_decay, decoupled, sign, False)
    return bad


@njit(**PARALLEL)
def adamw_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adamw_step`; bitwise the same result.

    It spreads one large array over numba's threads; `adamw_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adamw_step`.

    Returns
    -------
    bad : int
        As `adamw_step`'s.
    """
    beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize = hyper
    sign = direction_sign(maximize)
    step_size, inv_bc2_sqrt = _adamw_scalars(t, lr, beta1, beta2)
    m, v, vmax = state
    bad = 0
    if amsgrad != 0.0:
        for i in prange(x.size):
            bad += _adamw_update(i, x, g, m, v, vmax, lr, step_size, inv_bc2_sqrt, beta1,
                                 beta2, eps, weight_decay, decoupled, sign, True)
    else:
        for i in prange(x.size):
            bad += _adamw_update(i, x, g, m, v, vmax, lr, step_size, inv_bc2_sqrt, beta1,
                                 beta2, eps, weight_decay, decoupled, sign, False)
    return bad


# --- Adamax ------------------------------------------------------------------

@njit(**SERIAL)
def _adamax_update(i, x, g, m, u, clr, beta1, beta2, eps, weight_decay, sign):
    d = _direction(g[i], x[i], weight_decay, 0.0, sign)
    m_i = lerp(m[i], d, 1.0 - beta1)
    u_i = max(u[i] * beta2, abs(d) + eps)
    m[i] = m_i
    u[i] = u_i
    x_i = x[i] + (-clr * m_i) / u_i
    x[i] = x_i
    return any_nonfinite(x_i, m_i, u_i)


@njit(**SERIAL)
def adamax_step(x, g, state, t, lr, hyper):
    """Adamax (Adam with the infinity norm), torch.optim.Adamax form.

    ::

        d = ±g + wd x ;  m <- lerp(m, d, 1 - beta1) ;  u <- max(beta2 u, |d| + eps)
        x <- x - lr / (1 - beta1^t) * m / u

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m, u)`` (start at 0).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(beta1, beta2, eps, weight_decay, maximize)``:

        - beta1, beta2 in [0, 1);
        - eps > 0;
        - weight_decay >= 0;
        - maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Kingma & Ba (2015), section 7.1.
    """
    beta1, beta2, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    clr = lr / (1.0 - beta1 ** float(t))
    m, u = state
    bad = 0
    for i in range(x.size):
        bad += _adamax_update(i, x, g, m, u, clr, beta1, beta2, eps, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def adamax_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `adamax_step`; bitwise the same result.

    It spreads one large array over numba's threads; `adamax_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `adamax_step`.

    Returns
    -------
    bad : int
        As `adamax_step`'s.
    """
    beta1, beta2, eps, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    clr = lr / (1.0 - beta1 ** float(t))
    m, u = state
    bad = 0
    for i in prange(x.size):
        bad += _adamax_update(i, x, g, m, u, clr, beta1, beta2, eps, weight_decay, sign)
    return bad


# --- NAdam -------------------------------------------------------------------

@njit(**SERIAL)
def nadam_mu(t, beta1, momentum_decay):
    """mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), Dozat's schedule."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (float(t) * momentum_decay)))


@njit(**SERIAL)
def _nadam_scalars(t, lr, beta1, beta2, momentum_decay):
    """(bc2, c_grad, c_m): the step's scalars. The running product
    mu_1 ... mu_t is recomputed in torch's order, O(t) work per step."""
    mu_product = 1.0
    for k in range(1, t + 1):
        mu_product *= nadam_mu(k, beta1, momentum_decay)
    mu = nadam_mu(t, beta1, momentum_decay)
    mu_next = nadam_mu(t + 1, beta1, momentum_decay)
    bc2 = 1.0 - beta2 ** float(t)
    c_grad = -lr * (1.0 - mu) / (1.0 - mu_product)
    c_m = (-lr * mu_next) / (1.0 - mu_product * mu_next)
    return bc2, c_grad, c_m


@njit(**SERIAL)
def _nadam_update(i, x, g, m, v, lr, bc2, c_grad, c_m, beta1, beta2, eps, weight_decay,
                  decoupled, sign):
    xi = _decayed(x[i], lr, weight_decay, decoupled)
    d = _direction(g[i], x[i], weight_decay, decoupled, sign)
    m_i, v_i = _moments(m[i], v[i], d, beta1, beta2)
    m[i] = m_i
    v[i] = v_i
    denom = math.sqrt(v_i / bc2) + eps
    xi = xi + (c_grad * d) / denom
    xi = xi + (c_m * m_i) / denom
    x[i] = xi
    return any_nonfinite(xi, m_i, v_i)


@njit(**SERIAL)
def nadam_step(x, g, state, t, lr, hyper):
    """NAdam (Adam with Nesterov momentum), torch.optim.NAdam form.

    ::

        mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),  P_t = mu_1 ... mu_t
        x <- x (1 - lr wd) if decoupled ;  d = ±g (+ wd x if not decoupled)
        m <- lerp(m, d, 1 - beta1) ;  v <- beta2 v + (1 - beta2) d^2
        D = sqrt(v / (1 - beta2^t)) + eps
        x <- x - lr (1 - mu_t) / (1 - P_t) d / D - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / D

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m, v)``.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize)``:

        - beta1, beta2 in [0, 1);
        - eps > 0;
        - weight_decay >= 0;
        - momentum_decay psi >= 0 (torch default 0.004);
        - decoupled, maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Dozat (2016), "Incorporating Nesterov momentum into
    Adam".
    """
    beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize = hyper
    sign = direction_sign(maximize)
    bc2, c_grad, c_m = _nadam_scalars(t, lr, beta1, beta2, momentum_decay)
    m, v = state
    bad = 0
    for i in range(x.size):
        bad += _nadam_update(i, x, g, m, v, lr, bc2, c_grad, c_m, beta1, beta2, eps, weight_decay,
                             decoupled, sign)
    return bad


@njit(**PARALLEL)
def nadam_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `nadam_step`; bitwise the same result.

    It spreads one large array over numba's threads; `nadam_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `nadam_step`.

    Returns
    -------
    bad : int
        As `nadam_step`'s.
    """
    beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize = hyper
    sign = direction_sign(maximize)
    bc2, c_grad, c_m = _nadam_scalars(t, lr, beta1, beta2, momentum_decay)
    m, v = state
    bad = 0
    for i in prange(x.size):
        bad += _nadam_update(i, x, g, m, v, lr, bc2, c_grad, c_m, beta1, beta2, eps, weight_decay,
                             decoupled, sign)
    return bad


# --- RAdam -------------------------------------------------------------------

@njit(**SERIAL)
def _radam_scalars(t, beta1, beta2):
    """(bc1, bc2, rect): rect = 0 while the variance is intractable (rho_t <= 5)."""
    tf = float(t)
    bc1 = 1.0 - beta1 ** tf
    bc2 = 1.0 - beta2 ** tf
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * tf * (beta2 ** tf) / bc2
    if rho_t > 5.0:
        rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5
    else:
        rect = 0.0
    return bc1, bc2, rect


@njit(**SERIAL)
def _radam_update(i, x, g, m, v, lr, bc1, bc2, rect, beta1, beta2, eps, weight_decay,
                  decoupled, sign):
    xi = _decayed(x[i], lr, weight_decay, decoupled)
    d = _direction(g[i], x[i], weight_decay, decoupled, sign)
    m_i, v_i = _moments(m[i], v[i], d, beta1, beta2)
    m[i] = m_i
    v[i] = v_i
    m_hat = m_i / bc1
    if rect > 0.0:
        # one division at the end: no inf * 0 when eps is tiny and v = m = 0
        xi = xi - (m_hat * lr * rect * bc2 ** 0.5) / (math.sqrt(v_i) + eps)
    else:
        xi = xi - m_hat * lr
    x[i] = xi
    return any_nonfinite(xi, m_i, v_i)


@njit(**SERIAL)
def radam_step(x, g, state, t, lr, hyper):
    """RAdam (rectified Adam), torch.optim.RAdam form.

    ::

        x <- x (1 - lr wd) if decoupled ;  d = ±g (+ wd x if not decoupled)
        m <- lerp(m, d, 1 - beta1) ;  v <- beta2 v + (1 - beta2) d^2
        rho_inf = 2 / (1 - beta2) - 1 ;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5: x <- x - m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
            with r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        else:        x <- x - m / (1 - beta1^t) * lr

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(m, v)``.
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate, > 0.
    hyper : tuple of float
        ``(beta1, beta2, eps, weight_decay, decoupled, maximize)``:

        - beta1, beta2 in [0, 1);
        - eps > 0;
        - weight_decay >= 0;
        - decoupled, maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or the
        state (0 for a clean step; ``gdfast.kernels.nonfinite``).

    Notes
    -----
    Reference: Liu et al. (2020), "On the variance of the adaptive
    learning rate and beyond".
    """
    beta1, beta2, eps, weight_decay, decoupled, maximize = hyper
    sign = direction_sign(maximize)
    bc1, bc2, rect = _radam_scalars(t, beta1, beta2)
    m, v = state
    bad = 0
    for i in range(x.size):
        bad += _radam_update(i, x, g, m, v, lr, bc1, bc2, rect, beta1, beta2, eps, weight_decay,
                             decoupled, sign)
    return bad


@njit(**PARALLEL)
def radam_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `radam_step`; bitwise the same result.

    It spreads one large array over numba's threads; `radam_step` is the one to call
    inside your own ``prange`` loop.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `radam_step`.

    Returns
    -------
    bad : int
        As `radam_step`'s.
    """
    beta1, beta2, eps, weight_decay, decoupled, maximize = hyper
    sign = direction_sign(maximize)
    bc1, bc2, rect = _radam_scalars(t, beta1, beta2)
    m, v = state
    bad = 0
    for i in prange(x.size):
        bad += _radam_update(i, x, g, m, v, lr, bc1, bc2, rect, beta1, beta2, eps, weight_decay,
                             decoupled, sign)
    return bad
