"""Fixtures of the facade tests."""
import pytest


@pytest.fixture
def ck(tmp_path):
    """The path of a run's checkpoint, in the test's own folder."""
    return tmp_path / "run.npz"
