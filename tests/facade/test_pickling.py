"""An optimizer sent to another process (a Dask worker: the tasks of
gdfast.dask.denoise carry it) arrives holding gdfast's own kernels: its rule
and schedule are pickled by name, because numba rebuilds an unpickled
dispatcher as a new object that compiles every signature it had afresh (and
every kernel compiled for it, instead of loading them from the disk cache)."""
import pickle
import subprocess
import sys

import numpy as np

import gdfast

UNPICKLE = """
import pickle, sys
from numba.core import event
import gdfast
with event.install_recorder("numba:compile") as recorder:
    opt = pickle.loads(sys.stdin.buffer.read())
compiled = [ev.data["dispatcher"].py_func.__qualname__ for _, ev in recorder.buffer if ev.is_end]
assert opt.rule is gdfast.RULES["adam"], opt.rule
assert opt.lr.kernel is gdfast.kernels.cosine_decay
print(compiled)
"""


def test_an_unpickled_optimizer_holds_gdfasts_kernels_and_compiles_nothing():
    opt = gdfast.Adam(lr=gdfast.schedules.cosine_decay(0.1, 50))
    x = np.zeros(4)
    opt.step(x, np.ones(4), opt.init(x))          # the dispatchers now hold signatures
    out = subprocess.run([sys.executable, "-c", UNPICKLE], input=pickle.dumps(opt),
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert out.stdout.decode().strip() == "[]"


def test_a_pickled_optimizer_steps_as_the_original():
    opt = gdfast.Adam(lr=gdfast.schedules.cosine_decay(0.1, 50), betas=(0.8, 0.95))
    copy = pickle.loads(pickle.dumps(opt))
    x, y = np.linspace(-1.0, 1.0, 5), np.linspace(-1.0, 1.0, 5)
    sx, sy = opt.init(x), copy.init(y)
    for _ in range(3):
        opt.step(x, 2 * x, sx)
        copy.step(y, 2 * y, sy)
    assert np.array_equal(x, y)
