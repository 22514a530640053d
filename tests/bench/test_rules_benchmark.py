"""`gdfast bench rules`: its statistics and its plumbing (tiny sizes:
nothing here measures speed)."""
import json
import math

import numpy as np
import pytest
from scipy.stats import binom

from gdfast.bench.report import exit_status
from gdfast.bench.rules import PAIRS, bytes_per_element, compare, verdict
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
}


@pytest.mark.parametrize("label, make", [(p[0], p[1]) for p in PAIRS])
def test_bytes_per_element_counts_the_arrays_the_rule_uses(label, make):
    assert bytes_per_element(make().init(np.zeros(10))) == EQUATION_BYTES[label]


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
        rows = [line for line in out.splitlines() if line.startswith(f"  {label:<26} ")]
        assert len(rows) == 2, label
    results = json.loads(path.read_text())
    assert code == exit_status(results)
    with_torch = [p for p in PAIRS if p[2]]
    assert len(results["targets"]) == 2 * len(with_torch)
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


def test_rules_suite_without_torch_times_gdfast_alone(capsys):
    assert main(["bench", "rules", "--sizes", "1000", "--reps", "1",
                 "--no-torch"]) == 0                      # no targets: exit status 0
    out = capsys.readouterr().out
    assert "torch 2" not in out.splitlines()[0]
    assert "0 of 0 met, 0 ties" in out
