"""The optax parity cases: AdaBelief and Yogi, one case per configuration and shape.

Each case: (id, gdfast optimizer factory, optax factory name and keyword
arguments, shape). The configurations are optax's own alias test ones
(optax/_src/alias_test.py: adabelief lr 1e-2, with and without weight decay
1e-4; yogi lr 1e-1) and a few more that reach the other options (nesterov,
the paper's eps, other decays). The gradient depends on x (g = c * x + noise,
computed in numpy on both sides), so a deviation in one step feeds the next.
Used by tests/make_optax_fixtures.py (which needs jax and optax) and
tests/facade/test_optax_parity.py.
"""
import numpy as np

import gdfast

STEPS = 100
SHAPES = {"vec": (7,), "cube": (3, 4, 5)}

# (name, gdfast class, gdfast kwargs, optax alias, optax kwargs)
CONFIGS = [
    ("adabelief", "AdaBelief", dict(lr=1e-2), "adabelief", dict(learning_rate=1e-2)),
    ("adabelief-wd", "AdaBelief", dict(lr=1e-2, weight_decay=1e-4), "adabelief",
     dict(learning_rate=1e-2, weight_decay=1e-4)),
    ("adabelief-nesterov", "AdaBelief", dict(lr=3e-2, b1=0.8, nesterov=True), "adabelief",
     dict(learning_rate=3e-2, b1=0.8, nesterov=True)),
    ("adabelief-paper-eps", "AdaBelief", dict(lr=1e-3, b2=0.99, eps=1e-8, eps_root=0.0),
     "adabelief", dict(learning_rate=1e-3, b2=0.99, eps=1e-8, eps_root=0.0)),
    ("yogi", "Yogi", dict(lr=1e-1), "yogi", dict(learning_rate=1e-1)),
    ("yogi-small-eps", "Yogi", dict(lr=1e-2, b1=0.5, b2=0.99, eps=1e-6), "yogi",
     dict(learning_rate=1e-2, b1=0.5, b2=0.99, eps=1e-6)),
    ("yogi-defaults-lr1e-3", "Yogi", dict(lr=1e-3), "yogi", dict(learning_rate=1e-3)),
]

CASES = [(f"{name}-{label}", cls, kw, alias, okw, shape)
         for name, cls, kw, alias, okw in CONFIGS for label, shape in SHAPES.items()]


def inputs(case_id, shape):
    """x0, the gradient's curvature c and STEPS noise terms, seeded by the case id."""
    rng = np.random.default_rng([ord(ch) for ch in case_id])
    x0 = rng.standard_normal(shape)
    c = 10.0 ** rng.uniform(-1, 1, shape)
    noise = rng.standard_normal((STEPS, *shape)) * 10.0 ** rng.uniform(-2, 1, (STEPS, *shape))
    return x0, c, noise


def gradient(x, c, noise_t):
    """g = c x + noise_t, in numpy float64 (the same bits on both sides)."""
    return c * x + noise_t


def _optax_optimizer(optax, alias, okw):
    """optax.<alias>(**okw). adabelief's weight_decay came after optax 0.2.8: with
    it, the chain optax's main branch builds (scale_by_belief, then
    add_decayed_weights, then scale_by_learning_rate)."""
    if alias == "adabelief" and "weight_decay" in okw:
        kw = dict(okw)
        lr, wd = kw.pop("learning_rate"), kw.pop("weight_decay")
        return optax.chain(optax.scale_by_belief(**kw), optax.add_decayed_weights(wd),
                           optax.scale_by_learning_rate(lr))
    return getattr(optax, alias)(**okw)


def run_optax(case):
    """x after every step (STEPS, *shape) and the final (mu, nu) from optax, jax x64."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    cid, _, _, alias, okw, shape = case
    x0, c, noise = inputs(cid, shape)
    opt = _optax_optimizer(optax, alias, okw)
    params = jnp.asarray(x0, dtype=jnp.float64)
    state = opt.init(params)
    update = jax.jit(opt.update)
    path = np.empty((STEPS, *shape))
    for k in range(STEPS):
        g = gradient(np.asarray(params), c, noise[k])
        updates, state = update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        path[k] = np.asarray(params)
    inner = state[0]
    return path, np.asarray(inner.mu), np.asarray(inner.nu)


def run_gdfast(case):
    """x after every step (STEPS, *shape) and the final (mu, nu) from gdfast."""
    cid, cls, kw, _, _, shape = case
    x0, c, noise = inputs(cid, shape)
    opt = getattr(gdfast, cls)(**kw)
    x = x0.copy()
    state = opt.init(x)
    path = np.empty((STEPS, *shape))
    for k in range(STEPS):
        opt.step(x, gradient(x, c, noise[k]), state)
        path[k] = x
    return path, state["mu"].reshape(shape), state["nu"].reshape(shape)
