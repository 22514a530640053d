"""Compiled once per machine: the second process compiles nothing, and an
edited objective or kernel is compiled afresh, never served stale.

Each test runs tests/cache_probe.py in fresh processes with a cache folder
of its own (NUMBA_CACHE_DIR, or a read-only copy of the package with the
user-wide folder), and reads numba's compile events from them.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "cache_probe.py"

USER_OBJECTIVE = '''
import numba
import gdfast

C = {c}


@numba.njit(cache=True)
def target(i):
    return C[i]


{register}
@numba.njit(cache=True)
def value_and_grad(x, g):
    f = 0.0
    for i in range(x.size):
        d = x[i] - target(i)
        f += d * d
        g[i] = 2.0 * d
    return f


{register}
@numba.njit(cache=True)
def value(x):
    f = 0.0
    for i in range(x.size):
        d = x[i] - target(i)
        f += d * d
    return f
'''


def write_objective(folder, c=(1.0, 2.0, 3.0), registered=True):
    source = USER_OBJECTIVE.format(c=repr(tuple(c)),
                                   register="@gdfast.cached_objective" if registered else "")
    (folder / "user_objective.py").write_text(textwrap.dedent(source))


def probe(*runs, cache_dir, pythonpath=(), env_extra=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, str(PROBE), *runs], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


GDFAST_RUNS = ("denoise-momentum-2d", "denoise-nesterov-2d", "denoise-momentum-2d-parallel",
               "denoise-tiled-2d", "denoise-auto-2d", "denoise-momentum-3d", "denoise-adam-3d",
               "dask-tiles-2d", "dask-tiles-3d", "minimize-batch", "minimize-inplace")


def session_cache_copy(dest):
    """A copy of the kernels' cache folder of this test process (what the
    tests run before compiled; empty if none), where a probe with
    NUMBA_CACHE_DIR=dest looks for it. Entries being written meanwhile are
    copied complete or not at all (numba renames them into place); an index
    whose data is missing is a miss (kernels.jit), compiled again."""
    from numba.core import config

    from gdfast.kernels import jit
    py_file = jit.__file__               # every kernel of gdfast.kernels: one folder
    source = next((f for f in jit.cache_folders(py_file) if os.path.isdir(f)), None)
    saved, config.CACHE_DIR = config.CACHE_DIR, str(dest)
    try:
        target = Path(jit.cache_folders(py_file)[0])
    finally:
        config.CACHE_DIR = saved
    target.mkdir(parents=True)
    for path in Path(source).iterdir() if source else ():
        if path.suffix in (".nbi", ".nbc"):
            try:
                shutil.copy2(path, target / path.name)
            except FileNotFoundError:    # replaced by a newer entry meanwhile
                pass
    return target


# the kernels every path of GDFAST_RUNS calls from Python (cache_probe's "loaded")
GDFAST_KERNELS = {"tv_descent_step_2d", "tv_descent_step_2d_parallel", "tv_descent_step_3d",
                  "tv_descent_tiled_2d", "tv_descent_steps_2d", "tv_descent_steps_3d",
                  "minimize_batch_nopython", "first_order_descend", "block_mean_squares_2d",
                  "difference_dot_parallel", "mean_squared_difference_parallel"}


@pytest.mark.slow
def test_the_second_process_compiles_nothing_for_gdfasts_own_paths(tmp_path):
    # what is claimed: after one process ran gdfast's paths, the next compiles
    # nothing and loads every kernel from the disk. The first starts from a
    # copy of the suite's cache, not a cold one (a cold one cost 60 s of CPU;
    # the tests below start cold): it compiles what the tests before it did
    # not, and writes it
    session_cache_copy(tmp_path / "cache")
    first = probe(*GDFAST_RUNS, cache_dir=tmp_path / "cache")
    second = probe(*GDFAST_RUNS, cache_dir=tmp_path / "cache")
    assert second["compiled"] == []
    assert GDFAST_KERNELS <= set(second["loaded"])     # from the disk, each of them
    assert second["results"] == first["results"]          # loaded code, the same bits


@pytest.mark.slow
def test_a_registered_objective_compiles_once_and_an_edit_compiles_afresh(tmp_path):
    runs = ("user-batch", "user-inplace", "user-3point")
    write_objective(tmp_path)
    first = probe(*runs, cache_dir=tmp_path / "cache", pythonpath=[tmp_path])
    second = probe(*runs, cache_dir=tmp_path / "cache", pythonpath=[tmp_path])
    compiled_for_it = {"minimize_batch_nopython", "first_order_descend", "central_differences"}
    assert compiled_for_it <= set(first["compiled"])
    assert second["compiled"] == []
    assert second["results"] == first["results"]
    # the helper target() lives in the objective's file: editing its data
    # changes the minimum, which the next process must find
    write_objective(tmp_path, c=(-4.0, 5.0, 0.5))
    edited = probe(*runs, cache_dir=tmp_path / "cache", pythonpath=[tmp_path])
    assert compiled_for_it <= set(edited["compiled"])
    assert all(edited["results"][r] != first["results"][r] for r in runs)


@pytest.mark.slow
def test_the_edited_objective_gives_its_own_minimum(tmp_path):
    # in-process check of what the probe's digests stand for: x -> C
    write_objective(tmp_path, c=(-4.0, 5.0, 0.5))
    code = textwrap.dedent("""
        import numpy as np, gdfast, user_objective
        r = gdfast.minimize(user_objective.value_and_grad, np.zeros(3), 'gd',
                            options={'lr': 0.1}, jac='inplace', max_iter=200, gtol=0.0)
        print(repr(r.x.tolist()))
    """)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    np.testing.assert_allclose(eval(out.stdout), [-4.0, 5.0, 0.5], rtol=1e-12)


@pytest.mark.slow
def test_an_unregistered_objective_compiles_per_process_and_writes_no_entry(tmp_path):
    write_objective(tmp_path, registered=False)
    first = probe("user-batch", "user-inplace", cache_dir=tmp_path / "cache",
                  pythonpath=[tmp_path])
    second = probe("user-batch", "user-inplace", cache_dir=tmp_path / "cache",
                   pythonpath=[tmp_path])
    assert "minimize_batch_nopython" in first["compiled"]
    assert "minimize_batch_nopython" in second["compiled"]   # as before: per process
    assert second["results"] == first["results"]
    entries = [p.name for p in (tmp_path / "cache").rglob("*.nbi")]
    assert not [e for e in entries if "descend" in e or "minimize_batch_nopython" in e], entries


def _package_copy(dest):
    """gdfast as an installation lays it out: gdfast/ with kernels/ inside."""
    shutil.copytree(ROOT / "gdfast", dest / "gdfast",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "kernels", dest / "gdfast" / "kernels",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.mark.slow
def test_an_edited_kernel_helper_is_compiled_afresh(tmp_path):
    # momentum_step lives in sgd.py, which stays as it is; the edit changes
    # direction_sign, a helper in another file that sgd.py's rules call, so
    # a cache keyed by sgd.py's content alone would serve the old code
    site = _package_copy(tmp_path / "site")
    before = probe("denoise-momentum-2d", cache_dir=tmp_path / "cache", pythonpath=[site],
                   cwd=tmp_path)
    helpers = site / "gdfast" / "kernels" / "_elementwise.py"
    source = helpers.read_text()
    edited = source.replace("return -1.0 if maximize != 0.0 else 1.0",
                            "return -1.0 if maximize != 0.0 else 0.5", 1)
    assert edited != source
    helpers.write_text(edited)
    after = probe("denoise-momentum-2d", cache_dir=tmp_path / "cache", pythonpath=[site],
                  cwd=tmp_path)
    assert "tv_descent_step_2d" in after["compiled"]
    assert after["results"] != before["results"]


@pytest.mark.slow
def test_a_read_only_installation_caches_in_the_user_folder(tmp_path):
    site = _package_copy(tmp_path / "site")
    # root writes into read-only folders, so the __pycache__ folders are
    # also taken by files: no cache can be made beside the sources either way
    for folder in (site / "gdfast", site / "gdfast" / "kernels"):
        (folder / "__pycache__").write_text("not a folder")
    for path in [site, *site.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache")}
        runs = ("minimize-inplace",)        # a kernel of gdfast's own: where its entry goes
        first = probe(*runs, cache_dir=None, pythonpath=[site], env_extra=env, cwd=tmp_path)
        second = probe(*runs, cache_dir=None, pythonpath=[site], env_extra=env, cwd=tmp_path)
    finally:
        for path in [site, *site.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert first["compiled"] and second["compiled"] == []
    assert second["results"] == first["results"]
    assert list((tmp_path / "user-cache" / "numba" / "gdfast").rglob("*.nbi"))
    assert not list(site.rglob("*.nbi"))


@pytest.mark.slow
def test_two_processes_compiling_at_once_both_succeed_and_the_cache_serves_a_third(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    runs = ("minimize-inplace",)            # both write the same entries at once
    procs = [subprocess.Popen([sys.executable, str(PROBE), *runs], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    a, b = (json.loads(out.strip().splitlines()[-1]) for out, _ in outs)
    assert a["results"] == b["results"]
    third = probe(*runs, cache_dir=tmp_path / "cache")
    assert third["compiled"] == []
    assert third["results"] == a["results"]


@pytest.mark.parametrize("bad", ["not jitted", "interactive"])
def test_cached_objective_refuses_what_it_cannot_key(bad):
    import numba

    import gdfast
    if bad == "not jitted":
        with pytest.raises(TypeError, match="numba @njit"):
            gdfast.cached_objective(lambda x, g: 0.0)
    else:
        namespace = {"numba": numba}
        exec("@numba.njit\ndef f(x, g):\n    return 0.0\n", namespace)
        with pytest.raises(ValueError, match="defined in a file"):
            gdfast.cached_objective(namespace["f"])


def test_cached_objective_refuses_a_dependency_without_a_file(tmp_path):
    import gdfast
    from gdfast.problems import exp_decay_value_and_grad
    with pytest.raises(ValueError, match="depends"):
        gdfast.cached_objective(exp_decay_value_and_grad, depends=[tmp_path / "missing.py"])
    with pytest.raises(ValueError, match="depends"):
        gdfast.cached_objective(exp_decay_value_and_grad, depends=[sys])


PARALLEL_RULE_OBJECTIVE = '''
import numba, gdfast


@gdfast.cached_objective
@numba.njit(cache=True)
def value_and_grad(x, g):
    f = 0.0
    for i in range(x.size):
        d = x[i] - 1.0
        f += d * d
        g[i] = 2.0 * d
    return f
'''

PARALLEL_RULE_MINIMIZE = '''
import numpy as np, gdfast
import parallel_rule_objective as objective
r = gdfast.minimize(objective.value_and_grad, np.zeros(400_000), gdfast.Adam(lr=0.1),
                    jac="inplace", max_iter=20)
print(repr(r.fun))
'''

PARALLEL_RULE_DRIVER = '''
import numpy as np
import parallel_rule_objective as objective
from gdfast.kernels import adam_step_parallel, constant
from gdfast.kernels.driver import minimize_nopython
from gdfast.kernels.function_refs import cacheable
n = 400_000
r = minimize_nopython(cacheable(objective.value_and_grad), np.zeros(n), (),
                      cacheable(adam_step_parallel), (np.zeros(n), np.zeros(n)),
                      (0.9, 0.999, 1e-8, 0.0, 0.0), cacheable(constant), 0.1, (), 20, 0.0, 1e-6,
                      0.0, np.empty(0), np.empty(0))
print(repr(r.fun))
'''


@pytest.mark.slow
def test_a_loaded_loop_that_calls_a_parallel_kernel_runs_in_a_fresh_process(tmp_path):
    # the first thing the second process does is load the driver compiled for
    # adam_step_parallel: numba had not started its threading layer for it,
    # and the call jumped to a null pointer (exit -11) before kernels.jit
    # launched the threads on every load from the disk cache
    (tmp_path / "parallel_rule_objective.py").write_text(PARALLEL_RULE_OBJECTIVE)
    (tmp_path / "via_minimize.py").write_text(PARALLEL_RULE_MINIMIZE)
    (tmp_path / "via_driver.py").write_text(PARALLEL_RULE_DRIVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    # the sequence that crashed: minimize compiles and caches the loop, the
    # driver's first run compiles its wrapper, its second loads both
    scripts = ["via_minimize.py", "via_minimize.py", "via_driver.py", "via_driver.py"]
    runs = [subprocess.run([sys.executable, str(tmp_path / s)], env=env, capture_output=True,
                           text=True, timeout=900) for s in scripts]
    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr[-2000:] for r in runs]
    assert len({r.stdout for r in runs}) == 1
