"""What the whole suite shares: Hypothesis's profiles, and which tests keep
to one pytest-xdist worker.

Hypothesis: two profiles, chosen by the environment variable
HYPOTHESIS_PROFILE (or pytest's --hypothesis-profile=NAME):

- ``ci`` (the default): the fuzz tests (tests/facade/test_fuzz_*.py) draw a
  quarter of their examples (``fuzzing.examples``), so README's test
  command stays short; every fuzz test still runs, on the same derandomized
  examples run after run.
- ``full``: every fuzz test draws its full count (60 to 500 examples):
  ``HYPOTHESIS_PROFILE=full python -m pytest -n 2 tests/facade -k fuzz``.

A profile's max_examples is also the count of a test that sets none (the
fuzz tests scale their own by it: 25 is a quarter of Hypothesis's 100).

pytest-xdist (README's test command runs ``-n 2``; pyproject.toml's addopts
say ``--dist loadgroup``): the tests that share an expensive fixture of
module or session scope run on one worker, so it is built once, not once per
worker: the Dask LocalCluster of tests/dask/conftest.py (``cluster``, which
``client`` uses) and test_denoise_defaults.py's table of denoised photographs
(``auto_table``). Without -n nothing changes.
"""
import os

import pytest
from hypothesis import settings

FULL_EXAMPLES = 100          # Hypothesis's own default: the fuzz tests' written counts
settings.register_profile("full", max_examples=FULL_EXAMPLES)
settings.register_profile("ci", max_examples=FULL_EXAMPLES // 4)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# fixture name -> the xdist group of every test that uses it
SHARED_FIXTURES = {"cluster": "dask-cluster", "auto_table": "denoise-defaults-auto-table"}


@pytest.hookimpl(tryfirst=True)        # before xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, group in SHARED_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))
