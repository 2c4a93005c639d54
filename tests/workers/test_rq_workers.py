"""Asynchronous pipeline calls through real Redis and real RQ worker processes."""
import itertools
import os
import signal
import socket
import time

import pytest
from redis import Redis
from rq.job import Job

from chariots.errors import NotFoundError, ServiceUnavailableError
from chariots.pipelines import PipelinesServer
from chariots.serving import use_worker_for_call
from chariots.testing import TestPipelinesClient
from chariots.workers import DillRQSerializer, JobStatus, RQWorkerPool
from tests.conftest import free_port
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.worker_ops import Explode, Sleep, is_odd_pipeline, single


def test_a_worker_call_is_queued_then_done_with_the_value(worker_pool):
    pipeline = is_odd_pipeline()
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="app"))
    response = client.call_pipeline(pipeline, 4, use_worker=True)
    assert response.job_status is JobStatus.queued and response.value is None and response.job_id
    worker_pool.spawn_worker()
    done = wait_for(client, response, pipeline)
    assert done.job_status is JobStatus.done
    assert done.value is True
    assert set(done.versions) == {"addoneop", "isoddop"}
    assert worker_pool.n_workers == 1


def test_a_job_enqueued_through_one_server_is_fetched_through_another(worker_pool, redis_url):
    pipeline = is_odd_pipeline()
    first = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="first"))
    other_pool = RQWorkerPool(redis=Redis.from_url(redis_url))
    second = TestPipelinesClient(PipelinesServer([is_odd_pipeline()], worker_pool=other_pool, import_name="second"))
    response = first.call_pipeline(pipeline, 5, use_worker=True)
    worker_pool.spawn_worker()
    done = wait_for(second, response, pipeline)
    assert (done.job_status, done.value) == (JobStatus.done, False)


def test_an_op_that_raises_gives_a_failed_job_with_the_error(worker_pool):
    pipeline = single(Explode(), "explode")
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="app"))
    response = client.call_pipeline(pipeline, 3, use_worker=True)
    worker_pool.spawn_worker()
    failed = wait_for(client, response, pipeline)
    assert failed.job_status is JobStatus.failed and failed.value is None
    assert failed.error == {
        "type": "RuntimeError",
        "message": "exploded on 3; while running node 'explode' of pipeline 'explode'",
    }


def work_horse_pid(worker_pool, response) -> int:
    """The pid of the RQ work horse running a job, once the job recorded it (within 10 s)."""
    job = Job.fetch(response.job_id, connection=worker_pool.redis, serializer=DillRQSerializer)
    deadline = time.monotonic() + 10
    while "chariots_worker" not in job.get_meta(refresh=True) and time.monotonic() < deadline:
        time.sleep(0.05)
    return job.meta["chariots_worker"]["pid"]


def test_a_worker_killed_mid_job_ends_failed_not_stuck(worker_pool):
    pipeline = single(Sleep(), "sleepy")
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="app"))
    response = client.call_pipeline(pipeline, 60, use_worker=True)
    worker = worker_pool.spawn_worker()
    wait_for(client, response, pipeline, statuses=(JobStatus.running,))
    horse = work_horse_pid(worker_pool, response)
    assert horse in worker.session_pids()  # RQ's work horse, in a process group of its own
    worker.kill()  # the worker and its work horse, at once
    worker.wait(10)
    killed_at = time.monotonic()
    failed = wait_for(client, response, pipeline, timeout=SHORT_BOUND + 5)
    assert time.monotonic() - killed_at <= SHORT_BOUND + 0.5
    assert failed.job_status is JobStatus.failed
    assert failed.error == {
        "type": "WorkerDied",
        "message": f"the worker running this job (pid {horse} on host {socket.gethostname()!r}) stopped sending "
                   "heartbeats before the job finished: it died, was killed or lost Redis",
    }


def test_a_killed_work_horse_fails_its_job_and_the_worker_goes_on(worker_pool):
    pipeline, other = single(Sleep(), "sleepy"), is_odd_pipeline()
    client = TestPipelinesClient(PipelinesServer([pipeline, other], worker_pool=worker_pool, import_name="app"))
    response = client.call_pipeline(pipeline, 60, use_worker=True)
    worker_pool.spawn_worker()
    wait_for(client, response, pipeline, statuses=(JobStatus.running,))
    horse = work_horse_pid(worker_pool, response)
    os.kill(horse, signal.SIGKILL)
    failed = wait_for(client, response, pipeline)
    assert failed.error == {
        "type": "WorkerDied",
        "message": f"the process running this job (pid {horse}) was killed by signal 9 before the job finished",
    }
    after = wait_for(client, client.call_pipeline(other, 2, use_worker=True), other)
    assert (after.job_status, after.value) == (JobStatus.done, True)


def test_a_job_past_its_timeout_fails_with_the_reason(redis_connection):
    with RQWorkerPool(redis=redis_connection, queue_kwargs={"job_timeout": 1}) as pool:
        pipeline = single(Sleep(), "sleepy")
        client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
        response = client.call_pipeline(pipeline, 30, use_worker=True)
        pool.spawn_worker()
        failed = wait_for(client, response, pipeline)
    assert failed.job_status is JobStatus.failed
    assert failed.error["type"] == "JobTimeoutException"
    assert failed.error["message"].startswith("Task exceeded maximum timeout value (1 seconds)")


def test_unknown_job_is_a_404(worker_pool):
    pipeline = is_odd_pipeline()
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="app"))
    with pytest.raises(NotFoundError, match="no job 'nope' in the worker queue"):
        client.fetch_job("nope", pipeline)


def test_redis_unreachable_gives_503_for_async_calls_and_sync_calls_keep_working():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    pool = RQWorkerPool(redis_kwargs={"host": "127.0.0.1", "port": free_port(), "retry": Retry(NoBackoff(), 0)})
    pipeline = is_odd_pipeline()
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
    # the answer names no host or port; the server's log line does, under the answer's request id
    unreachable = r"^Redis, the worker queue, is unreachable: see the pipelines server's log \(request id [0-9a-f]+\)$"
    with pytest.raises(ServiceUnavailableError, match=unreachable):
        client.call_pipeline(pipeline, 4, use_worker=True)
    with pytest.raises(ServiceUnavailableError, match=r"^cannot reach Redis at 127.0.0.1:[0-9]+ \(db 0\) for the "):
        pool.execute_pipeline_async(pipeline, 4, None)  # in process, the whole reason
    assert client.call_pipeline(pipeline, 4).value is True
    with pytest.raises(ServiceUnavailableError):
        client.fetch_job("some-id", pipeline)


FLAGS = (None, True, False)


@pytest.mark.parametrize("app_flag, pipeline_flag, request_flag", list(itertools.product(FLAGS, FLAGS, FLAGS)))
def test_use_worker_rules(app_flag, pipeline_flag, request_flag, worker_pool):
    flags = (app_flag, pipeline_flag, request_flag)
    expected = False not in flags and True in flags
    assert use_worker_for_call(*flags) is expected
    pipeline = is_odd_pipeline(use_worker=pipeline_flag)
    app = PipelinesServer([pipeline], worker_pool=worker_pool, use_workers=app_flag, import_name="rules")
    response = TestPipelinesClient(app).call_pipeline(pipeline, 2, use_worker=request_flag)
    if expected:
        assert (response.job_status, response.value) == (JobStatus.queued, None)
        assert worker_pool.queue.count == 1
    else:
        assert (response.job_status, response.value, response.job_id) == (JobStatus.done, True, None)
        assert worker_pool.queue.count == 0


def test_asking_for_a_worker_without_a_pool_is_a_clear_error():
    pipeline = is_odd_pipeline(use_worker=True)
    client = TestPipelinesClient(PipelinesServer([pipeline], import_name="app"))
    with pytest.raises(Exception, match="asked to run in a worker but this server has no worker_pool"):
        client.call_pipeline(pipeline, 2)


def test_a_job_is_not_found_under_another_pipeline_and_its_result_outlives_rq_default(worker_pool):
    first, second = is_odd_pipeline(name="first"), is_odd_pipeline(name="second")
    client = TestPipelinesClient(PipelinesServer([first, second], worker_pool=worker_pool, import_name="app"))
    response = client.call_pipeline(first, 1, use_worker=True)
    worker_pool.spawn_worker()
    assert wait_for(client, response, first).value is False
    with pytest.raises(NotFoundError, match=f"no job '{response.job_id}'"):
        client.fetch_job(response.job_id, second)
    assert worker_pool.redis.ttl(f"rq:results:{response.job_id}") > 500
