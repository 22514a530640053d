"""The torch.optim parity cases: one per optimizer and option combination.

Each case: (id, gdfast optimizer factory, torch optimizer factory taking the
parameter list, {gdfast state name: torch state key}). Used by
tests/make_torch_fixtures.py (which needs torch) and tests/facade/test_torch_parity.py.
"""
import numpy as np

import gdfast

N, STEPS = 16, 60


def inputs(case_id):
    """x0 (N,) and STEPS gradients (STEPS, N), seeded by the case id."""
    rng = np.random.default_rng([ord(c) for c in case_id])
    x0 = rng.standard_normal(N)
    grads = rng.standard_normal((STEPS, N)) * 10.0 ** rng.uniform(-2, 2, (STEPS, N))
    return x0, grads


def _cases():
    import_torch = "torch.optim"  # resolved lazily by the factories below
    del import_torch

    def t(name, **kw):
        def make(params):
            import torch
            return getattr(torch.optim, name)(params, foreach=False, **kw)
        return make

    adam_state = {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}
    ams_state = dict(adam_state, max_exp_avg_sq="max_exp_avg_sq")
    sgd = [
        ("sgd", {}, {}),
        ("sgd-wd-max", dict(weight_decay=0.1, maximize=True), {}),
        ("sgd-momentum", dict(momentum=0.9), {"momentum_buffer": "momentum_buffer"}),
        ("sgd-momentum-dampening", dict(momentum=0.9, dampening=0.3, weight_decay=0.05),
         {"momentum_buffer": "momentum_buffer"}),
        ("sgd-nesterov", dict(momentum=0.9, nesterov=True), {"momentum_buffer": "momentum_buffer"}),
        ("sgd-nesterov-wd-max", dict(momentum=0.5, nesterov=True, weight_decay=0.1, maximize=True),
         {"momentum_buffer": "momentum_buffer"}),
    ]
    out = [(f"{cid}", (lambda kw=kw: gdfast.SGD(lr=0.01, **kw)), t("SGD", lr=0.01, **kw), st)
           for cid, kw, st in sgd]
    table = [
        ("Adagrad", "adagrad", 0.1, [{}, dict(lr_decay=0.01), dict(initial_accumulator_value=0.5),
                                       dict(weight_decay=0.1, eps=1e-6, maximize=True)],
         {"sum": "sum"}),
        ("RMSprop", "rmsprop", 0.01, [{}, dict(alpha=0.9, eps=1e-6), dict(weight_decay=0.1)],
         {"square_avg": "square_avg"}),
        ("RMSprop", "rmsprop-centered", 0.01, [dict(centered=True)],
         {"square_avg": "square_avg", "grad_avg": "grad_avg"}),
        ("RMSprop", "rmsprop-momentum", 0.01, [dict(momentum=0.9)],
         {"square_avg": "square_avg", "momentum_buffer": "momentum_buffer"}),
        ("RMSprop", "rmsprop-centered-momentum", 0.01,
         [dict(centered=True, momentum=0.5, weight_decay=0.1, maximize=True)],
         {"square_avg": "square_avg", "grad_avg": "grad_avg",
          "momentum_buffer": "momentum_buffer"}),
        ("Adam", "adam", 0.01, [{}, dict(betas=(0.8, 0.99), eps=1e-6), dict(weight_decay=0.1),
                                dict(maximize=True)], adam_state),
        ("Adam", "adam-amsgrad", 0.01, [dict(amsgrad=True),
                                        dict(amsgrad=True, weight_decay=0.1, maximize=True)],
         ams_state),
        ("Adam", "adam-decoupled", 0.01, [dict(decoupled_weight_decay=True, weight_decay=0.1)],
         adam_state),
        ("AdamW", "adamw", 0.01, [{}, dict(weight_decay=0.1, maximize=True)], adam_state),
        ("AdamW", "adamw-amsgrad", 0.01, [dict(amsgrad=True)], ams_state),
        ("Adamax", "adamax", 0.01, [{}, dict(betas=(0.3, 0.9), weight_decay=0.1, maximize=True)],
         {"exp_avg": "exp_avg", "exp_inf": "exp_inf"}),
        ("NAdam", "nadam", 0.01, [{}, dict(momentum_decay=0.01), dict(weight_decay=0.1),
                                  dict(weight_decay=0.1, decoupled_weight_decay=True,
                                       maximize=True)],
         adam_state),
        ("RAdam", "radam", 0.01, [{}, dict(weight_decay=0.1),
                                  dict(weight_decay=0.1, decoupled_weight_decay=True,
                                       maximize=True)],
         adam_state),
        ("Adadelta", "adadelta", 1.0, [{}, dict(rho=0.5, eps=1e-4),
                                       dict(weight_decay=0.1, maximize=True)],
         {"square_avg": "square_avg", "acc_delta": "acc_delta"}),
        ("Rprop", "rprop", 0.01, [{}, dict(etas=(0.3, 1.5)), dict(step_sizes=(1e-3, 0.05)),
                                  dict(maximize=True)],
         {"prev": "prev", "step_size": "step_size"}),
    ]
    for torch_name, cid, lr, options, st in table:
        for k, kw in enumerate(options):
            out.append((f"{cid}-{k}", (lambda name=torch_name, lr=lr, kw=kw:
                                       getattr(gdfast, name)(lr=lr, **kw)),
                        t(torch_name, lr=lr, **kw), st))
    return out


CASES = _cases()


def run_torch(case):
    """Final x and {torch state key: array} after STEPS torch steps (float64)."""
    import torch
    cid, _, make_torch, state_map = case
    x0, grads = inputs(cid)
    torch.set_default_dtype(torch.float64)   # scalar state (step, mu_product) in float64
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = make_torch([p])
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    st = opt.state[p]
    return p.detach().numpy().copy(), {k: st[k].numpy().copy() for k in state_map.values()}


def run_gdfast(case):
    """Final x and {torch state key: array} after STEPS gdfast steps."""
    cid, make_gdfast, _, state_map = case
    x0, grads = inputs(cid)
    opt = make_gdfast()
    x = x0.copy()
    state = opt.init(x)
    for g in grads:
        opt.step(x, g.copy(), state)
    return x, {key: state[name] for name, key in state_map.items()}
