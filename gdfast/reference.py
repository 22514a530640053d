"""The update rules and schedules in plain Python: the oracle for the tests.

Written straight from the equations over lists of floats, with no numpy and
no tricks, so that each can be checked against its paper by eye. Each rule
has the same calling convention as its kernel in gdfast.kernels::

    rule_step(x, g, state, t, lr, hyper) -> None

but x, g and the state entries are Python lists of floats (updated in
place), hyper is unpacked by name on the first line, and nothing is returned
(a kernel returns its count of entries made NaN or inf). This module is slow
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


def lerp(a, b, w):
    """a + w (b - a), written as torch.lerp writes it (from b when |w| >= 0.5);
    the moment updates m <- beta m + (1 - beta) d of torch are this lerp."""
    if abs(w) < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (1 - w)


def _moments(m, v, d, beta1, beta2):
    """m <- beta1 m + (1 - beta1) d (as torch's lerp), v <- beta2 v + (1 - beta2) d^2."""
    return lerp(m, d, 1 - beta1), beta2 * v + (1 - beta2) * d * d


def _decoupled_direction(g_i, x_i, weight_decay, decoupled, maximize):
    """d for the rules with optional decoupled decay (which then leaves d alone)."""
    if maximize:
        g_i = -g_i
    if decoupled:
        return g_i
    return g_i + weight_decay * x_i


def rmsprop_full_step(x, g, state, t, lr, hyper):
    """RMSProp with torch's options: centred (subtract the mean gradient's
    square) and momentum (a buffer of d / D)."""
    alpha, eps, weight_decay, momentum, centered, maximize = hyper
    a, gbar, b = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        a[i] = alpha * a[i] + (1 - alpha) * d * d
        if centered:
            gbar[i] = lerp(gbar[i], d, 1 - alpha)
            D = math.sqrt(max(a[i] - gbar[i] * gbar[i], 0.0)) + eps   # var >= 0 (rounding)
        else:
            D = math.sqrt(a[i]) + eps
        if momentum > 0:
            b[i] = momentum * b[i] + d / D
            x[i] = x[i] - lr * b[i]
        else:
            x[i] = x[i] - lr * d / D


def adadelta_step(x, g, state, t, lr, hyper):
    """Zeiler (2012): a <- rho a + (1-rho) d^2 ; delta = sqrt(u + eps)/sqrt(a + eps) d ;
    u <- rho u + (1-rho) delta^2 ; x <- x - lr delta."""
    rho, eps, weight_decay, maximize = hyper
    a, u = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        a[i] = rho * a[i] + (1 - rho) * d * d
        delta = math.sqrt(u[i] + eps) / math.sqrt(a[i] + eps) * d
        u[i] = rho * u[i] + (1 - rho) * delta * delta
        x[i] = x[i] - lr * delta


def adamw_step(x, g, state, t, lr, hyper):
    """Adam with decoupled decay (AdamW) and AMSGrad as options."""
    beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize = hyper
    m, v, vmax = state
    for i in range(len(x)):
        d = _decoupled_direction(g[i], x[i], weight_decay, decoupled, maximize)
        if decoupled:
            x[i] = x[i] * (1 - lr * weight_decay)
        m[i], v[i] = _moments(m[i], v[i], d, beta1, beta2)
        v_used = v[i]
        if amsgrad:
            vmax[i] = max(vmax[i], v[i])
            v_used = vmax[i]
        x[i] = x[i] - lr / (1 - beta1 ** t) * m[i] / (math.sqrt(v_used) / math.sqrt(1 - beta2 ** t)
                                                      + eps)


def adamax_step(x, g, state, t, lr, hyper):
    """Kingma & Ba (2015), Adamax: u <- max(beta2 u, |d| + eps) ;
    x <- x - lr / (1 - beta1^t) m / u."""
    beta1, beta2, eps, weight_decay, maximize = hyper
    m, u = state
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        m[i] = lerp(m[i], d, 1 - beta1)
        u[i] = max(beta2 * u[i], abs(d) + eps)
        x[i] = x[i] - lr / (1 - beta1 ** t) * m[i] / u[i]


def nadam_step(x, g, state, t, lr, hyper):
    """Dozat (2016), NAdam with torch's momentum schedule
    mu_k = beta1 (1 - 0.5 * 0.96^(k psi)) and the product P_t = mu_1 ... mu_t."""
    beta1, beta2, eps, weight_decay, psi, decoupled, maximize = hyper
    m, v = state
    mu = [beta1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in range(t + 2)]
    P = 1.0
    for k in range(1, t + 1):
        P = P * mu[k]
    for i in range(len(x)):
        d = _decoupled_direction(g[i], x[i], weight_decay, decoupled, maximize)
        if decoupled:
            x[i] = x[i] * (1 - lr * weight_decay)
        m[i], v[i] = _moments(m[i], v[i], d, beta1, beta2)
        D = math.sqrt(v[i] / (1 - beta2 ** t)) + eps
        x[i] = x[i] - lr * (1 - mu[t]) / (1 - P) * d / D
        x[i] = x[i] - lr * mu[t + 1] / (1 - P * mu[t + 1]) * m[i] / D


def radam_step(x, g, state, t, lr, hyper):
    """Liu et al. (2020), RAdam: rectified adaptive step once rho_t > 5."""
    beta1, beta2, eps, weight_decay, decoupled, maximize = hyper
    m, v = state
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
    for i in range(len(x)):
        d = _decoupled_direction(g[i], x[i], weight_decay, decoupled, maximize)
        if decoupled:
            x[i] = x[i] * (1 - lr * weight_decay)
        m[i], v[i] = _moments(m[i], v[i], d, beta1, beta2)
        m_hat = m[i] / (1 - beta1 ** t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            x[i] = x[i] - m_hat * lr * math.sqrt(1 - beta2 ** t) / (math.sqrt(v[i]) + eps) * r
        else:
            x[i] = x[i] - m_hat * lr


def _sign_of(v):
    return (v > 0) - (v < 0)


def rprop_step(x, g, state, t, lr, hyper):
    """Riedmiller & Braun (1993), Rprop as torch: grow the step where the
    gradient keeps its sign, shrink it (and skip the move) where it flips."""
    eta_minus, eta_plus, step_min, step_max, maximize = hyper
    prev, step = state
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        s = _sign_of(d * prev[i])
        factor = eta_plus if s > 0 else eta_minus if s < 0 else 1.0
        step[i] = min(max(step[i] * factor, step_min), step_max)
        if factor == eta_minus:
            d = 0.0
        x[i] = x[i] - _sign_of(d) * step[i]
        prev[i] = d


def lion_step(x, g, state, t, lr, hyper):
    """optax.lion: u = sign((1-b1) d + b1 m) ; m <- (1-b2) d + b2 m ;
    x <- x - lr (u + weight_decay x)."""
    b1, b2, weight_decay, maximize = hyper
    (m,) = state
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        u = _sign_of((1 - b1) * d + b1 * m[i])
        m[i] = (1 - b2) * d + b2 * m[i]
        x[i] = x[i] - lr * (u + weight_decay * x[i])



def adabelief_step(x, g, state, t, lr, hyper):
    """optax.adabelief (Zhuang et al., 2020): m <- (1-b1) d + b1 m ;
    s <- (1-b2) (d-m)^2 + b2 s + eps_root ; m_hat = m / (1-b1^t) (nesterov:
    b1 m / (1-b1^(t+1)) + (1-b1) d / (1-b1^t)) ;
    x <- x - lr (m_hat / (sqrt(s / (1-b2^t)) + eps) + weight_decay x)."""
    b1, b2, eps, eps_root, weight_decay, nesterov, maximize = hyper
    m, s = state
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        m[i] = (1 - b1) * d + b1 * m[i]
        s[i] = (1 - b2) * (d - m[i]) ** 2 + b2 * s[i] + eps_root
        if nesterov:
            m_hat = b1 * m[i] / (1 - b1 ** (t + 1)) + (1 - b1) * d / (1 - b1 ** t)
        else:
            m_hat = m[i] / (1 - b1 ** t)
        u = m_hat / (math.sqrt(s[i] / (1 - b2 ** t)) + eps)
        x[i] = x[i] - lr * (u + weight_decay * x[i])


def yogi_step(x, g, state, t, lr, hyper):
    """optax.yogi (Zaheer et al., 2018): m <- (1-b1) d + b1 m ;
    v <- v - (1-b2) sign(v - d^2) d^2 ;
    x <- x - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t) + eps_root) + eps).
    m and v start at optax's initial_accumulator_value (1e-6)."""
    b1, b2, eps, eps_root, maximize = hyper
    m, v = state
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        m[i] = (1 - b1) * d + b1 * m[i]
        v[i] = v[i] - (1 - b2) * _sign_of(v[i] - d * d) * d * d
        u = m[i] / (1 - b1 ** t) / (math.sqrt(v[i] / (1 - b2 ** t) + eps_root) + eps)
        x[i] = x[i] - lr * u

def adan_step(x, g, state, t, lr, hyper):
    """optax.adan (Xie et al., 2022): e = d - d_prev (0 on step 1) ;
    m <- (1-b1) d + b1 m ; v <- (1-b2) e + b2 v ; n <- (1-b3) (d + (1-b2) e)^2 + b3 n ;
    x <- x - lr ((m/(1-b1^t) + (1-b2) v/(1-b2^t)) / (sqrt(n/(1-b3^t) + eps_root) + eps)
    + weight_decay x) ; d_prev <- d."""
    b1, b2, b3, eps, eps_root, weight_decay, maximize = hyper
    m, v, n, prev = state
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        e = 0.0 if t == 1 else d - prev[i]
        m[i] = (1 - b1) * d + b1 * m[i]
        v[i] = (1 - b2) * e + b2 * v[i]
        n[i] = (1 - b3) * (d + (1 - b2) * e) ** 2 + b3 * n[i]
        prev[i] = d
        u = (m[i] / (1 - b1 ** t) + (1 - b2) * (v[i] / (1 - b2 ** t))) / (
            math.sqrt(n[i] / (1 - b3 ** t) + eps_root) + eps)
        x[i] = x[i] - lr * (u + weight_decay * x[i])


def _norm(a):
    return math.sqrt(math.fsum(v * v for v in a))


def _trust(x_norm, u_norm, coefficient, eps):
    """optax.scale_by_trust_ratio: coefficient ||x|| / (||u|| + eps), 1 if a norm is 0."""
    return 1.0 if x_norm == 0 or u_norm == 0 else coefficient * x_norm / (u_norm + eps)


def lamb_step(x, g, state, t, lr, hyper):
    """optax.lamb (You et al., 2020): Adam's m and v ; u = m_hat / (sqrt(v_hat +
    eps_root) + eps) + weight_decay x ; x <- x - lr (||x|| / ||u||) u (1 when a
    norm is 0). state[2] is the kernel's scratch, unused here."""
    b1, b2, eps, eps_root, weight_decay, maximize = hyper
    m, v = state[0], state[1]
    u = []
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        m[i] = (1 - b1) * d + b1 * m[i]
        v[i] = (1 - b2) * d * d + b2 * v[i]
        u.append(m[i] / (1 - b1 ** t) / (math.sqrt(v[i] / (1 - b2 ** t) + eps_root) + eps)
                 + weight_decay * x[i])
    r = _trust(_norm(x), _norm(u), 1.0, 0.0)
    for i in range(len(x)):
        x[i] = x[i] - lr * r * u[i]


def lars_step(x, g, state, t, lr, hyper):
    """optax.lars (You et al., 2017): u = d + weight_decay x ; r =
    trust_coefficient ||x|| / (||u|| + eps) (1 when a norm is 0) ; b <- -lr r u +
    momentum b ; x <- x + b (nesterov: x - lr r u + momentum b). state[1] is
    the kernel's scratch, unused here."""
    weight_decay, trust_coefficient, eps, momentum, nesterov, maximize = hyper
    trace = state[0]
    u = [(-g[i] if maximize else g[i]) + weight_decay * x[i] for i in range(len(x))]
    r = _trust(_norm(x), _norm(u), trust_coefficient, eps)
    for i in range(len(x)):
        w = -lr * r * u[i]
        trace[i] = w + momentum * trace[i]
        x[i] = x[i] + (w + momentum * trace[i] if nesterov else trace[i])


def novograd_step(x, g, state, t, lr, hyper):
    """optax.novograd (Ginsburg et al., 2019): nu <- ||d||^2 on step 1, then
    (1-b2) ||d||^2 + b2 nu (one number, nu[0]) ; u = d / (sqrt(nu + eps_root) +
    eps) + weight_decay x ; m <- u on step 1, then b1 m + u ; x <- x - lr m.
    state[2] is the kernel's scratch, unused here."""
    b1, b2, eps, eps_root, weight_decay, maximize = hyper
    m, nu = state[0], state[1]
    n2 = _norm(g) ** 2
    nu[0] = n2 if t == 1 else (1 - b2) * n2 + b2 * nu[0]
    denom = math.sqrt(nu[0] + eps_root) + eps
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        u = d / denom + weight_decay * x[i]
        m[i] = u if t == 1 else b1 * m[i] + u
        x[i] = x[i] - lr * m[i]


def asgd_step(x, g, state, t, lr, hyper):
    """Polyak & Juditsky's averaged SGD as torch.optim.ASGD: eta_t = lr / (1 +
    lambd lr (t-1))^alpha, mu_t = 1 / max(1, t - 1 - t0) (eta_1 = lr, mu_1 = 1);
    x <- x (1 - lambd eta) - eta d ; ax <- x if mu == 1 else ax + mu (x - ax)."""
    lambd, alpha, t0, weight_decay, maximize = hyper
    (ax,) = state
    if t == 1:
        eta, mu = lr, 1.0
    else:
        eta = lr / (1 + lambd * lr * (t - 1)) ** alpha
        mu = 1 / max(1, t - 1 - t0)
    for i in range(len(x)):
        d = _direction(g[i], x[i], weight_decay, maximize)
        x[i] = x[i] * (1 - lambd * eta) - eta * d
        ax[i] = x[i] if mu == 1 else ax[i] + mu * (x[i] - ax[i])


def adafactor_step(x, g, state, t, lr, hyper):
    """Shazeer & Stern's Adafactor as torch.optim.Adafactor. For a (B, R, C)
    parameter (batch > 0) the second moment is the outer product of a row and a
    column factor over the mean row factor; for a vector (batch 0) it is a full
    average v. With w = t^beta2_decay:
    row <- lerp(row, mean_c d^2, w), col <- lerp(col, mean_r d^2, w),
    V = row col / max(mean_r row, eps1);  u = d / sqrt(max(V, eps1^2));
    alpha = max(eps2, rms(x)) min(lr, 1/sqrt(t));
    x <- x (1 - lr weight_decay) - alpha / max(1, rms(u) / d_clip) u.
    state: (row, col, v, work), lists (work unused here)."""
    beta2_decay, eps1, eps2, d_clip, weight_decay, maximize, batch, rows, cols = hyper
    row, col, v = state[0], state[1], state[2]
    n = len(x)
    if n == 0:
        return
    w = t ** beta2_decay
    dd = [-gi if maximize else gi for gi in g]
    rms_x = math.sqrt(sum(xi * xi for xi in x) / n)
    alpha = max(eps2, rms_x) * min(lr, 1 / math.sqrt(t))
    if batch == 0:
        for i in range(n):
            v[i] = lerp(v[i], dd[i] * dd[i], w)
        V = list(v)
    else:
        B, R, C = int(batch), int(rows), int(cols)
        for b in range(B):
            for r in range(R):
                q = b * R + r
                row[q] = lerp(row[q], sum(dd[q * C + c] ** 2 for c in range(C)) / C, w)
            for c in range(C):
                p = b * C + c
                col[p] = lerp(col[p], sum(dd[(b * R + r) * C + c] ** 2 for r in range(R)) / R,
                              w)
        V = [0.0] * n
        for b in range(B):
            mean_row = max(sum(row[b * R:(b + 1) * R]) / R, eps1)
            for r in range(R):
                for c in range(C):
                    V[(b * R + r) * C + c] = row[b * R + r] * col[b * C + c] / mean_row
    u = [dd[i] / math.sqrt(max(V[i], eps1 * eps1)) for i in range(n)]
    rms_u = math.sqrt(sum(ui * ui for ui in u) / n)
    scale = alpha / max(1.0, rms_u / d_clip)
    for i in range(n):
        x[i] = x[i] * (1 - lr * weight_decay) - scale * u[i]


def _matmul(a, b):
    """The product of two matrices given as lists of rows."""
    return [[sum(a[i][p] * b[p][j] for p in range(len(b))) for j in range(len(b[0]))]
            for i in range(len(a))]


def newton_schulz(u, a, b, c, eps, steps):
    """Muon's quintic Newton-Schulz iteration on the matrix u (a list of rows):
    X = u / max(|u|_F, eps) (transposed if u has more rows than columns), then
    ``steps`` times G = X X^T, X = a X + (b G + c G G) X; transposed back."""
    tall = len(u) > len(u[0])
    X = [list(r) for r in zip(*u)] if tall else [list(r) for r in u]
    norm = max(math.sqrt(sum(v * v for r in X for v in r)), eps)
    X = [[v / norm for v in r] for r in X]
    for _ in range(steps):
        XT = [list(r) for r in zip(*X)]
        G = _matmul(X, XT)
        GG = _matmul(G, G)
        H = [[b * G[i][j] + c * GG[i][j] for j in range(len(G))] for i in range(len(G))]
        HX = _matmul(H, X)
        X = [[a * X[i][j] + HX[i][j] for j in range(len(X[0]))] for i in range(len(X))]
    return [list(r) for r in zip(*X)] if tall else X


def muon_step(x, g, state, t, lr, hyper):
    """Muon (Jordan et al., 2024) as torch.optim.Muon, for the (rows, n / rows)
    matrix x: buf <- lerp(buf, g, 1 - momentum); U = lerp(g, buf, momentum)
    (nesterov) or buf; x <- x (1 - lr weight_decay) - lr lr_ratio
    newton_schulz(U). state: (buf, work), lists (work unused here)."""
    momentum, nesterov, weight_decay, a, b, c, eps, ns_steps, rows, lr_ratio = hyper
    buf = state[0]
    n = len(x)
    if n == 0:
        return
    R = int(rows)
    C = n // R
    for i in range(n):
        buf[i] = lerp(buf[i], g[i], 1 - momentum)
    U = [lerp(g[i], buf[i], momentum) if nesterov else buf[i] for i in range(n)]
    ortho = newton_schulz([U[r * C:(r + 1) * C] for r in range(R)], a, b, c, eps, int(ns_steps))
    for i in range(n):
        x[i] = x[i] * (1 - lr * weight_decay) - lr * lr_ratio * ortho[i // C][i % C]


def sparse_adam_step(x, indices, values, state, t, lr, hyper):
    """torch.optim.SparseAdam: Adam on the rows ``indices`` of the flat (rows, row)
    parameters x only, values the gradient's rows (flat); other rows stay."""
    beta1, beta2, eps, maximize = hyper
    m, v = state
    k = len(indices)
    if k == 0:
        return
    row = len(values) // k
    step = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for j, r in enumerate(indices):
        for c in range(row):
            i = r * row + c
            d = -values[j * row + c] if maximize else values[j * row + c]
            m[i] = m[i] + (1 - beta1) * (d - m[i])
            v[i] = v[i] + (1 - beta2) * (d * d - v[i])
            x[i] = x[i] - step * m[i] / (math.sqrt(v[i]) + eps)


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


# --- optax's schedule-free SGD and AdamW, Polyak's step size ----------------

def _float32(v):
    """v rounded to float32 (and back to a Python float)."""
    import struct
    return struct.unpack("f", struct.pack("f", v))[0]


def _schedule_free_rate(count, lr, warmup_steps):
    """lr, or optax.warmup_constant_schedule(0, lr, W)(count) in float32, as
    jax evaluates it: lr (1 - (1 - c (1/W))), c = clip(count, 0, W)."""
    if warmup_steps <= 0:
        return lr
    c = min(max(float(count), 0.0), warmup_steps)
    frac = _float32(1.0 - c * _float32(1.0 / warmup_steps))
    peak = _float32(lr)
    return _float32(peak - peak * frac)


def _schedule_free_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr):
    """c_t = w_t / (w_1 + ... + w_t), w_t = max(lr_1..lr_t)^weight_lr_power;
    the one-entry lists weight_sum and max_lr updated."""
    max_lr[0] = max(max_lr[0], _schedule_free_rate(t, lr, warmup_steps))
    w = max_lr[0] ** weight_lr_power
    weight_sum[0] = weight_sum[0] + w
    return 0.0 if weight_sum[0] == 0 else w / weight_sum[0]


def _schedule_free_average(y, z, z_new, ck, b1):
    """x = (y - (1-b1) z) / b1 ; x <- (1-c) x + c z_new ; y <- b1 x + (1-b1) z_new."""
    for i in range(len(y)):
        x = (y[i] - (1 - b1) * z[i]) / b1
        x = (1 - ck) * x + ck * z_new[i]
        y[i] = b1 * x + (1 - b1) * z_new[i]
        z[i] = z_new[i]


def schedule_free_sgd_step(x, g, state, t, lr, hyper):
    """optax.contrib.schedule_free_sgd (Defazio et al., 2024); x is the point y
    where g is taken: z <- z - lr_z (d + weight_decay y), then the average x
    and y (see kernels/optax_schedule_free.py); state (z, weight_sum, max_lr),
    the last two one entry each."""
    b1, weight_decay, weight_lr_power, warmup_steps, maximize = hyper
    z, weight_sum, max_lr = state
    ck = _schedule_free_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr)
    lr_z = _schedule_free_rate(t - 1, lr, warmup_steps)
    z_new = [z[i] - lr_z * ((-g[i] if maximize else g[i]) + weight_decay * x[i])
             for i in range(len(x))]
    _schedule_free_average(x, z, z_new, ck, b1)


def schedule_free_adamw_step(x, g, state, t, lr, hyper):
    """optax.contrib.schedule_free_adamw: nu <- (1-b2) d^2 + b2 nu ;
    z <- z - lr_z (d / (sqrt(nu / (1-b2^t)) + eps) + weight_decay y), then as
    schedule_free_sgd_step; state (z, nu, weight_sum, max_lr)."""
    b1, b2, eps, weight_decay, weight_lr_power, warmup_steps, maximize = hyper
    z, nu, weight_sum, max_lr = state
    ck = _schedule_free_weight(t, lr, warmup_steps, weight_lr_power, weight_sum, max_lr)
    lr_z = _schedule_free_rate(t - 1, lr, warmup_steps)
    z_new = []
    for i in range(len(x)):
        d = -g[i] if maximize else g[i]
        nu[i] = (1 - b2) * d * d + b2 * nu[i]
        u = d / (math.sqrt(nu[i] / (1 - b2 ** t)) + eps) + weight_decay * x[i]
        z_new.append(z[i] - lr_z * u)
    _schedule_free_average(x, z, z_new, ck, b1)


def schedule_free_eval_params(y, z, b1):
    """optax.contrib.schedule_free_eval_params: x = (y - (1-b1) z) / b1."""
    return [(y[i] - (1 - b1) * z[i]) / b1 for i in range(len(y))]


def polyak_sgd_step(x, g, value, state, t, lr, hyper):
    """optax.polyak_sgd (Loizou et al., 2021), lr optax's scaling: u = lr g ;
    gap = value - f_min (sps+: max(gap, 0)) ; step = 0 if ||u||^2 + eps <=
    float64's eps, else min(gap / (||u||^2 + eps), max_learning_rate) ;
    x <- x - step u. state[0] is the kernel's scratch, unused here."""
    max_learning_rate, f_min, eps, plus = hyper
    sq = math.fsum((lr * gi) ** 2 for gi in g)
    gap = value - f_min
    if plus:
        gap = max(gap, 0.0)
    if sq + eps <= 2.220446049250313e-16:
        step = 0.0
    else:
        step = min(gap / (sq + eps), max_learning_rate)
    for i in range(len(x)):
        x[i] = x[i] - step * (lr * g[i])
