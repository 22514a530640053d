"""gdfast bench fit (gdfast/bench/fit.py): every solver's row and the targets."""

from gdfast.bench.fit import SOLVERS, run_fit_benchmark


def test_fit_suite_prints_every_solver_and_both_targets():
    lines = []
    res = run_fit_benchmark(side=6, scipy_pixels=4, rounds=1, say=lines.append)
    for name in SOLVERS:
        assert any(line.startswith(name) for line in lines), name
        assert res["solvers"][name]["fitted"] > 0.9     # 36 easy pixels: all fitted
    assert [t["target"] for t in res["targets"]] == [">= 10x, as accurate", ">= 100x"]
    assert res["pixels"] == 36
