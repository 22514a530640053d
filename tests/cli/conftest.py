"""Fixtures the command's tests share."""
import os

import pytest


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder in which no file can be created: read-only by its mode, or,
    for root (whom modes do not stop), sysfs."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
    else:
        yield "/sys"
