"""Regenerate tests/fixtures/optax/*.npz from optax (jax on the CPU, x64 enabled).

Needs jax and optax (pip install jax optax; not in any extra of
pyproject.toml: too heavy for CI, which checks these fixtures). Run from the
repository root:  python tests/make_optax_fixtures.py
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from optax_cases import CASES, run_optax  # noqa: E402

OUT = pathlib.Path(__file__).parent / "fixtures" / "optax"


def main():
    import jax
    import optax
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        path, mu, nu = run_optax(case)
        np.savez_compressed(OUT / f"{case[0]}.npz", x=path, mu=mu, nu=nu,
                            optax_version=optax.__version__, jax_version=jax.__version__)
    print(f"wrote {len(CASES)} fixtures to {OUT} with optax {optax.__version__}, "
          f"jax {jax.__version__}")


if __name__ == "__main__":
    main()
