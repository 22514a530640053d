"""gdfast.cli.demo writes its five PNG figures, reads gdfast bench's JSON, and says
how to install matplotlib when it is missing."""
import io
import json
import os
import pathlib
import re
import sys

import numpy as np
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


# ---------------------------------------------------------------- what the figures show

@pytest.fixture
def drawn_figures(monkeypatch):
    """write_demo's figures as drawn, by name: each kept after it is saved
    (write_demo clears them) and rendered by the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    kept = []

    class KeptFigure(Figure):
        def savefig(self, fname, **kwargs):
            super().savefig(fname, **kwargs)
            FigureCanvasAgg(self).draw()
            self.kept_as = pathlib.Path(fname).name
            kept.append(self)

        def clear(self, keep_observers=False):
            if not hasattr(self, "kept_as"):          # Figure.__init__ clears too
                super().clear(keep_observers)

    monkeypatch.setattr(demo, "require_matplotlib", lambda: KeptFigure)
    return lambda: {fig.kept_as: fig for fig in kept}


def figure_texts(fig):
    """Every non-empty text drawn on the figure (titles, labels, legends, notes)."""
    from matplotlib.text import Text
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def test_every_title_fits_inside_its_figure(tmp_path, bench_json, drawn_figures):
    # size 256, the command's default: at 64 the denoised panel's title is shorter
    demo.write_demo(tmp_path, bench_json=bench_json, size=256, say=lambda line: None)
    figures = drawn_figures()
    assert sorted(figures) == sorted(demo.FIGURE_NAMES)
    for name, fig in figures.items():
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        titles = [ax.title for ax in fig.axes] + [
            t for t in (fig._suptitle, fig._supxlabel) if t is not None]
        extents = []
        for title in titles:
            if not title.get_text():
                continue
            extent = title.get_window_extent(renderer)
            assert (box.x0 <= extent.x0 and extent.x1 <= box.x1
                    and box.y0 <= extent.y0 and extent.y1 <= box.y1), (
                f"{name}: title {title.get_text()!r} at {extent.extents} "
                f"leaves the figure {box.extents}")
            for other, other_extent in extents:
                assert not extent.overlaps(other_extent), (
                    f"{name}: titles {title.get_text()!r} and {other!r} overlap")
            extents.append((title.get_text(), extent))


def path_lines(ax):
    """The optimizers' paths drawn on ax: its lines labelled by a rule's name."""
    from gdfast.problems import CLASSIC_SETTINGS
    return {line.get_label().split(" ")[0]: line for line in ax.get_lines()
            if line.get_label().split(" ")[0] in CLASSIC_SETTINGS}


def farthest_from(points, line_points):
    """Largest distance from one of ``points`` to the polyline ``line_points``."""
    a, b = line_points[:-1], line_points[1:]
    ab = b - a
    lengths = np.maximum((ab * ab).sum(axis=1), 1e-300)
    far = 0.0
    for p in points:
        s = np.clip(((p - a) * ab).sum(axis=1) / lengths, 0.0, 1.0)
        nearest = a + s[:, None] * ab
        far = max(far, float(np.sqrt(((nearest - p) ** 2).sum(axis=1)).min()))
    return far


def test_optimizer_paths_are_told_apart_on_contours_from_one_start(tmp_path, bench_json,
                                                                   drawn_figures):
    from matplotlib.contour import ContourSet

    from gdfast.problems import CLASSIC_SETTINGS
    demo.write_demo(tmp_path, bench_json=bench_json, size=64, say=lambda line: None)
    left = drawn_figures()["optimizers.png"].axes[0]
    lines = path_lines(left)
    assert sorted(lines) == sorted(CLASSIC_SETTINGS)
    assert any(isinstance(c, ContourSet) for c in left.collections), "no contour lines"
    legend = [t.get_text().split(" ")[0] for t in left.get_legend().get_texts()]
    assert set(CLASSIC_SETTINGS) <= set(legend)
    data = {name: np.asarray(line.get_xydata(), dtype=float) for name, line in lines.items()}
    starts = {tuple(xy[0]) for xy in data.values()}
    assert len(starts) == 1, f"the paths start at {starts}"
    # each path in axes units (the panel is 1 x 1): no path is drawn on (or
    # within 5% of the panel of) another's line; all of them end at the minimum
    to_axes = left.transData - left.transAxes
    seen = {name: to_axes.transform(xy) for name, xy in data.items()}
    names = list(seen)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not np.array_equal(data[a], data[b]), f"{a} and {b} draw one path"
            apart = max(farthest_from(seen[a], seen[b]), farthest_from(seen[b], seen[a]))
            assert apart > 0.05, f"{a}'s path lies on {b}'s (at most {apart:.3f} apart)"


@pytest.mark.parametrize("load, busy", [(0.25, False), (7.5, True)], ids=["idle", "busy"])
def test_the_in_process_bench_figure_states_the_load_the_size_and_the_source(
        tmp_path, bench_json, drawn_figures, monkeypatch, load, busy):
    results = json.loads(bench_json.read_text())
    monkeypatch.setattr(demo, "run_small_benchmark", lambda size=512: results)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    lines = []
    demo.write_demo(tmp_path, size=64, say=lines.append, bench_size=64)
    text = "\n".join(figure_texts(drawn_figures()["bench.png"]))
    assert f"{load:.2f}" in text and "2 cores" in text, text
    assert "64x64" in text and "in-process" in text and "gdfast bench" in text, text
    warning = "busy machine: ratios not trustworthy"
    assert (warning in text) == busy, text
    assert (warning in lines[-1]) == busy, lines[-1]


def test_a_bench_json_figure_names_its_file_and_no_load(tmp_path, bench_json, drawn_figures,
                                                       monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (7.5, 7.5, 7.5))   # not that run's load
    demo.write_demo(tmp_path, bench_json=bench_json, size=64, say=lambda line: None)
    text = "\n".join(figure_texts(drawn_figures()["bench.png"]))
    assert str(bench_json) in text and "busy machine" not in text, text
