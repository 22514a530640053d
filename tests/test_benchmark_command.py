"""`gdfast bench` runs end to end (tiny sizes: this checks the plumbing, not speed)."""
import json

from gdfast.benchmarks import numpy_adam_step, numpy_adam_step_inplace
from gdfast.cli import main
from gdfast.rules import RULES
import numpy as np


def test_numpy_baselines_compute_adam():
    """The baselines the benchmark times must compute the same rule."""
    rng = np.random.default_rng(5)
    x0, g = rng.standard_normal(100), rng.standard_normal(100)
    xs = [x0.copy() for _ in range(3)]
    ms = [np.zeros(100) for _ in range(3)]
    vs = [np.zeros(100) for _ in range(3)]
    tmp = np.empty(100)
    for t in range(1, 21):
        RULES["adam"].step(xs[0], g, (ms[0], vs[0]), t, 1e-3, RULES["adam"].hyper_tuple())
        numpy_adam_step(xs[1], g, ms[1], vs[1], t, 1e-3, 0.9, 0.999, 1e-8)
        numpy_adam_step_inplace(xs[2], g, ms[2], vs[2], t, 1e-3, 0.9, 0.999, 1e-8, tmp)
    np.testing.assert_allclose(xs[1], xs[0], rtol=1e-12)
    np.testing.assert_allclose(xs[2], xs[0], rtol=1e-12)


def test_bench_command_prints_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--n-large", "20000", "--n-small", "1000", "--reps", "3",
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "STREAM triad" in out and "targets:" in out
    results = json.loads(path.read_text())
    assert results["triad_GBps"] > 0
    for size in ("20000", "1000"):
        rows = results["sizes"][size]
        assert rows["gdfast adam_step_parallel"]["seconds"] > 0
        assert "numpy, from the equations" in rows
