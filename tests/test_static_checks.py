"""The static checks hold: mypy (pyproject.toml's [tool.mypy]: gdfast/ and
kernels/) reports no error, and ruff (its [tool.ruff]) finds nothing in
gdfast, kernels, tests and bench. Both tools are in the test extra, so
nothing here is skipped; they run from the repository root, with this
interpreter's installation, as a developer would run them."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _check(command, passed):
    """Run ``python -m <command>`` in the repository root; fail with its
    whole output unless it exits 0 and prints ``passed``."""
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0 or passed not in done.stdout:
        pytest.fail(f"$ {' '.join(command)}  (exit {done.returncode})\n"
                    f"{done.stdout}{done.stderr}", pytrace=False)


def test_mypy_reports_no_errors():
    _check(["mypy"], "Success: no issues found")


def test_ruff_finds_nothing():
    _check(["ruff", "check", "--output-format=concise", "gdfast", "kernels", "tests", "bench"],
           "All checks passed")
