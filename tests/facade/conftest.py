"""Fixtures of the facade tests, and the slow tests of test_denoise_defaults.py."""
import pytest

# test_denoise_defaults.py's tests against exact-TV oracles on whole photographs
# (the `slow` marker, pyproject.toml): its table fixture alone takes about a minute
SLOW_DEFAULTS = {"test_auto_lam_is_within_half_a_db_of_the_oracle_on_average",
                 "test_auto_lam_gains_over_the_noisy_image_in_every_case",
                 "test_auto_lam_in_3d_on_a_volume",
                 "test_the_default_eps_reaches_the_exact_tv_minimisers_quality",
                 "test_the_default_eps_in_3d_too"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name == "test_denoise_defaults.py" and \
                getattr(item, "originalname", item.name) in SLOW_DEFAULTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def ck(tmp_path):
    """The path of a run's checkpoint, in the test's own folder."""
    return tmp_path / "run.npz"
