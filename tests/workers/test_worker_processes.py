"""The handle spawn_worker returns, and the pool stopping the workers it spawned."""
import subprocess
import time

import pytest

from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool, WorkerProcess
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.worker_ops import Sleep, is_odd_pipeline, single


def _wait_registered(pool, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while pool.n_workers != count:
        assert time.monotonic() < deadline, f"{pool.n_workers} workers registered, expected {count}"
        time.sleep(0.05)


def test_spawn_worker_returns_a_handle_that_stops_an_idle_worker(worker_pool):
    worker = worker_pool.spawn_worker()
    assert isinstance(worker, WorkerProcess)
    assert worker.is_alive() and worker.poll() is None and worker.pid > 0
    _wait_registered(worker_pool, 1)
    assert worker.stop(timeout=10) == 0
    assert not worker.is_alive() and worker.returncode == 0
    assert worker_pool.n_workers == 0  # the worker unregistered itself: a clean stop
    assert worker.stop() == 0  # stopping again is harmless


def test_stop_ends_a_busy_worker_after_its_timeout_and_the_job_reads_failed(worker_pool):
    pipeline = single(Sleep(), "sleepy")
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="app"))
    response = client.call_pipeline(pipeline, 60, use_worker=True)
    worker = worker_pool.spawn_worker()
    wait_for(client, response, pipeline, statuses=(JobStatus.running,))
    started = time.monotonic()
    worker.stop(timeout=1)
    assert time.monotonic() - started < 10
    assert not worker.is_alive() and worker.session_pids() == []  # no work horse left behind
    failed = wait_for(client, response, pipeline, timeout=SHORT_BOUND + 5)
    assert failed.job_status is JobStatus.failed
    assert failed.error["type"] == "WorkerDied"


def test_the_handle_keeps_the_popen_api(worker_pool):
    worker = worker_pool.spawn_worker()
    with pytest.raises(subprocess.TimeoutExpired):
        worker.wait(timeout=0.1)
    _wait_registered(worker_pool, 1)
    worker.terminate()
    assert worker.wait(timeout=30) == 0


def test_closing_the_pool_stops_every_worker_it_spawned(redis_connection):
    with RQWorkerPool(redis=redis_connection, abandoned_job_timeout=SHORT_BOUND) as pool:
        workers = [pool.spawn_worker(), pool.spawn_worker()]
        _wait_registered(pool, 2)
        pipeline = is_odd_pipeline()
        client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
        assert wait_for(client, client.call_pipeline(pipeline, 2, use_worker=True), pipeline).value is True
        assert pool.spawned_workers == workers
    assert [worker.is_alive() for worker in workers] == [False, False]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert pool.n_workers == 0
