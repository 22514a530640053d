"""The update rules and schedules in plain Python: the oracle for the tests.

Written straight from the equations over lists of floats, with no numpy and
no tricks, so that each can be checked against its paper by eye. Each rule
has the same calling convention as its kernel in gdfast.kernels::

    rule_step(x, g, state, t, lr, hyper) -> None

but x, g and the state entries are Python lists of floats (updated in
place), and hyper is unpacked by name on the first line. This module is slow
on purpose; the benchmarks use it as the baseline that JIT kernels beat.
"""
import itertools
import math


def _direction(g_i, x_i, weight_decay, maximize):
    """The gradient the rule follows: -g when maximising, plus L2 decay."""
    if maximize:
        g_i = -g_i
    return g_i + weight_decay * x_i


def gd_step(x, g, state, t, lr, hyper):
    """x <- x - lr * d."""
    weight_decay, maximize = hyper
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        x[i] = x[i] - lr * d


def momentum_step(x, g, state, t, lr, hyper):
    """b <- d (first step) or momentum * b + (1 - dampening) * d; x <- x - lr * b."""
    momentum, dampening, weight_decay, maximize = hyper
    (b,) = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        if t == 1:
            b[i] = d
        else:
            b[i] = momentum * b[i] + (1 - dampening) * d
        x[i] = x[i] - lr * b[i]


def nesterov_step(x, g, state, t, lr, hyper):
    """b <- d (first step) or momentum * b + d; x <- x - lr * (d + momentum * b)."""
    momentum, weight_decay, maximize = hyper
    (b,) = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        if t == 1:
            b[i] = d
        else:
            b[i] = momentum * b[i] + d
        x[i] = x[i] - lr * (d + momentum * b[i])


def nesterov_lookahead_step(x, v, grad, lr, momentum):
    """The classic look-ahead form of Nesterov's method, for one step.

    v <- momentum * v - lr * grad(x + momentum * v) ;  x <- x + v

    ``grad`` maps a list of floats to a list of floats. Used to show that
    the kernels' form (gradient at the current iterate) is the same method.
    """
    lookahead = [x[i] + momentum * v[i] for i in range(len(x))]
    g = grad(lookahead)
    for i in range(len(x)):
        v[i] = momentum * v[i] - lr * g[i]
        x[i] = x[i] + v[i]


def adagrad_step(x, g, state, t, lr, hyper):
    """s <- s + d^2 ; x <- x - lr / (1 + (t-1) lr_decay) * d / (sqrt(s) + eps)."""
    lr_decay, eps, weight_decay, maximize = hyper
    (s,) = state
    lr_t = lr / (1 + (t - 1) * lr_decay)
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        s[i] = s[i] + d * d
        x[i] = x[i] - lr_t * d / (math.sqrt(s[i]) + eps)


def rmsprop_step(x, g, state, t, lr, hyper):
    """a <- alpha * a + (1 - alpha) * d^2 ; x <- x - lr * d / (sqrt(a) + eps)."""
    alpha, eps, weight_decay, maximize = hyper
    (a,) = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        a[i] = alpha * a[i] + (1 - alpha) * d * d
        x[i] = x[i] - lr * d / (math.sqrt(a[i]) + eps)


def adam_step(x, g, state, t, lr, hyper):
    """Kingma & Ba (2015), Algorithm 1, with eps outside the square root.

    m <- beta1 m + (1 - beta1) d ;  v <- beta2 v + (1 - beta2) d^2
    m_hat = m / (1 - beta1^t) ;  v_hat = v / (1 - beta2^t)
    x <- x - lr * m_hat / (sqrt(v_hat) + eps)
    """
    beta1, beta2, eps, weight_decay, maximize = hyper
    m, v = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        m[i] = beta1 * m[i] + (1 - beta1) * d
        v[i] = beta2 * v[i] + (1 - beta2) * d * d
        m_hat = m[i] / (1 - beta1 ** t)
        v_hat = v[i] / (1 - beta2 ** t)
        x[i] = x[i] - lr * m_hat / (math.sqrt(v_hat) + eps)


# --- learning-rate schedules: lr_t = schedule(t, lr0, params), s = t - 1 ----

def constant(t, lr0, params):
    return lr0


def inverse_time_decay(t, lr0, params):
    (k,) = params
    return lr0 / (1 + (t - 1) / k)


def exponential_decay(t, lr0, params):
    (gamma,) = params
    return lr0 * gamma ** (t - 1)


def step_decay(t, lr0, params):
    step_size, gamma = params
    return lr0 * gamma ** ((t - 1) // step_size)


def cosine_decay(t, lr0, params):
    T, lr_min = params
    s = min(t - 1, T)
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * s / T)) / 2


def warmup_cosine(t, lr0, params):
    W, T, lr_init, lr_end = params
    s = t - 1
    if s < W:
        return lr_init + (lr0 - lr_init) * s / W
    s = min(s - W, T - W)
    return lr_end + (lr0 - lr_end) * (1 + math.cos(math.pi * s / (T - W))) / 2


# --- smoothed total-variation denoising --------------------------------------
# Images are flat lists of floats in row-major order with their shape, (H, W)
# or (D, H, W). d_a(p) = u[p + e_a] - u[p] along each axis a, and 0 where
# p + e_a falls outside (Neumann boundary).

def _pixels(shape):
    """(flat index, [forward-neighbour flat index or None per axis]) per pixel."""
    strides = [1] * len(shape)
    for a in range(len(shape) - 2, -1, -1):
        strides[a] = strides[a + 1] * shape[a + 1]
    index = 0
    for coords in itertools.product(*[range(n) for n in shape]):
        yield index, [index + strides[a] if coords[a] + 1 < shape[a] else None
                      for a in range(len(shape))]
        index += 1


def _differences(u, p, neighbours):
    return [u[q] - u[p] if q is not None else 0.0 for q in neighbours]


def tv_energy(u, f, shape, lam, eps, anisotropic=False):
    """E(u) = 1/2 sum (u - f)^2 + lam * sum_p phi_p.

    isotropic phi_p = sqrt(sum_a d_a(p)^2 + eps^2);
    anisotropic phi_p = sum_a sqrt(d_a(p)^2 + eps^2).
    """
    total = 0.0
    for p, neighbours in _pixels(shape):
        d = _differences(u, p, neighbours)
        if anisotropic:
            phi = sum(math.sqrt(da * da + eps * eps) for da in d)
        else:
            phi = math.sqrt(sum(da * da for da in d) + eps * eps)
        total += 0.5 * (u[p] - f[p]) ** 2 + lam * phi
    return total


def tv_gradient(u, f, shape, lam, eps, anisotropic=False):
    """dE/du as a flat list, by differentiating every pixel's term.

    The term of pixel p depends on u[p] and on its forward neighbours q_a:
    d phi_p / d u[q_a] = d_a / s_a and d phi_p / d u[p] = -sum_a d_a / s_a,
    with s_a = phi_p (isotropic) or sqrt(d_a^2 + eps^2) (anisotropic).
    """
    g = [u[p] - f[p] for p in range(len(u))]
    for p, neighbours in _pixels(shape):
        d = _differences(u, p, neighbours)
        if anisotropic:
            s = [math.sqrt(da * da + eps * eps) for da in d]
        else:
            s = [math.sqrt(sum(da * da for da in d) + eps * eps)] * len(d)
        for q, da, sa in zip(neighbours, d, s):
            if q is not None:
                g[q] += lam * da / sa
                g[p] -= lam * da / sa
    return g


def tv_denoise_iteration(u, f, shape, lam, eps, lr, anisotropic=False):
    """One gradient-descent iteration u <- u - lr * dE/du, in place."""
    g = tv_gradient(u, f, shape, lam, eps, anisotropic)
    for p in range(len(u)):
        u[p] = u[p] - lr * g[p]
