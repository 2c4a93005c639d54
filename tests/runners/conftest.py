"""The three runners, and a real Dask cluster (``distributed.LocalCluster``, worker processes on 127.0.0.1).

Without dask.distributed the Dask cases are skipped, and fail under ``CI=true``.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.conftest import service_unavailable

RUNNERS = ["sequential", "thread", "dask"]


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[object]:
    """A LocalCluster of 2 single-threaded worker processes on 127.0.0.1, for the whole session."""
    try:
        import dask
        from distributed import LocalCluster
    except ImportError:
        service_unavailable("dask.distributed is not installed (pip install chariots[dask])")
    # a task whose worker died is tried on 2 workers at most, so the lost-worker test stays short
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=40,
        )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def make_runner(request):
    """Builds a runner by name (``'sequential'``, ``'thread'``, ``'dask'`` on the session's cluster)."""
    made = []

    def make(name: str):
        from chariots.pipelines.runners import DaskRunner, SequentialRunner, ThreadRunner

        if name == "sequential":
            return SequentialRunner()
        if name == "thread":
            runner = ThreadRunner(max_workers=4)
        else:
            runner = DaskRunner(request.getfixturevalue("dask_cluster").scheduler_address)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()
