"""The tutorials' problem: every rule reaches the minimum of x**2 + 5x + 10."""
import pytest

from gdfast._rules import RULES
from gdfast.cli import main
from gdfast.problems import (
    CLASSIC_BUDGET,
    CLASSIC_MINIMUM,
    CLASSIC_SETTINGS,
    central_difference,
    classic_cost,
    run_classic,
)


def test_central_difference_of_the_classic_cost():
    for x in (-7.0, -2.5, 0.0, 5.0):
        assert central_difference(classic_cost, x) == pytest.approx(2 * x + 5, abs=1e-8)


@pytest.mark.parametrize("name", list(CLASSIC_SETTINGS))
def test_every_rule_reaches_the_minimum_within_budget(name):
    path, nit = run_classic(RULES[name], **CLASSIC_SETTINGS[name])
    assert nit < CLASSIC_BUDGET
    assert abs(path[-1] - CLASSIC_MINIMUM) < 1e-6
    assert classic_cost(path[-1]) == pytest.approx(3.75, abs=1e-11)


def test_plain_gd_follows_the_closed_form():
    """x_t + 2.5 = (1 - 2 lr)^t (x0 + 2.5) for exact derivatives; central
    differences are exact on a quadratic up to rounding."""
    path, _ = run_classic(RULES["gd"], max_iter=100, tol=0.0, lr=0.1)
    for t in (1, 10, 50, 100):
        assert path[t] + 2.5 == pytest.approx(0.8 ** t * 7.5, rel=1e-6, abs=1e-9)


def test_classic_command_prints_every_rule(capsys):
    assert main(["classic"]) == 0
    out = capsys.readouterr().out
    for name in CLASSIC_SETTINGS:
        assert f"  {name} " in out
