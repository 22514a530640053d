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

Two kinds of target. Rules with a torch counterpart: fastest torch / gdfast
>= 3 at n <= 10,000 and >= 1 at n >= 1,000,000. The rules of issue 31
(`NEW_RULES`: ASGD, Adafactor and optax's AdaBelief, Yogi, LAMB, LARS,
NovoGrad, Adan, schedule-free SGD / AdamW and Polyak SGD) also have issue
31's bandwidth target at n >= `BANDWIDTH_MIN_N` (16,000,000): the step takes
at most 1.1x the time of its least bytes at the triad bandwidth, i.e. its
effective GB/s >= triad / 1.1 (`bandwidth_row`; a tie when the fast end of
the interval of gdfast's median time reaches it).

Rows of their own: PolyakSGD's step takes f(x) (given a fixed finite value,
which the step's cost does not depend on); Adafactor is timed on a square
matrix (s x s, s = isqrt(n), its factored form: torch's Adafactor factors
every parameter of two or more dimensions), the others on vectors.

Not in this table: Muon, whose step is Newton-Schulz iterations of matrix
products (5 iterations of three products of a matrix of the parameter's
shape: compute bound, so bytes at the triad bandwidth are not its measure,
and torch's Muon refuses anything but 2-D parameters); and SparseAdam, whose
step moves only the rows its row-sparse gradient names (its cost is set by
the number of rows given, not by n, and torch's SparseAdam takes only
torch's sparse gradients, which its dense foreach / fused paths do not).
"""
import math
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
    ("ASGD", gd.ASGD, "ASGD", {}),
    ("Adafactor (s x s matrix)", gd.Adafactor, "Adafactor", {}),
    ("AdaBelief (optax; no torch)", gd.AdaBelief, None, {}),
    ("Yogi (optax; no torch)", gd.Yogi, None, {}),
    ("LAMB (optax; no torch)", gd.LAMB, None, {}),
    ("LARS (optax; no torch)", gd.LARS, None, {}),
    ("NovoGrad (optax; no torch)", gd.NovoGrad, None, {}),
    ("Adan (optax; no torch)", gd.Adan, None, {}),
    ("ScheduleFreeSGD (optax)", gd.ScheduleFreeSGD, None, {}),
    ("ScheduleFreeAdamW (optax)", gd.ScheduleFreeAdamW, None, {}),
    ("PolyakSGD (optax; no torch)", gd.PolyakSGD, None, {}),
]
# the rules of issue 31, with its bandwidth target at n >= BANDWIDTH_MIN_N
NEW_RULES = tuple(label for label, *_ in PAIRS[15:])
LABEL_WIDTH = max(26, max(len(label) for label, *_ in PAIRS))
BANDWIDTH_MIN_N = 16_000_000
BANDWIDTH_SLACK = 1.1          # at most 1.1x the time of the least bytes at the triad bandwidth
MATRIX_RULES = frozenset({"Adafactor (s x s matrix)"})   # timed on an s x s matrix
POLYAK_VALUE = 1.0             # PolyakSGD's f(x): any finite value costs the same
# Bytes per element the rules that need a norm of the whole array before
# they can update move beyond one elementwise pass (see bytes_per_element).
NORM_PASS_BYTES = {
    "LAMB": 24,        # pass 1: x, g, m, v read, m, v written; pass 2: x, m, v read, x written
    "LARS": 16,        # pass 1: x, g read (||x||, ||g + wd x||); pass 2: x, g, trace -> x, trace
    "NovoGrad": 8,     # pass 1: g read (||g||); pass 2: x, g, m -> x, m
    "PolyakSGD": 8,    # pass 1: g read (||g||); pass 2: x, g -> x
    "Adafactor": 24,   # factored: pass 1 x, g (||x||, row and column sums of g^2); pass 2 g
                       # (||u||); pass 3 x, g -> x. vector: pass 1 x, g, v -> v; pass 2 x, g, v -> x
}
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
    """The least memory traffic of one step, per element of x.

    An elementwise rule reads x, g and each state array of x's length and
    writes x and each of them back (8 bytes apiece): 8 (3 + 2k). State
    arrays of other lengths (NovoGrad's nu, the schedule-free weight_sum and
    max_lr, the norms' scratch ``work``, Adafactor's row and column factors)
    are O(1) or O(sqrt n) entries and are not counted.

    A rule that scales its update by a norm of the whole array cannot update
    before that norm is known, so it reads part of its data twice: the least
    is one pass that reads what the norm needs (and writes what it can
    already update), then the elementwise pass. `NORM_PASS_BYTES` adds that
    first pass's bytes beyond the elementwise count (by the state's kind, the
    optimizer's class): LAMB 80 = 48 (x, g, m, v read; m, v written) + 32
    (x, m, v read; x written); LARS 56 = 16 + 40; NovoGrad 48 = 8 + 40;
    PolyakSGD 32 = 8 + 24; Adafactor on a matrix 48 = 16 (x, g: ||x|| and the
    row and column sums) + 8 (g again: ||u|| needs both factors) + 24. These
    are the fewest bytes such a rule can move, so its effective GB/s is not
    flattered by a count of one pass.
    """
    k = sum(1 for a in state.arrays if a.shape[0] == state.n)
    return 8 * (3 + 2 * k) + NORM_PASS_BYTES.get(state.kind, 0)


def verdict(ratio, interval, goal):
    """'met' if ratio >= goal; 'tie' if not, but the interval reaches the goal
    (this run cannot tell the two apart); else 'NOT met'."""
    if ratio >= goal:
        return "met"
    return "tie" if interval[1] >= goal else "NOT met"


def bandwidth_row(seconds, nbytes, triad):
    """The bandwidth target of one rule from gdfast's times (seconds per
    round): its median time against nbytes (moved per step) at the triad
    bandwidth triad (bytes/s) times `BANDWIDTH_SLACK`. ratio: effective GB/s
    over triad / 1.1 (met at >= 1); interval: the same from the
    distribution-free CONFIDENCE interval of the median time."""
    budget = BANDWIDTH_SLACK * nbytes / triad              # seconds allowed
    lo, hi = median_interval(seconds, CONFIDENCE)
    ratio = budget / statistics.median(seconds)
    interval = (budget / hi, budget / lo)
    return dict(ratio=ratio, interval=interval, verdict=verdict(ratio, interval, 1.0),
                GBps=nbytes / statistics.median(seconds) / 1e9,
                needed_GBps=triad / BANDWIDTH_SLACK / 1e9)


def _shape(label, n):
    if label in MATRIX_RULES:
        s = max(1, math.isqrt(n))
        return (s, s)
    return (n,)


def _candidates(n, make_gdfast, torch_name, torch_kwargs, with_torch, shape=None):
    rng = np.random.default_rng(n)
    shape = (n,) if shape is None else shape
    x0, g = rng.standard_normal(shape), rng.standard_normal(shape) * 1e-2
    opt = make_gdfast()
    x = x0.copy()
    state = opt.init(x)
    if isinstance(opt, gd.PolyakSGD):
        out = {"gdfast": lambda: opt.step(x, g, state, POLYAK_VALUE)}
    else:
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
    slower) at n >= 1,000,000; for `NEW_RULES` at n >= BANDWIDTH_MIN_N, the
    effective GB/s >= triad / 1.1 (`bandwidth_row`). Returns the figures as a
    dict (``--json``): each targets entry's ``kind`` is "torch" or
    "bandwidth".
    """
    out = sys.stdout if out is None else out
    with_torch = torch_available() if with_torch is None else with_torch
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    results = dict(environment=environment(with_torch), confidence=CONFIDENCE, sizes={})
    say(f"gdfast rules benchmark: {results['environment']['summary']}")
    results["machine"] = machine_state(say)
    targets, bandwidth = [], []
    for n in sizes:
        rounds = rounds_for(n, reps)
        triad = stream_triad_bandwidth(n, rounds)
        say(f"n={n:,} ({len(PAIRS)} rules, {rounds} rounds); STREAM triad in this run "
            f"{triad / 1e9:.1f} GB/s ...")
        say(f"  {'rule':<{LABEL_WIDTH}} {'gdfast':>9} {'GB/s':>5} {'triad':>5} "
            f"{'torch foreach':>13} {'torch fused':>11}  "
            f"fastest torch / gdfast ({CONFIDENCE:.0%} interval)")
        goal = 3.0 if n <= 10_000 else 1.0
        rows = {}
        for label, make, tname, tkw in PAIRS:
            shape = _shape(label, n)
            fns, nbytes = _candidates(n, make, tname, tkw, with_torch, shape)
            samples = time_round_robin_samples({k: (f, rounds) for k, f in fns.items()}, rounds)
            row = compare(samples, goal)
            med = row["seconds"]
            size = math.prod(shape)
            row.update(bytes_per_element=nbytes, elements=size,
                       gdfast_GBps=nbytes * size / med["gdfast"] / 1e9)
            if label in NEW_RULES and n >= BANDWIDTH_MIN_N:
                row["bandwidth"] = bandwidth_row(samples["gdfast"], nbytes * size, triad)
                bandwidth.append((n, label, row["bandwidth"]))
            rows[label] = row
            cell = lambda k, med=med: fmt_time(med[k]) if k in med else "-"  # noqa: E731
            ratio = "-"
            if row["ratio"] is not None:
                lo, hi = row["interval"]
                ratio = f"{row['ratio']:.2f}x ({lo:.2f}-{hi:.2f})"
                targets.append((n, label, row, goal))
            say(f"  {label:<{LABEL_WIDTH}} {cell('gdfast'):>9} {row['gdfast_GBps']:>5.1f} "
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
    say(f"bandwidth target of the rules of issue 31 at n >= {BANDWIDTH_MIN_N:,} (a step within "
        f"{BANDWIDTH_SLACK:g}x the time of its least bytes at the triad bandwidth: GB/s >= "
        f"triad / {BANDWIDTH_SLACK:g}){busy}:")
    for n, label, b in bandwidth:
        lo, hi = b["interval"]
        say(f"  {b['verdict'] + ':':<8} n={n:,} {label}: {b['GBps']:.1f} GB/s, needed "
            f"{b['needed_GBps']:.1f}: {b['ratio']:.2f}x of the target ({lo:.2f}-{hi:.2f})")
    bcount = lambda v: sum(1 for b in bandwidth if b[2]["verdict"] == v)  # noqa: E731
    say(f"  {bcount('met')} of {len(bandwidth)} met, {bcount('tie')} ties within this run's "
        f"noise, {bcount('NOT met')} NOT met")
    results["targets"] = [dict(kind="torch", n=n, rule=label, ratio=row["ratio"],
                               interval=row["interval"], target=goal, verdict=row["verdict"],
                               met=row["verdict"] == "met")
                          for n, label, row, goal in targets]
    results["targets"] += [dict(kind="bandwidth", n=n, rule=label, ratio=b["ratio"],
                                interval=b["interval"], target=1.0, verdict=b["verdict"],
                                met=b["verdict"] == "met", GBps=b["GBps"],
                                needed_GBps=b["needed_GBps"])
                           for n, label, b in bandwidth]
    return results
