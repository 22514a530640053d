"""Regenerate tests/fixtures/torch/*.npz from torch.optim (CPU, float64).

Needs torch: pip install torch==2.13.0 (the CPU build). Run from the
repository root:  python tests/make_torch_fixtures.py
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from torch_cases import CASES, run_torch  # noqa: E402

OUT = pathlib.Path(__file__).parent / "fixtures" / "torch"


def main():
    import torch
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        x, state = run_torch(case)
        np.savez_compressed(OUT / f"{case[0]}.npz", x=x, torch_version=torch.__version__,
                            **{f"state_{k}": v for k, v in state.items()})
    print(f"wrote {len(CASES)} fixtures to {OUT} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
