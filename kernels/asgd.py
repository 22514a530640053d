"""Averaged stochastic gradient descent: torch.optim.ASGD.

Same calling convention as every gdfast kernel (see kernels/__init__.py). The
rule is element-wise given t and lr: the step size eta_t and the averaging
weight mu_t, which torch keeps in its state as scalars, are functions of t,
lr and the hyperparameters (`asgd_factors`).
"""
from numba import prange

from ._elementwise import descent_direction, direction_sign
from .jit import PARALLEL, SERIAL, njit
from .nonfinite import any_nonfinite


@njit(**SERIAL)
def asgd_factors(t, lr, lambd, alpha, t0):
    """(eta_t, mu_t) of step t >= 1, as torch computes them at the end of step t - 1.

    ::

        eta_1 = lr,  mu_1 = 1
        eta_t = lr / (1 + lambd lr (t - 1))^alpha,  mu_t = 1 / max(1, t - 1 - t0)   (t >= 2)
    """
    if t <= 1:
        return lr, 1.0
    s = float(t - 1)
    return lr / ((1.0 + lambd * lr * s) ** alpha), 1.0 / max(1.0, s - t0)


@njit(**SERIAL)
def _asgd_update(i, x, g, ax, eta, mu, decay, weight_decay, sign):
    d = descent_direction(g[i], x[i], weight_decay, sign)
    x_i = x[i] * decay
    x_i = x_i + (-eta) * d
    x[i] = x_i
    if mu != 1.0:
        a_i = ax[i] + (x_i - ax[i]) * mu
    else:
        a_i = x_i
    ax[i] = a_i
    return any_nonfinite(x_i, a_i)


@njit(**SERIAL)
def asgd_step(x, g, state, t, lr, hyper):
    """Averaged SGD (Polyak & Juditsky), torch.optim.ASGD's single-tensor form.

    ::

        (eta, mu) = asgd_factors(t, lr, lambd, alpha, t0)
        d = ±g + weight_decay x
        x <- x (1 - lambd eta) ;  x <- x - eta d
        ax <- x if mu == 1 else ax + mu (x - ax)

    ``ax`` is the running average of the iterates once t - 1 > t0 + 1 (before,
    mu = 1 and ax is x itself): the averaged solution, which torch keeps in its
    state and never copies into the parameters either.

    Parameters
    ----------
    x : float64[::1], shape (n,)
        The parameters, updated in place.
    g : float64[::1], shape (n,)
        The gradient at x, only read.
    state : tuple of float64[::1]
        ``(ax,)``, shape (n,) (starts at 0).
    t : int
        The step number, 1 on the first call.
    lr : float
        This step's learning rate (torch: 1e-2). torch computes eta_t at the end
        of step t - 1 from that step's lr; with a constant lr the two agree.
    hyper : tuple of float
        ``(lambd, alpha, t0, weight_decay, maximize)``: the decay term (torch:
        1e-4), the power of eta's decay (0.75), the step after which averaging
        starts (1e6), the L2 weight (0), maximize in {0.0, 1.0}.

    Returns
    -------
    bad : int
        The number of entries where the step wrote NaN or inf into x or ax.
    """
    lambd, alpha, t0, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    eta, mu = asgd_factors(t, lr, lambd, alpha, t0)
    decay = 1.0 - lambd * eta
    ax = state[0]
    bad = 0
    for i in range(x.size):
        bad += _asgd_update(i, x, g, ax, eta, mu, decay, weight_decay, sign)
    return bad


@njit(**PARALLEL)
def asgd_step_parallel(x, g, state, t, lr, hyper):
    """Parallel variant of `asgd_step`; bitwise the same result.

    Parameters
    ----------
    x, g, state, t, lr, hyper
        As in `asgd_step`.

    Returns
    -------
    bad : int
        As `asgd_step`'s.
    """
    lambd, alpha, t0, weight_decay, maximize = hyper
    sign = direction_sign(maximize)
    eta, mu = asgd_factors(t, lr, lambd, alpha, t0)
    decay = 1.0 - lambd * eta
    ax = state[0]
    bad = 0
    for i in prange(x.size):
        bad += _asgd_update(i, x, g, ax, eta, mu, decay, weight_decay, sign)
    return bad
