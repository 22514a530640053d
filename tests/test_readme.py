"""The README's Python examples (and the batch example of docs/batches.md) run
and do what they say."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def run_block(containing, folder, page=README):
    """Run the one ```python block of ``page`` with ``containing`` as a reader's
    file in ``folder`` (a numba cache=True function is cached beside it);
    its namespace."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
              if containing in b]
    assert len(blocks) == 1, f"one example with {containing!r} in {page.name}"
    script = folder / (page.stem.lower() + "_" + re.sub(r"\W+", "_", containing) + ".py")
    if not script.exists():                  # numba's cache index is stamped with its mtime
        script.write_text(blocks[0])
    namespace = {"__name__": script.stem}
    exec(compile(blocks[0], str(script), "exec"), namespace)
    return namespace


def test_readme_kernel_example_runs_and_converges(tmp_path, capsys):
    ns = run_block("fit_rows", tmp_path)
    err = np.abs(ns["X"] - ns["targets"]).max()
    assert err < 1e-12
    assert float(capsys.readouterr().out) == err


def test_readme_kernel_example_is_compiled_once_and_then_loaded_from_disk(tmp_path, capsys):
    """The README shows the cache=True habit: a second run of the same file
    loads fit_rows from numba's disk cache instead of compiling it."""
    first = run_block("fit_rows", tmp_path)["fit_rows"]
    second = run_block("fit_rows", tmp_path)["fit_rows"]
    assert sum(first.stats.cache_hits.values()) == 0
    assert sum(second.stats.cache_hits.values()) == 1, "fit_rows is not cached on disk"
    assert sum(second.stats.cache_misses.values()) == 0


def test_readme_quickstart_runs_and_matches_polyfit(tmp_path, capsys):
    ns = run_block("PolynomialFit", tmp_path)
    res, problem = ns["res"], ns["problem"]
    assert res.status == "gtol"
    np.testing.assert_allclose(res.x, problem.least_squares(), atol=1e-8)
    np.testing.assert_allclose(res.x, [1.39, -3.93, 1.90], atol=0.005)
    assert abs(ns["x"][0] + 2.5) < 1e-9


def test_readme_denoise_example_runs(tmp_path, capsys):
    ns = run_block("gdfast.denoise(noisy", tmp_path)
    sigma, lam, nit, before, after = capsys.readouterr().out.split()
    assert (float(sigma), float(lam)) == (0.1, 0.161)
    assert (int(nit), float(before), float(after)) == (102, 20.0, 39.3)
    assert ns["res"].psnr - float(before) > 6


def test_readme_batch_example_runs(tmp_path, capsys):
    ns = run_block("least_squares_batch", tmp_path, README.parent / "docs" / "batches.md")
    assert capsys.readouterr().out.strip() == "65536 problems; ftol: 65475, gtol: 13, xtol: 48 5.0"
    assert ns["fit"].x.shape == (65536, 3)
