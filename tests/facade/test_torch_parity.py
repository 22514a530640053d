"""gdfast's optimizers against torch.optim's own trajectories (float64, 60
steps): the parameters and every state entry, element by element, within
1e-12 relative. The stored fixtures were made by tests/make_torch_fixtures.py
with torch 2.13.0 (CPU); when torch is importable the same cases also run live."""
import pathlib

import numpy as np
import pytest

from kernel_helpers import assert_rel_close
from torch_cases import CASES, run_gdfast, run_torch

FIXTURES = pathlib.Path(__file__).parents[1] / "fixtures" / "torch"


def _compare(got, want, case_id):
    x, state = got
    x_want, state_want = want
    assert_rel_close(x, x_want, rtol=1e-12, what=f"{case_id}: x")
    assert set(state) == set(state_want)
    for key in state:
        assert_rel_close(state[key], state_want[key], rtol=1e-12, what=f"{case_id}: {key}")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_stored_torch_trajectory(case):
    data = np.load(FIXTURES / f"{case[0]}.npz")
    want = (data["x"], {k[len("state_"):]: data[k] for k in data.files if k.startswith("state_")})
    _compare(run_gdfast(case), want, case[0])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_live_torch(case):
    pytest.importorskip("torch")   # installed by the test extra; fixtures cover its absence
    _compare(run_gdfast(case), run_torch(case), case[0])


def test_every_fixture_belongs_to_a_case():
    assert {p.stem for p in FIXTURES.glob("*.npz")} == {c[0] for c in CASES}
