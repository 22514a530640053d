"""What the whole suite shares: Hypothesis's profiles, and which tests keep
to one pytest-xdist worker.

Hypothesis: two profiles, chosen by the environment variable
HYPOTHESIS_PROFILE (or pytest's --hypothesis-profile=NAME):

- ``ci`` (the default): the fuzz tests (tests/facade/test_fuzz_*.py) draw a
  quarter of their examples (``fuzzing.examples``), so README's test
  command stays short; every fuzz test still runs, on the same derandomized
  examples run after run.
- ``full``: every fuzz test draws its full count (60 to 500 examples):
  ``HYPOTHESIS_PROFILE=full python -m pytest -n 2 tests/facade -k fuzz``.

A profile's max_examples is also the count of a test that sets none (the
fuzz tests scale their own by it: 25 is a quarter of Hypothesis's 100).

pytest-xdist (README's test command runs ``-n 2``; pyproject.toml's addopts
say ``--dist loadgroup``): the tests that share an expensive fixture of
module or session scope run on one worker, so it is built once, not once per
worker: the Dask LocalCluster of tests/dask/conftest.py (``cluster``, which
``client`` uses), test_denoise_defaults.py's table of denoised photographs
(``auto_table``) and test_determinism.py's three probe processes
(``determinism_runs``: built on each worker, they ran six). Without -n nothing changes.

The same for compilation: a test module that sets ``COMPILE_GROUP = (param,
prefix)`` puts each of its tests that takes the parameter ``param`` in the
group ``prefix-<value>`` (test_tv_tiles.py and test_tv_descent.py: one group
per update rule, ``tv-rule-adam``), because the tests of one value compile
the same kernel signatures (a fused or tiled TV kernel for that rule: 5-35 s
each). Spread over two workers, two of them started at once compiled the
same signature in each worker; in one group the second reuses the first's
compilation in its process (GDFAST_COMPILE_LOG shows each compiled once).
"""
import os

import pytest
from hypothesis import settings

# numba's OpenMP threads spin while they wait for work (libgomp's default):
# with two pytest workers, their subprocesses and Dask workers on two cores,
# spinning threads take the CPU from the processes that have work. PASSIVE
# puts them to sleep; no test times anything, and the benchmarks (run as
# users run them) keep the default. Read by libgomp when numba first starts
# its threads, after this file is imported; the tests' subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

FULL_EXAMPLES = 100          # Hypothesis's own default: the fuzz tests' written counts
settings.register_profile("full", max_examples=FULL_EXAMPLES)
settings.register_profile("ci", max_examples=FULL_EXAMPLES // 4)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# fixture name -> the xdist group of every test that uses it
SHARED_FIXTURES = {"cluster": "dask-cluster", "auto_table": "denoise-defaults-auto-table",
                   "determinism_runs": "determinism-probes"}


def compile_group(item):
    """The xdist group of ``item`` by its module's COMPILE_GROUP, or None."""
    param, prefix = getattr(getattr(item, "module", None), "COMPILE_GROUP", (None, None))
    params = getattr(getattr(item, "callspec", None), "params", {})
    return f"{prefix}-{params[param]}" if param in params else None


@pytest.hookimpl(tryfirst=True)        # before xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, group in SHARED_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))
        group = compile_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


# GDFAST_COMPILE_LOG=FILE: every numba compilation in the test processes is
# appended to FILE as one JSON line (pid, test, function, signature, seconds,
# nesting depth), to find where a run's compile time goes and what is
# compiled twice (docs/design.md, How to work on gdfast).
if os.environ.get("GDFAST_COMPILE_LOG"):
    import json
    import time

    from numba.core import event

    _current_test = ["(collection)"]

    class _CompileLog(event.Listener):
        def __init__(self, path):
            self.path, self.stack = path, []

        def on_start(self, ev):
            self.stack.append(time.perf_counter())

        def on_end(self, ev):
            start = self.stack.pop()
            data = ev.data or {}
            dispatcher = data.get("dispatcher")
            name = getattr(getattr(dispatcher, "py_func", None), "__qualname__", repr(dispatcher))
            module = getattr(getattr(dispatcher, "py_func", None), "__module__", "")
            line = {"pid": os.getpid(), "test": _current_test[0], "function": f"{module}.{name}",
                    "signature": str(data.get("args")), "seconds": time.perf_counter() - start,
                    "depth": len(self.stack)}
            with open(self.path, "a") as fh:
                fh.write(json.dumps(line) + "\n")

    event.register("numba:compile", _CompileLog(os.environ["GDFAST_COMPILE_LOG"]))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(item, nextitem):
        _current_test[0] = item.nodeid
