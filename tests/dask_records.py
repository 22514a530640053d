"""The Dask tests' view of a run's record (gdfast.json in its work group)."""
import json
import os
import time


def progress_of(store):
    """The iterate count of the last complete sweep or checkpoint recorded
    in store (-1 before the first)."""
    try:
        with open(os.path.join(store, "gdfast.json")) as fh:
            record = json.load(fh)
    except (OSError, ValueError):
        return -1
    return record["nit"] if record["buffer"] is not None else -1


def wait_for(store, nit, timeout=120):
    """Until store's record has passed iterate nit (AssertionError after timeout s)."""
    deadline = time.monotonic() + timeout
    while progress_of(store) < nit:
        assert time.monotonic() < deadline, f"nothing recorded past {nit} in {timeout} s"
        time.sleep(0.01)
