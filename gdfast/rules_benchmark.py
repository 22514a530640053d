"""Every update rule beside torch.optim (``gdfast bench --suite rules``).

For each optimizer with its default options, one step of gdfast's
``Optimizer.step`` (validation and the kernel it picks for the size) against
torch.optim's ``step()`` with foreach=True and with fused=True where torch
has a fused CPU kernel, at n = 10,000, 1,000,000 and 16,000,000 (float64),
timed round-robin after a warm-up step; medians.
"""
import sys

import numpy as np

from . import optimizers as gd
from .benchmarks import _environment, _fmt_time, time_round_robin, torch_available

# (label, gdfast factory, torch class name or None, torch kwargs)
PAIRS = [
    ("SGD", lambda: gd.SGD(lr=0.01), "SGD", dict(lr=0.01)),
    ("SGD momentum", lambda: gd.SGD(lr=0.01, momentum=0.9), "SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD nesterov", lambda: gd.SGD(lr=0.01, momentum=0.9, nesterov=True), "SGD",
     dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("Adagrad", gd.Adagrad, "Adagrad", {}),
    ("RMSprop", gd.RMSprop, "RMSprop", {}),
    ("RMSprop centered+momentum", lambda: gd.RMSprop(centered=True, momentum=0.9), "RMSprop",
     dict(centered=True, momentum=0.9)),
    ("Adam", gd.Adam, "Adam", {}),
    ("Adam amsgrad", lambda: gd.Adam(amsgrad=True), "Adam", dict(amsgrad=True)),
    ("AdamW", gd.AdamW, "AdamW", {}),
    ("Adamax", gd.Adamax, "Adamax", {}),
    ("NAdam", gd.NAdam, "NAdam", {}),
    ("RAdam", gd.RAdam, "RAdam", {}),
    ("Adadelta", gd.Adadelta, "Adadelta", {}),
    ("Rprop", gd.Rprop, "Rprop", {}),
    ("Lion (optax; no torch)", gd.Lion, None, {}),
]
SIZES = (10_000, 1_000_000, 16_000_000)


def _candidates(n, make_gdfast, torch_name, torch_kwargs, with_torch, reps):
    rng = np.random.default_rng(n)
    x0, g = rng.standard_normal(n), rng.standard_normal(n) * 1e-2
    opt = make_gdfast()
    x = x0.copy()
    state = opt.init(x)
    out = {"gdfast": (lambda: opt.step(x, g, state), reps)}
    if with_torch and torch_name:
        import torch
        for variant in ("foreach", "fused"):
            p = torch.tensor(x0, requires_grad=True)
            p.grad = torch.tensor(g)
            try:
                topt = getattr(torch.optim, torch_name)([p], **torch_kwargs, **{variant: True})
                topt.step()
            except (RuntimeError, TypeError, ValueError):
                continue                      # torch has no such variant for this rule
            out[f"torch {variant}"] = (topt.step, reps)
    return out


def run_rules_benchmark(sizes=SIZES, reps=10, out=None):
    out = sys.stdout if out is None else out
    with_torch = torch_available()
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    results = dict(environment=_environment(with_torch), sizes={})
    say(f"gdfast rules benchmark: {results['environment']['summary']}")
    targets = []
    for n in sizes:
        say(f"n={n:,} ({len(PAIRS)} rules) ...")
        say(f"  {'rule':<28} {'gdfast':>10} {'torch foreach':>14} {'torch fused':>12} "
            f"{'fastest torch / gdfast':>23}")
        rows = {}
        r = max(3, reps if n <= 1_000_000 else reps // 2)
        for label, make, tname, tkw in PAIRS:
            med = time_round_robin(_candidates(n, make, tname, tkw, with_torch, r), r)
            torch_times = [v for k, v in med.items() if k.startswith("torch")]
            ratio = min(torch_times) / med["gdfast"] if torch_times else None
            rows[label] = dict(seconds=med, ratio=ratio)
            cell = lambda k: _fmt_time(med[k]) if k in med else "-"  # noqa: E731
            say(f"  {label:<28} {cell('gdfast'):>10} {cell('torch foreach'):>14} "
                f"{cell('torch fused'):>12} {f'{ratio:.2f}x' if ratio else '-':>23}")
            if ratio is not None:
                goal = 3.0 if n <= 10_000 else 1.0
                targets.append((n, label, ratio, goal))
        results["sizes"][str(n)] = rows
    say("targets (>= 3x at n = 10,000; not slower than torch's fastest at n >= 1,000,000):")
    misses = [t for t in targets if t[2] < t[3]]
    for n, label, ratio, goal in misses:
        say(f"  NOT met: n={n:,} {label}: {ratio:.2f}x (target {goal:g}x)")
    say(f"  {len(targets) - len(misses)} of {len(targets)} met")
    results["targets"] = [dict(n=n, rule=label, ratio=ratio, target=goal, met=ratio >= goal)
                          for n, label, ratio, goal in targets]
    return results
