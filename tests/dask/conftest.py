"""A Dask cluster of worker processes on loopback, shared by the module's tests."""
import logging

import distributed
import pytest


@pytest.fixture(scope="session")
def cluster():
    """LocalCluster: 2 worker processes, 1 thread each, on 127.0.0.1, no dashboard."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=logging.ERROR) as lc:
        yield lc


@pytest.fixture
def client(cluster):
    """A Client of the shared cluster, the default scheduler within the test."""
    with distributed.Client(cluster) as c:
        yield c
