"""What the bench tests share: one small run of the main job (the denoise
suite), read by the tests of its output, its JSON, its load line and its
exit status (mark them xdist_group("bench-denoise-run"), so that with -n the
run is made once)."""
import contextlib
import io
import json
import os
import types

import pytest

from gdfast.cli import main

IDLE_LOAD = 0.2                 # the load average the shared run sees (faked), on 2 cores
DENOISE_RUN = ["bench", "denoise", "--size", "64", "--reps", "2"]


@pytest.fixture(scope="session")
def denoise_run(tmp_path_factory):
    """`gdfast bench denoise --size 64 --reps 2 --json F` through gdfast.cli.main,
    on a machine whose 1-minute load average reads IDLE_LOAD on 2 cores:
    (code, out, results, load) as a namespace."""
    path = tmp_path_factory.mktemp("denoise-run") / "bench.json"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setattr(os, "getloadavg", lambda: (IDLE_LOAD,) * 3)
        mp.setattr(os, "cpu_count", lambda: 2)
        code = main([*DENOISE_RUN, "--json", str(path)])
    return types.SimpleNamespace(code=code, out=out.getvalue(), load=IDLE_LOAD,
                                 results=json.loads(path.read_text()))
