"""Regenerate tests/fixtures/optax/*.npz from optax (jax on the CPU, x64 enabled).

Needs jax and optax (pip install jax optax; not in any extra of
pyproject.toml: too heavy for CI, which checks these fixtures), and gdfast
importable (tests/optax_cases.py imports it for the parity runs; the
recording itself is optax's alone). Run from the repository root:
python tests/make_optax_fixtures.py [case-id-prefix ...]. A fixture whose
arrays and versions would not change is left as it is (no churn in git).
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from optax_cases import CASES, run_optax  # noqa: E402

OUT = pathlib.Path(__file__).parent / "fixtures" / "optax"


def _unchanged(path, arrays):
    if not path.exists():
        return False
    with np.load(path) as old:
        return set(old.files) == set(arrays) and all(
            np.array_equal(old[k], v) for k, v in arrays.items())


def main(prefixes=()):
    import jax
    import optax
    OUT.mkdir(parents=True, exist_ok=True)
    written = 0
    for case in CASES:
        if prefixes and not any(case[0].startswith(p) for p in prefixes):
            continue
        path, state = run_optax(case)
        arrays = dict(x=path, **state, optax_version=np.asarray(optax.__version__),
                      jax_version=np.asarray(jax.__version__))
        target = OUT / f"{case[0]}.npz"
        if not _unchanged(target, arrays):
            np.savez_compressed(target, **arrays)
            written += 1
    print(f"wrote {written} of {len(CASES)} fixtures to {OUT} with optax "
          f"{optax.__version__}, jax {jax.__version__}")


if __name__ == "__main__":
    main(sys.argv[1:])
