"""The Dask tests' view of a run's record (gdfast.json in its work group), and
a worker killed once the record has passed an iterate."""
import contextlib
import json
import os
import signal
import threading
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


@contextlib.contextmanager
def killing_a_worker(client, store, nit):
    """Within the block, a thread SIGKILLs one of the client's workers once
    store's record has passed iterate nit; yields the list that receives the
    record's iterate count at the kill and then the killed worker's pid."""
    pid = next(iter(client.run(os.getpid).values()))
    killed = []

    def kill_one():
        wait_for(store, nit)
        killed.append(progress_of(store))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one)
    killer.start()
    try:
        yield killed
    finally:
        killer.join()
