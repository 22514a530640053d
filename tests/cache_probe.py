"""Run gdfast's compiled paths in a fresh process and report what numba compiled.

    python cache_probe.py RUN [RUN ...]

prints one JSON line: ``compiled`` (the functions numba compiled in this
process: its "numba:compile" events, which fire only when no cache entry was
loaded), ``loaded`` (the kernels of gdfast.kernels called from Python whose
machine code came from the disk cache) and ``results`` (run name -> SHA-256
of the result's x and fun, to compare processes bit for bit). Runs:

    denoise-momentum-2d, denoise-nesterov-2d (128x128, the serial kernel),
    denoise-momentum-2d-parallel (256x256, the parallel kernel),
    denoise-auto-2d (lam chosen: estimate_sigma and the SURE sums),
    denoise-tiled-2d (the smallest image that takes denoise's tiled path),
    denoise-momentum-3d, denoise-adam-3d, dask-tiles-2d, dask-tiles-3d
    (gdfast.dask.denoise on dask's threads: the tile kernels a worker runs),
    minimize-batch (gdfast.problems' relaxometry objective), minimize-inplace
    (the same objective, one pixel),
    user-batch, user-inplace, user-3point (the objectives of the module
    ``user_objective`` found on sys.path, registered or not by that module).
"""
import hashlib
import json
import sys

from numba.core import event


def _digest(*arrays):
    import numpy as np
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def run(name):
    import numpy as np

    import gdfast
    from gdfast import problems
    rng = np.random.default_rng(0)
    if name == "denoise-auto-2d":                # lam chosen: the noise and SURE kernels too
        r = gdfast.denoise(0.5 + 0.1 * rng.standard_normal((192, 192)))
        return _digest(r.x, [r.fun, r.lam, r.sigma])
    if name.startswith("dask-tiles"):             # what every Dask worker process runs
        import os
        import tempfile

        import gdfast.dask
        f = rng.random((24, 20) if name.endswith("2d") else (8, 12, 10))
        with tempfile.TemporaryDirectory() as folder:
            r = gdfast.dask.denoise(f, 0.1, 0.02, max_iter=6, tol=0, sweep=2,
                                    store=os.path.join(folder, "run"),
                                    chunks=tuple(max(s // 2, 1) for s in f.shape))
            x = r.x.compute(scheduler="threads")
        return _digest(x, [r.fun])
    if name == "denoise-tiled-2d":
        import math

        from gdfast import _denoise
        side = math.isqrt(_denoise.BLOCK_MIN_PIXELS - 1) + 1
        r = gdfast.denoise(rng.random((side, side)), 0.1, max_iter=40)
        return _digest(r.x, [r.fun])
    if name.startswith("denoise"):
        _, method, dims, *parallel = name.split("-")
        shape = ((256, 256) if parallel else (128, 128)) if dims == "2d" else (8, 24, 24)
        r = gdfast.denoise(rng.random(shape), 0.1, method=method, max_iter=20)
        return _digest(r.x, [r.fun])
    if name in ("minimize-batch", "minimize-inplace"):
        t, Y, P = problems.exp_decay_stack((16, 16), 16)
        X0 = problems.exp_decay_initial_guess(Y)
        if name == "minimize-batch":
            r = gdfast.minimize_batch(problems.exp_decay_value_and_grad, X0, "adam",
                                      batch_args=(Y,), args=(t,), max_iter=10)
        else:
            r = gdfast.minimize(problems.exp_decay_value_and_grad, X0[0], "adam",
                                jac="inplace", args=(Y[0], t), max_iter=10)
            assert r.nopython
        return _digest(r.x, np.atleast_1d(r.fun))
    import user_objective
    if name == "user-batch":
        X0 = np.zeros((8, 3))
        r = gdfast.minimize_batch(user_objective.value_and_grad, X0, "gd", options={"lr": 0.1},
                                  max_iter=50, gtol=0.0)
    elif name == "user-inplace":
        r = gdfast.minimize(user_objective.value_and_grad, np.zeros(3), "gd",
                            options={"lr": 0.1}, jac="inplace", max_iter=50, gtol=0.0)
        assert r.nopython
    elif name == "user-3point":
        r = gdfast.minimize(user_objective.value, np.zeros(3), "gd", options={"lr": 0.1},
                            jac="3-point", max_iter=5, gtol=0.0)
    else:
        raise SystemExit(f"unknown run {name!r}")
    return _digest(r.x, np.atleast_1d(r.fun))


def _loaded():
    """The dispatchers of gdfast.kernels' modules with a signature loaded
    from the disk cache in this process (numba counts its cache hits)."""
    from numba.core.dispatcher import Dispatcher
    names = set()
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("gdfast.kernels"):
            for value in vars(module).values():
                if isinstance(value, Dispatcher) and sum(value._cache_hits.values()):
                    names.add(value.py_func.__qualname__)
    return sorted(names)


def main(names):
    with event.install_recorder("numba:compile") as recorder:
        results = {name: run(name) for name in names}
    compiled = sorted({ev.data["dispatcher"].py_func.__qualname__
                       for _, ev in recorder.buffer if ev.is_start})
    print(json.dumps(dict(compiled=compiled, loaded=_loaded(), results=results)))


if __name__ == "__main__":
    main(sys.argv[1:])
