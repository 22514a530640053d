"""The disk cache fails soft: a cache folder that cannot be written (full,
read-only, over quota, a file-size limit) costs a warning once per process
and the code compiled in memory; a corrupted entry (truncated, emptied,
garbage, a flipped bit, a folder in its place) is a miss, compiled and
written again; an entry is keyed on the values of the module globals that
numba froze into it, so a global set at import (from the environment: the
file's digest stays the same) is never served stale, and a global that
cannot be keyed keeps its function out of the disk cache.

Every case runs small kernels (tiny_kernels.py, written per test) in fresh
processes with a cache folder of their own, and reads numba's compile
events from them, as tests/kernels/test_disk_cache.py does for the library.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

N_KERNELS = 10
TINY_KERNELS = "from gdfast.kernels.jit import SERIAL, njit\n\n" + "".join(
    f"\n@njit(**SERIAL)\ndef k{i}(x):\n    return x * {i + 2}.0 + 1.0\n\n" for i in range(N_KERNELS)
) + '''
@njit(**SERIAL)
def apply(fn, x):                 # a kernel that takes a function, as driver does
    return fn(x)
'''

# Each process runs CALLS (name -> an expression), inside one recorder of
# compile events and one of warnings, and prints what happened as JSON.
REPORT = '''
import json, math, os, sys, warnings
from numba.core import event
from numba.core.errors import NumbaWarning

def report(calls, setup=None):
    out = {"results": {}, "errors": {}}
    with warnings.catch_warnings(record=True) as caught, \\
            event.install_recorder("numba:compile") as recorder:
        warnings.simplefilter("always")     # "once per process" is gdfast's, not the filter's
        for name, call in calls:
            if name == "--fault--":
                call()
                continue
            try:
                out["results"][name] = call()
            except Exception as error:      # one kernel's failure does not hide the others'
                out["errors"][name] = f"{type(error).__name__}: {error}"[:400]
    out["compiled"] = sorted({ev.data["dispatcher"].py_func.__qualname__
                              for _, ev in recorder.buffer if ev.is_start})
    out["warnings"] = [[w.category.__name__, issubclass(w.category, NumbaWarning),
                        str(w.message)] for w in caught]
    print(json.dumps(out))
'''


def run(tmp_path, body, env_extra=None):
    """body (after REPORT) in a fresh process; its JSON report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(tmp_path)
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, "-c", REPORT + textwrap.dedent(body)], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"exit {out.returncode}:\n{out.stderr[-4000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def cache_warnings(report):
    return [w for w in report["warnings"] if w[1]]


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "tiny_kernels.py").write_text(TINY_KERNELS)
    return tmp_path


def expected(i, x=1.5):
    return x * (i + 2) + 1.0


# ---------------------------------------------------------------- writes fail

# How each failure is made: builtins.open wrapped for the files of the cache
# folder (opening fails, as on a read-only file system, or writing does, as
# on a full one), or a real write(2) failing under a file-size limit.
FAULTS = {
    "ENOSPC": ("write", "ENOSPC"),          # disk full
    "EDQUOT": ("write", "EDQUOT"),          # quota exceeded
    "EROFS": ("open", "EROFS"),             # remounted read-only mid-run
    "EACCES": ("open", "EACCES"),           # permissions taken away mid-run
    "EFBIG": ("rlimit", "EFBIG"),           # RLIMIT_FSIZE: the kernel refuses the write
}

FAULT_CODE = '''
def install_fault(how, name):
    import builtins, errno, resource, signal
    code = getattr(errno, name)
    if how == "rlimit":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write(2) returns EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return
    cache, real_open = os.environ["NUMBA_CACHE_DIR"], builtins.open

    class Failing:
        def __init__(self, f):
            self._f = f
        def write(self, data):
            raise OSError(code, os.strerror(code))
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self._f.close()
        def __getattr__(self, attr):
            return getattr(self._f, attr)

    def faulty_open(file, mode="r", *args, **kwargs):
        writing = isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+") \\
            and os.fsdecode(file).startswith(cache)
        if writing and how == "open":
            raise OSError(code, os.strerror(code), os.fsdecode(file))
        f = real_open(file, mode, *args, **kwargs)
        return Failing(f) if writing else f

    builtins.open = faulty_open
'''


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.slow
def test_a_cache_folder_that_cannot_be_written_costs_one_warning_not_the_run(tiny, fault):
    how, name = FAULTS[fault]
    body = FAULT_CODE + f'''
import tiny_kernels as t
report([("k0", lambda: t.k0(1.5)),                  # written while the folder is fine
        ("--fault--", lambda: install_fault({how!r}, {name!r})),
        ("k1", lambda: t.k1(1.5)), ("k2", lambda: t.k2(1.5)), ("k1-again", lambda: t.k1(1.5))])
'''
    faulty = run(tiny, body)
    assert faulty["errors"] == {}
    assert faulty["results"] == {"k0": expected(0), "k1": expected(1), "k2": expected(2),
                                 "k1-again": expected(1)}
    assert faulty["compiled"] == ["k0", "k1", "k2"]
    warned = cache_warnings(faulty)
    assert len(warned) == 1, faulty["warnings"]           # once per process, not per kernel
    assert "cache" in warned[0][2]
    assert os.strerror(getattr(__import__("errno"), name)) in warned[0][2]
    # nothing half-written
    assert not [p for p in (tiny / "cache").rglob("*") if ".tmp." in p.name]
    # the next process (the folder fine again) loads k0 and compiles what was not written
    after = run(tiny, '''
import tiny_kernels as t
report([("k0", lambda: t.k0(1.5)), ("k1", lambda: t.k1(1.5)), ("k2", lambda: t.k2(1.5))])
''')
    assert after["errors"] == {} and after["compiled"] == ["k1", "k2"]
    assert cache_warnings(after) == []


# ------------------------------------------------------- entries are corrupted

def _flip_bit(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _as_folder(path):
    path.unlink()
    path.mkdir()
    (path / "stray").write_text("a folder where the entry was")


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(os.urandom(max(p.stat().st_size, 64))),
    "bit-flipped": _flip_bit,
    "a folder": _as_folder,
}
CASES = [(kind, ext) for ext in ("nbc", "nbi") for kind in CORRUPTIONS]     # one kernel each
assert len(CASES) == N_KERNELS


@pytest.mark.slow
def test_a_corrupted_entry_is_a_miss_compiled_and_written_again(tiny):
    body = f'''
import tiny_kernels as t
report([(f"k{{i}}", lambda i=i: getattr(t, f"k{{i}}")(1.5)) for i in range({N_KERNELS})])
'''
    first = run(tiny, body)
    assert first["errors"] == {} and len(first["compiled"]) == N_KERNELS
    for i, (kind, ext) in enumerate(CASES):
        files = [p for p in (tiny / "cache").rglob(f"tiny_kernels.k{i}-*.{ext}")]
        assert len(files) == 1, files
        CORRUPTIONS[kind](files[0])
    second = run(tiny, body)
    failed = {f"{CASES[int(k[1:])]}": e for k, e in second["errors"].items()}
    assert failed == {}, "\n".join(f"{k}: {e[:120]}" for k, e in failed.items())
    assert second["results"] == first["results"]
    # every corrupted entry was compiled again (none was loaded: a flipped
    # bit in machine code must not run) ...
    assert second["compiled"] == first["compiled"], [CASES[int(k[1:])] for k in first["compiled"]
                                                     if k not in second["compiled"]]
    # ... and written again: the next process loads every one
    third = run(tiny, body)
    assert third["errors"] == {} and third["compiled"] == []
    assert third["results"] == first["results"]


# --------------------------------------------------------- globals are keyed

USER_GLOBALS = '''
import os

import numba
import numpy as np

import gdfast
import user_config

TARGET = float(os.environ["TARGET"])        # set at import: the file stays the same
WEIGHTS = np.full(3, TARGET)


@numba.njit(cache=True)
def target():
    return TARGET


@gdfast.cached_objective
@numba.njit(cache=True)
def through_a_helper(x):                     # reads TARGET in the helper it calls
    return x - target()


@gdfast.cached_objective
@numba.njit(cache=True)
def through_an_array(x):
    return x - WEIGHTS[1]


@gdfast.cached_objective
@numba.njit(cache=True)
def through_a_module(x):
    return x - user_config.SCALE[0]
'''

USER_CONFIG = '''
import os
SCALE = (2.0 * float(os.environ["TARGET"]), 1.0)
'''

GLOBALS_BODY = '''
import tiny_kernels as t
import user_globals as u
from gdfast.kernels.function_refs import cacheable
names = ("through_a_helper", "through_an_array", "through_a_module")
report([*((f"apply {n}", lambda n=n: t.apply(cacheable(getattr(u, n)), 0.0)) for n in names),
        *((f"{n}", lambda n=n: getattr(u, n)(0.0)) for n in names)])
'''


def _globals_expected(target):
    return {**{f"{p}{n}": -target for p in ("apply ", "") for n in ("through_a_helper",
                                                                  "through_an_array")},
            "apply through_a_module": -2.0 * target, "through_a_module": -2.0 * target}


@pytest.mark.slow
def test_a_global_set_at_import_keys_the_entry_and_is_never_served_stale(tiny):
    (tiny / "user_globals.py").write_text(USER_GLOBALS)
    (tiny / "user_config.py").write_text(USER_CONFIG)
    one = run(tiny, GLOBALS_BODY, {"TARGET": "1"})
    five = run(tiny, GLOBALS_BODY, {"TARGET": "5"})
    assert one["errors"] == {} and five["errors"] == {}
    assert one["results"] == _globals_expected(1.0)
    assert five["results"] == _globals_expected(5.0)
    assert "apply" in five["compiled"] and "target" in five["compiled"]
    # each value has its entries: both load from now on
    for target in ("1", "5"):
        again = run(tiny, GLOBALS_BODY, {"TARGET": target})
        assert again["errors"] == {} and again["compiled"] == [], (target, again["compiled"])
        assert again["results"] == _globals_expected(float(target))
        assert cache_warnings(again) == []


USER_BOX = '''
import os

import numba
from numba.core import cgutils, types
from numba.core.imputils import lower_constant
from numba.extending import make_attribute_wrapper, models, register_model, typeof_impl

import gdfast


class Box:                                     # an object numba is taught to freeze
    def __init__(self, v):
        self.v = v


class BoxType(types.Type):
    def __init__(self):
        super().__init__(name="Box")


@typeof_impl.register(Box)
def _typeof_box(val, c):
    return BoxType()


@register_model(BoxType)
class BoxModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, [("v", types.float64)])


make_attribute_wrapper(BoxType, "v", "v")


@lower_constant(BoxType)
def _constant_box(context, builder, ty, pyval):
    box = cgutils.create_struct_proxy(ty)(context, builder)
    box.v = context.get_constant(types.float64, pyval.v)
    return box._getvalue()


BOX = Box(float(os.environ["TARGET"]))


@gdfast.cached_objective
@numba.njit(cache=True)
def through_a_box(x):
    return x - BOX.v
'''


def test_a_global_that_cannot_be_keyed_keeps_its_function_out_of_the_cache(tiny):
    (tiny / "user_box.py").write_text(USER_BOX)
    body = '''
import tiny_kernels as t
import user_box as u
from gdfast.kernels.function_refs import cacheable
report([("apply", lambda: t.apply(cacheable(u.through_a_box), 0.0)),
        ("direct", lambda: u.through_a_box(0.0))])
'''
    one = run(tiny, body, {"TARGET": "1"})
    five = run(tiny, body, {"TARGET": "5"})
    assert one["errors"] == {} and five["errors"] == {}
    assert one["results"] == {"apply": -1.0, "direct": -1.0}
    assert five["results"] == {"apply": -5.0, "direct": -5.0}
    assert {"apply", "through_a_box"} <= set(five["compiled"])      # compiled per process
    warned = cache_warnings(five)
    assert len(warned) == 1 and "BOX" in warned[0][2], five["warnings"]


MINIMIZE_BODY = '''
import numpy as np
import gdfast, user_globals as u
r = lambda: gdfast.minimize(u.through_a_helper_vg, np.zeros(1), "gd", options={"lr": 0.25},
                            jac="inplace", max_iter=60, gtol=0.0)
report([("x", lambda: float(r().x[0]))])
'''

USER_VALUE_AND_GRAD = '''


@gdfast.cached_objective
@numba.njit(cache=True)
def through_a_helper_vg(x, g):
    d = x[0] - target()
    g[0] = 2.0 * d
    return d * d
'''


@pytest.mark.slow
def test_minimize_finds_the_target_the_environment_sets_in_each_process(tiny):
    # the report's case: compiled with TARGET=1, then TARGET=5: minimize gave 1
    (tiny / "user_globals.py").write_text(USER_GLOBALS + USER_VALUE_AND_GRAD)
    (tiny / "user_config.py").write_text(USER_CONFIG)
    one = run(tiny, MINIMIZE_BODY, {"TARGET": "1"})
    five = run(tiny, MINIMIZE_BODY, {"TARGET": "5"})
    assert one["errors"] == {} and five["errors"] == {}
    assert one["results"]["x"] == pytest.approx(1.0, abs=1e-9)
    assert five["results"]["x"] == pytest.approx(5.0, abs=1e-9)
