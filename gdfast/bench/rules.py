"""Every update rule beside torch.optim (``gdfast bench rules``).

For each optimizer with its default options, one step of gdfast's
``Optimizer.step`` (validation and the kernel it picks for the size) against
torch.optim's ``step()`` with foreach=True and with fused=True where torch
has a fused CPU kernel, at n = 10,000, 1,000,000 and 16,000,000 (float64),
timed round-robin after a warm-up step; medians. Beside the times: gdfast's
effective bandwidth (the least bytes a step moves, over its median time)
against a STREAM triad measured in the same run, and the ratio to torch's
fastest path with a confidence interval, so that a tie at the memory
bandwidth shows as a tie and not as a win or a loss decided by noise.
"""
import statistics
import sys

import numpy as np

from .. import optimizers as gd
from .report import BUSY_WARNING, environment, fmt_time, machine_state
from .stats import median_interval
from .timing import stream_triad_bandwidth, time_round_robin_samples, torch_available

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
CONFIDENCE = 0.95


def rounds_for(n, reps):
    """Rounds at size n: small sizes are cheap, so they get more (a tighter interval)."""
    if n <= 100_000:
        return 5 * reps
    if n <= 1_000_000:
        return 2 * reps
    return max(3, reps)


def bytes_per_element(state):
    """The least memory traffic of one step: read x, g and each state array in
    use, write x and each of them back (8 bytes apiece): 8 (3 + 2k)."""
    k = sum(1 for a in state.arrays if a.shape[0] > 0)
    return 8 * (3 + 2 * k)


def verdict(ratio, interval, goal):
    """'met' if ratio >= goal; 'tie' if not, but the interval reaches the goal
    (this run cannot tell the two apart); else 'NOT met'."""
    if ratio >= goal:
        return "met"
    return "tie" if interval[1] >= goal else "NOT met"


def _candidates(n, make_gdfast, torch_name, torch_kwargs, with_torch):
    rng = np.random.default_rng(n)
    x0, g = rng.standard_normal(n), rng.standard_normal(n) * 1e-2
    opt = make_gdfast()
    x = x0.copy()
    state = opt.init(x)
    out = {"gdfast": lambda: opt.step(x, g, state)}
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
            out[f"torch {variant}"] = topt.step
    return out, bytes_per_element(state)


def compare(samples, goal):
    """Row of one rule from its round-robin samples {name: [seconds per round]}.

    ratio: median over rounds of (fastest torch variant's time / gdfast's time)
    in the same round, so that a slow round slows both sides of its ratio;
    the fastest variant is the one with the smallest median. interval: the
    distribution-free CONFIDENCE interval of that median (median_interval).
    """
    med = {name: statistics.median(ts) for name, ts in samples.items()}
    torch_names = [k for k in med if k.startswith("torch")]
    row = dict(seconds=med, ratio=None, interval=None, verdict=None)
    if torch_names:
        fastest = min(torch_names, key=med.get)
        ratios = [t / o for t, o in zip(samples[fastest], samples["gdfast"])]
        row.update(fastest_torch=fastest, ratio=statistics.median(ratios),
                   interval=median_interval(ratios, CONFIDENCE))
        row["verdict"] = verdict(row["ratio"], row["interval"], goal)
    return row


def run_rules_benchmark(sizes=SIZES, reps=10, with_torch=None, out=None):
    """Time every rule beside torch.optim; print the table and the targets.

    Targets: fastest torch / gdfast >= 3 at n <= 10,000 and >= 1 (gdfast not
    slower) at n >= 1,000,000. Returns the figures as a dict (``--json``).
    """
    out = sys.stdout if out is None else out
    with_torch = torch_available() if with_torch is None else with_torch
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    results = dict(environment=environment(with_torch), confidence=CONFIDENCE, sizes={})
    say(f"gdfast rules benchmark: {results['environment']['summary']}")
    results["machine"] = machine_state(say)
    targets = []
    for n in sizes:
        rounds = rounds_for(n, reps)
        triad = stream_triad_bandwidth(n, rounds)
        say(f"n={n:,} ({len(PAIRS)} rules, {rounds} rounds); STREAM triad in this run "
            f"{triad / 1e9:.1f} GB/s ...")
        say(f"  {'rule':<26} {'gdfast':>9} {'GB/s':>5} {'triad':>5} {'torch foreach':>13} "
            f"{'torch fused':>11}  fastest torch / gdfast ({CONFIDENCE:.0%} interval)")
        goal = 3.0 if n <= 10_000 else 1.0
        rows = {}
        for label, make, tname, tkw in PAIRS:
            fns, nbytes = _candidates(n, make, tname, tkw, with_torch)
            samples = time_round_robin_samples({k: (f, rounds) for k, f in fns.items()}, rounds)
            row = compare(samples, goal)
            med = row["seconds"]
            row["gdfast_GBps"] = nbytes * n / med["gdfast"] / 1e9
            rows[label] = row
            cell = lambda k, med=med: fmt_time(med[k]) if k in med else "-"  # noqa: E731
            ratio = "-"
            if row["ratio"] is not None:
                lo, hi = row["interval"]
                ratio = f"{row['ratio']:.2f}x ({lo:.2f}-{hi:.2f})"
                targets.append((n, label, row, goal))
            say(f"  {label:<26} {cell('gdfast'):>9} {row['gdfast_GBps']:>5.1f} "
                f"{row['gdfast_GBps'] * 1e9 / triad:>5.0%} {cell('torch foreach'):>13} "
                f"{cell('torch fused'):>11}  {ratio}")
        results["sizes"][str(n)] = dict(rounds=rounds, triad_GBps=triad / 1e9, rules=rows)
    busy = f" ({BUSY_WARNING}: rerun on an idle machine)" if results["machine"]["busy"] else ""
    say("targets (>= 3x at n = 10,000; not slower than torch's fastest at n >= 1,000,000); "
        f"a tie is a miss whose {CONFIDENCE:.0%} interval reaches the target{busy}:")
    for n, label, row, goal in targets:
        if row["verdict"] != "met":
            lo, hi = row["interval"]
            say(f"  {row['verdict'] + ':':<8} n={n:,} {label}: {row['ratio']:.2f}x "
                f"({lo:.2f}-{hi:.2f}; target {goal:g}x)")
    count = lambda v: sum(1 for t in targets if t[2]["verdict"] == v)  # noqa: E731
    say(f"  {count('met')} of {len(targets)} met, {count('tie')} ties within this run's noise, "
        f"{count('NOT met')} NOT met")
    results["targets"] = [dict(n=n, rule=label, ratio=row["ratio"], interval=row["interval"],
                               target=goal, verdict=row["verdict"], met=row["verdict"] == "met")
                          for n, label, row, goal in targets]
    return results
