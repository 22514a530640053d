"""The optax parity cases: AdaBelief, Yogi, LAMB, LARS, NovoGrad, Adan,
schedule-free SGD and AdamW (optax.contrib) and Polyak SGD, one case per
configuration and shape.

Each case: (id, gdfast optimizer factory, optax factory name and keyword
arguments, shape). The configurations are optax's own alias test ones
(optax/_src/alias_test.py: adabelief lr 1e-2, with and without weight decay
1e-4; yogi lr 1e-1; lamb lr 1e-3; lars lr 1; novograd lr 1e-3; adan lr
1e-1; polyak_sgd max_learning_rate 1; optax/contrib/_common_test.py:
schedule_free_sgd and schedule_free_adamw lr 1e-2 with warmup_steps 5000)
and a few more that reach the other options (nesterov, the paper's
eps, weight decay, other decays). gdfast's keyword arguments are optax's
(learning_rate is lr), and so are its state arrays' names (the scratch
"work" aside): the fixtures store x's path and optax's final state by name.
The gradient depends on x (g = c * x + noise, computed in numpy on both
sides), so a deviation in one step feeds the next; Polyak's step also takes
the value f(x) = sum((c x + noise)^2 / c) / 2 of which g is the gradient.
Schedule-free's x is optax's params, the interpolated point y.
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
    # optax.yogi has no eps_root: scale_by_yogi's, chained as optax.yogi chains it
    ("yogi-eps-root", "Yogi", dict(lr=1e-2, eps=1e-6, eps_root=1e-4), "yogi",
     dict(learning_rate=1e-2, eps=1e-6, eps_root=1e-4)),
    ("lamb", "LAMB", dict(lr=1e-3), "lamb", dict(learning_rate=1e-3)),
    ("lamb-wd", "LAMB", dict(lr=1e-2, b1=0.8, weight_decay=1e-2), "lamb",
     dict(learning_rate=1e-2, b1=0.8, weight_decay=1e-2)),
    ("lamb-eps-root", "LAMB", dict(lr=1e-2, b2=0.99, eps=1e-8, eps_root=1e-10), "lamb",
     dict(learning_rate=1e-2, b2=0.99, eps=1e-8, eps_root=1e-10)),
    ("lars", "LARS", dict(lr=1.0), "lars", dict(learning_rate=1.0)),
    ("lars-nesterov-wd", "LARS", dict(lr=0.5, weight_decay=1e-3, trust_coefficient=1e-2,
                                      momentum=0.8, nesterov=True), "lars",
     dict(learning_rate=0.5, weight_decay=1e-3, trust_coefficient=1e-2, momentum=0.8,
          nesterov=True)),
    ("lars-eps", "LARS", dict(lr=1.0, trust_coefficient=1e-2, eps=1e-3), "lars",
     dict(learning_rate=1.0, trust_coefficient=1e-2, eps=1e-3)),
    ("novograd", "NovoGrad", dict(lr=1e-3), "novograd", dict(learning_rate=1e-3)),
    ("novograd-wd", "NovoGrad", dict(lr=1e-2, b1=0.8, b2=0.5, weight_decay=1e-3), "novograd",
     dict(learning_rate=1e-2, b1=0.8, b2=0.5, weight_decay=1e-3)),
    ("novograd-eps-root", "NovoGrad", dict(lr=1e-2, eps=1e-8, eps_root=1e-6), "novograd",
     dict(learning_rate=1e-2, eps=1e-8, eps_root=1e-6)),
    ("adan", "Adan", dict(lr=1e-1), "adan", dict(learning_rate=1e-1)),
    ("adan-wd", "Adan", dict(lr=1e-2, b1=0.9, b2=0.8, b3=0.95, weight_decay=1e-2), "adan",
     dict(learning_rate=1e-2, b1=0.9, b2=0.8, b3=0.95, weight_decay=1e-2)),
    ("adan-eps", "Adan", dict(lr=1e-2, eps=1e-6, eps_root=0.0), "adan",
     dict(learning_rate=1e-2, eps=1e-6, eps_root=0.0)),
    # optax.contrib's test configurations (contrib/_common_test.py): warmup
    # 5000 steps, so 100 steps stay in its first fiftieth
    ("sf-sgd", "ScheduleFreeSGD", dict(lr=1e-2, warmup_steps=5000), "schedule_free_sgd",
     dict(learning_rate=1e-2, warmup_steps=5000)),
    ("sf-sgd-wd", "ScheduleFreeSGD", dict(lr=0.1, b1=0.95, weight_decay=1e-3),
     "schedule_free_sgd", dict(learning_rate=0.1, b1=0.95, weight_decay=1e-3)),
    ("sf-sgd-short-warmup", "ScheduleFreeSGD",
     dict(lr=0.05, warmup_steps=20, weight_lr_power=1.0), "schedule_free_sgd",
     dict(learning_rate=0.05, warmup_steps=20, weight_lr_power=1.0)),
    ("sf-adamw", "ScheduleFreeAdamW", dict(lr=1e-2, warmup_steps=5000), "schedule_free_adamw",
     dict(learning_rate=1e-2, warmup_steps=5000)),
    ("sf-adamw-wd", "ScheduleFreeAdamW", dict(lr=1e-2, b2=0.99, eps=1e-6, weight_decay=1e-2),
     "schedule_free_adamw", dict(learning_rate=1e-2, b2=0.99, eps=1e-6, weight_decay=1e-2)),
    ("sf-adamw-short-warmup", "ScheduleFreeAdamW",
     dict(lr=5e-2, warmup_steps=10, b1=0.8, weight_lr_power=0.5), "schedule_free_adamw",
     dict(learning_rate=5e-2, warmup_steps=10, b1=0.8, weight_lr_power=0.5)),
    # optax's alias test: polyak_sgd(max_learning_rate=1.0); gdfast's lr is its scaling
    ("polyak", "PolyakSGD", dict(max_learning_rate=1.0), "polyak_sgd",
     dict(max_learning_rate=1.0)),
    ("polyak-sps-plus", "PolyakSGD", dict(max_learning_rate=0.3, f_min=1.0, variant="sps+"),
     "polyak_sgd", dict(max_learning_rate=0.3, f_min=1.0, variant="sps+")),
    ("polyak-scaling-eps", "PolyakSGD", dict(lr=0.5, eps=1e-3, f_min=-0.5), "polyak_sgd",
     dict(scaling=0.5, eps=1e-3, f_min=-0.5)),
]

# optax alias -> (index of the chain's state that holds the rule's arrays, their
# names: gdfast's state names too), and gdfast class -> rule name
OPTAX_STATE = {"adabelief": (0, ("mu", "nu")), "yogi": (0, ("mu", "nu")),
               "lamb": (0, ("mu", "nu")), "lars": (3, ("trace",)),
               "novograd": (0, ("mu", "nu")), "adan": (0, ("m", "v", "n", "g")),
               # None: the state itself (ScheduleFreeState; AdamW's nu in its
               # base optimizer's state); polyak_sgd keeps no arrays
               "schedule_free_sgd": (None, ("z", "weight_sum", "max_lr")),
               "schedule_free_adamw": (None, ("z", "nu", "weight_sum", "max_lr")),
               "polyak_sgd": (None, ())}
RULE_OF = {"AdaBelief": "adabelief", "Yogi": "yogi", "LAMB": "lamb", "LARS": "lars",
           "NovoGrad": "novograd", "Adan": "adan", "ScheduleFreeSGD": "schedule_free_sgd",
           "ScheduleFreeAdamW": "schedule_free_adamw", "PolyakSGD": "polyak_sgd"}
# the rules whose step takes f(x) as well (optax's value=)
WITH_VALUE = {"polyak_sgd"}
# rules checked step by step from optax's own path (each step starts from
# optax's x of the step before; they keep no state): Polyak's norm is summed
# in gdfast's fixed blocks, not in XLA's shape-dependent order, and its
# dynamics amplify that last bit (optax itself, started from x0 (1 + 1e-14),
# ends 3e-9 away from its own run after 100 steps on the (3, 4, 5) case)
RESTARTED = {"polyak_sgd"}

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


def value(x, c, noise_t):
    """f(x) = sum((c x + noise_t)^2 / c) / 2, whose gradient is `gradient`'s
    (>= 0, 0 at its minimum), in numpy float64."""
    return float(0.5 * np.sum((c * x + noise_t) ** 2 / c))


def _optax_optimizer(optax, alias, okw):
    """optax.<alias>(**okw). adabelief's weight_decay came after optax 0.2.8: with
    it, the chain optax's main branch builds (scale_by_belief, then
    add_decayed_weights, then scale_by_learning_rate). optax.yogi takes no
    eps_root: with it, the chain optax.yogi builds (scale_by_yogi with it, then
    scale_by_learning_rate)."""
    if alias == "yogi" and "eps_root" in okw:
        kw = dict(okw)
        lr = kw.pop("learning_rate")
        return optax.chain(optax.scale_by_yogi(**kw), optax.scale_by_learning_rate(lr))
    if alias == "adabelief" and "weight_decay" in okw:
        kw = dict(okw)
        lr, wd = kw.pop("learning_rate"), kw.pop("weight_decay")
        return optax.chain(optax.scale_by_belief(**kw), optax.add_decayed_weights(wd),
                           optax.scale_by_learning_rate(lr))
    if alias.startswith("schedule_free"):
        return getattr(optax.contrib, alias)(**okw)
    return getattr(optax, alias)(**okw)


def _optax_state(alias, state):
    """optax's final state arrays by name."""
    index, names = OPTAX_STATE[alias]
    if index is not None:
        return {name: np.asarray(getattr(state[index], name)) for name in names}
    out = {}
    for name in names:
        held = state.base_optimizer_state[0] if name == "nu" else state
        out[name] = np.asarray(getattr(held, name))
    return out


def run_optax(case):
    """x after every step (STEPS, *shape) and optax's final state arrays by name
    (jax x64)."""
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
        extra = {}
        if alias == "polyak_sgd":
            extra["value"] = jnp.asarray(value(np.asarray(params), c, noise[k]))
        updates, state = update(jnp.asarray(g), state, params, **extra)
        params = optax.apply_updates(params, updates)
        path[k] = np.asarray(params)
    return path, _optax_state(alias, state)


def kernel_state(rule_name, n, initial=0.0, x0=None):
    """A fresh state tuple of rule_name's kernel for n parameters (the facade's
    init, without the facade); schedule-free's z starts as a copy of x0."""
    from gdfast._rules import MORE_RULES
    from gdfast.kernels import NORM_WORK
    sizes = {"work": NORM_WORK, "weight_sum": 1, "max_lr": 1}
    if rule_name == "novograd":
        sizes["nu"] = 1
    return tuple(np.array(x0, dtype=np.float64).ravel() if name == "z"
                 else np.full(sizes.get(name, n), initial)
                 for name in MORE_RULES[rule_name].state)


def _names(alias):
    return OPTAX_STATE[alias][1]


def _final(arrays, names, shape):
    """By name, shaped like x (NovoGrad's nu: one number, shape () as optax's)."""
    return {name: a.reshape(shape if a.size == int(np.prod(shape)) else ())
            for name, a in zip(names, arrays)}


def _restart(x, path, k, shape):
    """For the RESTARTED rules: x set to optax's x before step k (x0 for k = 0)."""
    if path is not None and k:
        x[...] = path[k - 1].reshape(x.shape)


def run_kernel(case, parallel=False, path_from=None):
    """x after every step and the final state by name, from the rule's kernel
    (MORE_RULES) with the case's hyperparameters: parity without the facade.
    path_from: optax's path, from which each step starts (RESTARTED rules)."""
    from gdfast._rules import MORE_RULES
    cid, cls, kw, alias, _, shape = case
    rule = MORE_RULES[RULE_OF[cls]]
    kw = dict(kw)
    lr = kw.pop("lr", rule.defaults["lr"])
    if "variant" in kw:
        kw["plus"] = float(kw.pop("variant") == "sps+")
    hyper = rule.hyper_tuple(**kw)
    x0, c, noise = inputs(cid, shape)
    x = x0.ravel().copy()
    state = kernel_state(rule.name, x.size, 1e-6 if rule.name == "yogi" else 0.0, x0)
    step = rule.step_parallel if parallel else rule.step
    path = np.empty((STEPS, *shape))
    for k in range(STEPS):
        _restart(x, path_from, k, shape)
        g = gradient(x.reshape(shape), c, noise[k]).ravel()
        if rule.name in WITH_VALUE:
            step(x, g, value(x.reshape(shape), c, noise[k]), state, k + 1, lr, hyper)
        else:
            step(x, g, state, k + 1, lr, hyper)
        path[k] = x.reshape(shape)
    by_name = dict(zip(rule.state, state))
    return path, _final([by_name[n] for n in _names(alias)], _names(alias), shape)


def run_gdfast(case, path_from=None):
    """x after every step (STEPS, *shape) and the final state by name from gdfast
    (path_from as in run_kernel)."""
    cid, cls, kw, alias, _, shape = case
    x0, c, noise = inputs(cid, shape)
    opt = getattr(gdfast, cls)(**kw)
    x = x0.copy()
    state = opt.init(x)
    path = np.empty((STEPS, *shape))
    for k in range(STEPS):
        _restart(x, path_from, k, shape)
        if RULE_OF[cls] in WITH_VALUE:
            opt.step(x, gradient(x, c, noise[k]), state, value(x, c, noise[k]))
        else:
            opt.step(x, gradient(x, c, noise[k]), state)
        path[k] = x
    return path, _final([state[n] for n in _names(alias)], _names(alias), shape)
