"""Learning-rate schedules: kernels against the reference over 1000 steps,
and the landmarks each formula promises, computed by hand."""
import math

import pytest
from numba import njit

from gdfast._rules import SCHEDULES

# also run as Python under NUMBA_DISABLE_JIT=1 (README's test command)
pytestmark = pytest.mark.nojit

PARAMS = {
    "constant": [()],
    "inverse_time_decay": [(50.0,), (1.0,)],
    "exponential_decay": [(0.99,), (1.0,)],
    "step_decay": [(10.0, 0.5), (1.0, 0.9)],
    "cosine_decay": [(100.0, 0.0), (500.0, 1e-4)],
    "warmup_cosine": [(10.0, 100.0, 0.0, 0.0), (50.0, 800.0, 1e-3, 1e-5)],
}
CASES = [(name, p) for name, ps in PARAMS.items() for p in ps]


@pytest.mark.parametrize("name,params", CASES)
def test_schedule_matches_reference(name, params):
    kernel, ref = SCHEDULES[name]
    for t in range(1, 1001):
        got, want = kernel(t, 0.1, params), ref(t, 0.1, params)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-300), f"t={t}"


LANDMARKS = [
    # (name, params, t, expected lr for lr0 = 0.1)
    ("constant", (), 12345, 0.1),
    ("inverse_time_decay", (50.0,), 1, 0.1),
    ("inverse_time_decay", (50.0,), 51, 0.05),       # halves after k steps
    ("inverse_time_decay", (50.0,), 101, 0.1 / 3),
    ("exponential_decay", (0.5,), 1, 0.1),
    ("exponential_decay", (0.5,), 4, 0.0125),
    ("step_decay", (10.0, 0.5), 10, 0.1),
    ("step_decay", (10.0, 0.5), 11, 0.05),
    ("step_decay", (10.0, 0.5), 21, 0.025),
    ("cosine_decay", (100.0, 0.0), 1, 0.1),
    ("cosine_decay", (100.0, 0.0), 51, 0.05),       # half way: cos(pi/2) = 0
    ("cosine_decay", (100.0, 0.01), 101, 0.01),
    ("cosine_decay", (100.0, 0.01), 5000, 0.01),     # stays at lr_min
    ("warmup_cosine", (10.0, 110.0, 0.0, 0.0), 1, 0.0),
    ("warmup_cosine", (10.0, 110.0, 0.0, 0.0), 6, 0.05),
    ("warmup_cosine", (10.0, 110.0, 0.0, 0.0), 11, 0.1),   # the peak
    ("warmup_cosine", (10.0, 110.0, 0.0, 0.0), 61, 0.05),
    ("warmup_cosine", (10.0, 110.0, 0.0, 0.002), 111, 0.002),
    ("warmup_cosine", (10.0, 110.0, 0.0, 0.002), 999, 0.002),
]


@pytest.mark.parametrize("name,params,t,expected", LANDMARKS)
def test_schedule_landmarks(name, params, t, expected):
    kernel, _ = SCHEDULES[name]
    assert kernel(t, 0.1, params) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_schedule_callable_from_user_njit():
    kernel, ref = SCHEDULES["warmup_cosine"]

    @njit
    def total(params):
        s = 0.0
        for t in range(1, 201):
            s += kernel(t, 0.1, params)
        return s

    params = (10.0, 150.0, 0.0, 1e-3)
    want = math.fsum(ref(t, 0.1, params) for t in range(1, 201))
    assert total(params) == pytest.approx(want, rel=1e-12)
