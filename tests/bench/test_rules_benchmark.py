"""`gdfast bench rules`: its statistics and its plumbing (tiny sizes:
nothing here measures speed)."""
import json
import math

import numpy as np
import pytest
from scipy.stats import binom

from gdfast.bench import rules
from gdfast.bench.report import exit_status
from gdfast.bench.rules import (
    LABEL_WIDTH,
    NEW_RULES,
    PAIRS,
    bandwidth_row,
    bytes_per_element,
    compare,
    verdict,
)
from gdfast.bench.stats import median_interval
from gdfast.cli import main


def _lower_index(r):
    """0-based index of the interval's lower end, found by its position."""
    lo, _ = median_interval(list(range(r)))
    return lo


@pytest.mark.parametrize("r", range(1, 61))
def test_median_interval_is_the_tightest_symmetric_one_with_95_percent(r):
    k = _lower_index(r) + 1                              # 1-based order statistic
    assert median_interval(list(range(r)))[1] == r - k   # symmetric: X_(r+1-k)
    coverage = lambda k: 1.0 - 2.0 * binom.cdf(k - 1, r, 0.5)  # noqa: E731
    if coverage(1) < 0.95:                               # r < 6: (min, max)
        assert k == 1
    else:
        assert coverage(k) >= 0.95
        assert k + 1 > (r + 1) // 2 or coverage(k + 1) < 0.95


def test_median_interval_covers_the_true_median_as_often_as_it_says():
    """10 draws of an exponential (median ln 2): exact coverage 1 - 22/1024."""
    rng = np.random.default_rng(0)
    trials = 4000
    hits = sum(lo <= math.log(2) <= hi
               for lo, hi in (median_interval(rng.exponential(size=10)) for _ in range(trials)))
    expected = 1 - 22 / 1024
    assert abs(hits / trials - expected) < 4 * math.sqrt(expected * (1 - expected) / trials)


def test_median_interval_sorts_and_refuses_no_values():
    assert median_interval([5.0, 1.0, 3.0, 2.0, 4.0, 0.0]) == (0.0, 5.0)
    with pytest.raises(ValueError, match="values"):
        median_interval([])


@pytest.mark.parametrize("ratio, interval, goal, expected", [
    (1.2, (1.1, 1.3), 1.0, "met"),
    (1.0, (0.9, 1.1), 1.0, "met"),
    (0.97, (0.92, 1.02), 1.0, "tie"),
    (0.97, (0.92, 1.0), 1.0, "tie"),
    (0.97, (0.92, 0.99), 1.0, "NOT met"),
    (2.9, (2.5, 3.2), 3.0, "tie"),
    (2.9, (2.5, 2.95), 3.0, "NOT met"),
])
def test_verdict(ratio, interval, goal, expected):
    assert verdict(ratio, interval, goal) == expected


# bytes per element of one step, from the update equations (torch.optim's
# docs): x and g read, x written, and each state array read and written
EQUATION_BYTES = {
    "SGD": 24,                          # x, g -> x
    "SGD momentum": 40,                 # + buf
    "SGD nesterov": 40,                 # + buf
    "Adagrad": 40,                      # + sum
    "RMSprop": 40,                      # + square_avg
    "RMSprop centered+momentum": 72,    # + square_avg, grad_avg, buf
    "Adam": 56,                         # + exp_avg, exp_avg_sq
    "Adam amsgrad": 72,                 # + max_exp_avg_sq
    "AdamW": 56,
    "Adamax": 56,                       # + exp_avg, exp_inf
    "NAdam": 56,                        # + exp_avg, exp_avg_sq
    "RAdam": 56,
    "Adadelta": 56,                     # + square_avg, acc_delta
    "Rprop": 56,                        # + prev, step_size
    "Lion (optax; no torch)": 40,       # + mu
    "ASGD": 40,                         # + ax
    "AdaBelief (optax; no torch)": 56,  # + mu, nu
    "Yogi (optax; no torch)": 56,       # + mu, nu
    "Adan (optax; no torch)": 88,       # + m, v, n and the previous gradient
    "ScheduleFreeSGD (optax)": 40,      # y, g -> y; + z (weight_sum, max_lr: one entry each)
    "ScheduleFreeAdamW (optax)": 56,    # + z, nu
    # a norm of the whole array first, then the elementwise pass:
    "LAMB (optax; no torch)": 80,       # x, g, m, v -> m, v; then x, m, v -> x
    "LARS (optax; no torch)": 56,       # x, g; then x, g, trace -> x, trace
    "NovoGrad (optax; no torch)": 48,   # g; then x, g, mu -> x, mu (nu: one entry)
    "PolyakSGD (optax; no torch)": 32,  # g; then x, g -> x
    "Adafactor (s x s matrix)": 48,     # x, g; then g; then x, g -> x (factors: R + C entries)
}


@pytest.mark.parametrize("label, make", [(p[0], p[1]) for p in PAIRS])
def test_bytes_per_element_counts_the_arrays_the_rule_uses(label, make):
    shape = (12, 12) if label in rules.MATRIX_RULES else (144,)
    assert bytes_per_element(make().init(np.zeros(shape))) == EQUATION_BYTES[label]


def test_adafactor_on_a_vector_counts_its_full_variance_and_two_passes():
    # x, g, v -> v; then x, g, v -> x
    assert bytes_per_element(rules.gd.Adafactor().init(np.zeros(144))) == 64


def test_the_new_rules_are_issue_31s():
    assert set(NEW_RULES) == set(EQUATION_BYTES) - {p[0] for p in PAIRS[:15]}
    assert len(NEW_RULES) == 11 and "Lion (optax; no torch)" not in NEW_RULES
    assert LABEL_WIDTH >= max(len(p[0]) for p in PAIRS)


def test_bandwidth_row_against_the_triad_with_its_slack():
    # 1e9 bytes at a 1e10 B/s triad: 0.1 s, 1.1x of it 0.11 s allowed
    row = bandwidth_row([0.11] * 6, 1e9, 1e10)
    assert row["ratio"] == pytest.approx(1.0) and row["verdict"] == "met"
    assert row["GBps"] == pytest.approx(1e9 / 0.11 / 1e9)
    assert row["needed_GBps"] == pytest.approx(10 / 1.1)
    row = bandwidth_row([0.12, 0.10, 0.125, 0.13, 0.121, 0.118], 1e9, 1e10)
    assert row["ratio"] == pytest.approx(0.11 / 0.1205)
    assert row["interval"] == pytest.approx((0.11 / 0.13, 0.11 / 0.10))
    assert row["verdict"] == "tie"                        # the fastest round is within 1.1x
    assert bandwidth_row([0.2, 0.21, 0.22, 0.2, 0.25, 0.3], 1e9, 1e10)["verdict"] == "NOT met"


def test_compare_pairs_rounds_and_picks_the_fastest_torch_variant():
    # a slow round (10x) slows both sides: the per-round ratio stays 1.1
    samples = {"gdfast": [1.0, 10.0, 1.0, 10.0, 1.0, 1.0],
               "torch foreach": [5.0, 50.0, 5.0, 50.0, 5.0, 5.0],
               "torch fused": [1.1, 11.0, 1.1, 11.0, 1.1, 1.1]}
    row = compare(samples, 1.0)
    assert row["fastest_torch"] == "torch fused"
    assert row["ratio"] == pytest.approx(1.1)
    assert row["interval"] == pytest.approx((1.1, 1.1))
    assert row["verdict"] == "met"
    assert row["seconds"]["gdfast"] == 1.0
    row = compare({"gdfast": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                   "torch fused": [0.9, 1.05, 0.95, 0.97, 1.1, 0.92]}, 1.0)
    assert row["ratio"] == pytest.approx(0.96) and row["verdict"] == "tie"
    assert compare({"gdfast": [1.0, 2.0]}, 1.0)["verdict"] is None   # no torch counterpart


def test_rules_suite_prints_every_rule_and_writes_json(tmp_path, capsys):
    path = tmp_path / "rules.json"
    code = main(["bench", "rules", "--sizes", "1000", "20000", "--reps", "1",
                 "--json", str(path)])
    out = capsys.readouterr().out
    assert out.count("STREAM triad in this run") == 2
    for label, *_ in PAIRS:
        rows = [line for line in out.splitlines()
                if line.startswith(f"  {label:<{LABEL_WIDTH}} ")]
        assert len(rows) == 2, label
    results = json.loads(path.read_text())
    assert code == exit_status(results)
    with_torch = [p for p in PAIRS if p[2]]
    assert len(results["targets"]) == 2 * len(with_torch)   # no bandwidth target below 16M
    assert {t["kind"] for t in results["targets"]} == {"torch"}
    assert "0 of 0 met, 0 ties within this run's noise, 0 NOT met" in out
    for t in results["targets"]:
        assert t["target"] == (3.0 if t["n"] == 1000 else 1.0)
        assert t["interval"][0] <= t["ratio"] <= t["interval"][1]
        assert t["verdict"] == verdict(t["ratio"], t["interval"], t["target"])
    met = sum(t["verdict"] == "met" for t in results["targets"])
    ties = sum(t["verdict"] == "tie" for t in results["targets"])
    assert (f"{met} of {len(results['targets'])} met, {ties} ties within this run's noise"
            in out)
    rows = results["sizes"]["20000"]["rules"]
    assert rows["Adam"]["gdfast_GBps"] == pytest.approx(
        56 * 20000 / rows["Adam"]["seconds"]["gdfast"] / 1e9)
    adafactor = rows["Adafactor (s x s matrix)"]                 # 141 x 141
    assert adafactor["elements"] == 141 ** 2 and adafactor["bytes_per_element"] == 48
    assert adafactor["gdfast_GBps"] == pytest.approx(
        48 * 141 ** 2 / adafactor["seconds"]["gdfast"] / 1e9)
    assert "torch foreach" in adafactor["seconds"] and "torch foreach" in rows["ASGD"]["seconds"]


def test_rules_suite_gives_the_new_rules_a_bandwidth_verdict(monkeypatch, capsys):
    """At n >= BANDWIDTH_MIN_N (16,000,000; lowered here: nothing is measured)."""
    monkeypatch.setattr(rules, "BANDWIDTH_MIN_N", 2000)
    results = rules.run_rules_benchmark(sizes=(1000, 2000), reps=1, with_torch=False)
    out = capsys.readouterr().out
    band = [t for t in results["targets"] if t["kind"] == "bandwidth"]
    assert [t["rule"] for t in band] == list(NEW_RULES)
    assert {t["n"] for t in band} == {2000}
    triad = results["sizes"]["2000"]["triad_GBps"]
    for t in band:
        row = results["sizes"]["2000"]["rules"][t["rule"]]
        assert row["bandwidth"]["verdict"] == t["verdict"]
        assert t["GBps"] == pytest.approx(row["gdfast_GBps"])
        assert t["needed_GBps"] == pytest.approx(triad / 1.1)
        assert t["ratio"] == pytest.approx(t["GBps"] / t["needed_GBps"])
        assert t["met"] == (t["verdict"] == "met") == (t["ratio"] >= 1.0)
        assert f"n=2,000 {t['rule']}: {t['GBps']:.1f} GB/s" in out
    assert "bandwidth" not in results["sizes"]["1000"]["rules"]["ASGD"]
    met = sum(t["verdict"] == "met" for t in band)
    ties = sum(t["verdict"] == "tie" for t in band)
    assert f"  {met} of {len(NEW_RULES)} met, {ties} ties within this run's noise" in out
    missed = dict(results, targets=[dict(band[0], verdict="NOT met", met=False)])
    assert exit_status(missed) in (3, 4)                 # a bandwidth miss fails the bench


def test_rules_suite_without_torch_times_gdfast_alone(capsys):
    assert main(["bench", "rules", "--sizes", "1000", "--reps", "1",
                 "--no-torch"]) == 0                      # no targets: exit status 0
    out = capsys.readouterr().out
    assert "torch 2" not in out.splitlines()[0]
    assert "0 of 0 met, 0 ties" in out
