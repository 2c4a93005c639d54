"""Worker fixtures: a clean Redis database and real RQ worker processes."""
import os
import signal
import time

import pytest

from chariots.workers import JobStatus, RQWorkerPool


@pytest.fixture
def worker_pool(redis_connection):
    pool = RQWorkerPool(redis=redis_connection)
    yield pool
    for process in pool._processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except Exception:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def wait_for(client, response, pipeline, statuses=(JobStatus.done, JobStatus.failed), timeout=30.0):
    """Fetches a job until it reaches one of ``statuses``; returns the last response."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.fetch_job(response.job_id, pipeline)
        if response.job_status in statuses:
            return response
        time.sleep(0.05)
    raise AssertionError(f"job {response.job_id} still {response.job_status} after {timeout}s")

