"""gdfast.cli.demo writes its five PNG figures, reads gdfast bench's JSON, and says
how to install matplotlib when it is missing."""
import io
import json
import re
import sys

import pytest
from PIL import Image

from gdfast.bench.denoise import run_denoise_benchmark
from gdfast.bench.report import write_json
from gdfast.cli import demo

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory):
    """A small `gdfast bench --json` file (64x64, one round)."""
    results = run_denoise_benchmark(size=64, reps=1, with_torch=False, with_skimage=False,
                                    out=io.StringIO())
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    write_json(results, path)
    return path


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width > 100 and height > 100, (path, image.size)


def test_write_demo_writes_the_five_figures_in_order(tmp_path, bench_json):
    out = tmp_path / "new" / "demo"          # parents are created too
    lines = []
    paths = demo.write_demo(out, bench_json=bench_json, size=64, say=lines.append)
    assert paths == [out / name for name in demo.FIGURE_NAMES]
    for path in paths:
        assert_png(path)
    assert sorted(p.name for p in out.iterdir()) == sorted(demo.FIGURE_NAMES)  # no bench.json
    assert len(lines) == len(paths)
    for line, path in zip(lines, paths):
        assert line.startswith(f"wrote {path}: ") and len(line) > len(f"wrote {path}: ")
    assert str(bench_json) in lines[-1]


def test_without_bench_json_the_benchmark_runs_in_process_and_is_saved(tmp_path):
    lines = []
    paths = demo.write_demo(tmp_path, size=64, say=lines.append, bench_size=64)
    assert [p.name for p in paths] == list(demo.FIGURE_NAMES)
    for path in paths:
        assert_png(path)
    saved = tmp_path / "bench.json"
    results = demo.load_bench_json(saved)          # a valid bench JSON
    assert results["size"] == 64
    assert str(saved) in lines[-1]


@pytest.mark.parametrize("content", [
    "{}",
    "[]",
    "not json at all",
    json.dumps({"iteration": {}}),
    json.dumps({"iteration": {"gdfast iteration, gd": {"seconds": 1e-3}}}),   # no baselines
    json.dumps({"iteration": {"gdfast iteration, gd": {"seconds": 1e-3},
                              "numpy iteration, gd": {"seconds": 0.0},
                              "pure-Python reference iteration, gd": {"seconds": 1.0}}}),
], ids=["empty-object", "list", "not-json", "no-rows", "no-baselines", "zero-seconds"])
def test_a_bad_bench_json_raises_value_error_naming_the_file_before_drawing(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        demo.write_demo(out, bench_json=bad, size=64, say=lambda line: None)
    assert not out.exists()


def test_a_missing_bench_json_raises_file_not_found_naming_it(tmp_path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        demo.write_demo(tmp_path / "out", bench_json=missing, say=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_missing_matplotlib_raises_with_the_pip_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ModuleNotFoundError) as info:
        demo.require_matplotlib()
    assert isinstance(info.value, demo.MatplotlibMissing)
    assert str(info.value) == ('gdfast demo needs matplotlib: pip install matplotlib '
                               '(or pip install "gdfast[plots]")')
    assert info.value.name == "matplotlib"
    with pytest.raises(demo.MatplotlibMissing):
        demo.write_demo(tmp_path / "out", say=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_speedups_are_baseline_time_over_gdfast_time_in_bench_order():
    results = {"iteration": {
        "gdfast iteration, adam": {"seconds": 2e-3},
        "gdfast iteration, gd": {"seconds": 1e-3},
        "gdfast TV energy+gradient kernel": {"seconds": 5e-4},
        "numpy iteration, gd": {"seconds": 2e-2},
        "pure-Python reference iteration, gd": {"seconds": 1.0},
        "torch autograd + Adam": {"seconds": 8e-3},
    }}
    assert demo.bench_speedups(results) == {
        "pure-Python reference (gd)": {"gd": 1000.0, "adam": 500.0},
        "numpy (gd)": {"gd": 20.0, "adam": 10.0},
        "torch autograd + Adam": {"gd": 8.0, "adam": 4.0},
    }


def test_fitted_polynomial_is_written_highest_power_first():
    assert demo._poly_text([1.39, -3.93, 1.9]) == "1.90t^2 - 3.93t + 1.39"
    assert demo._poly_text([-3.0, 5.0, -2.0]) == "-2.00t^2 + 5.00t - 3.00"


@pytest.fixture(scope="module")
def quality_json(tmp_path_factory):
    """A small `gdfast bench quality --json` file (64 px, one round)."""
    from gdfast.bench.quality import run_quality_benchmark
    results = run_quality_benchmark(sizes=(64,), photo_side=64, photos=("camera",),
                                    sigmas=(0.1,), rounds=1, out=io.StringIO())
    path = tmp_path_factory.mktemp("quality") / "quality.json"
    write_json(results, path)
    return path


def test_quality_json_adds_the_psnr_against_time_figure(tmp_path, bench_json, quality_json):
    lines = []
    paths = demo.write_demo(tmp_path, bench_json=bench_json, size=64, say=lines.append,
                            quality_json=quality_json)
    assert [p.name for p in paths] == [*demo.FIGURE_NAMES, "quality.png"]
    assert_png(paths[-1])
    assert str(quality_json) in lines[-1]


@pytest.mark.parametrize("content", ["{}", "not json", json.dumps({"frontier": {"64": {}}})])
def test_a_bad_quality_json_is_refused_before_drawing(tmp_path, bench_json, content):
    bad = tmp_path / "q.json"
    bad.write_text(content)
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        demo.write_demo(tmp_path / "out", bench_json=bench_json, quality_json=bad,
                        say=lambda line: None)
    assert not (tmp_path / "out").exists()
