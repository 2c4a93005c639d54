"""RQ's job and queue, minus everything RQ would do because unsigned Redis data named it.

RQ keeps most of a job's hash unsigned: the names of its success, failure and stopped callbacks
(which RQ imports and calls), its webhooks (URLs RQ requests), its retries and repeats (RQ queues
it again), and the sets naming the jobs that depend on it (RQ queues them). Anyone who can write to
Redis can write those. So the job class here resolves everything on our side: the function a job
runs is always :func:`~chariots.workers._rq_job.run_job`, its failure and stopped callbacks are
always our recorders, and it has no success callback, webhook, retry, repeat nor dependents. These
are RQ's public extension points (``job_class`` and ``queue_class`` of its workers, queues and
registries), not patches of RQ.

RQ's own abandoned-job cleanup (``StartedJobRegistry.cleanup``) runs the failure callback a job's
hash names, retries it as the hash says, and queues the jobs its dependents set names, through a
plain ``Queue`` whatever the classes given: :func:`fail_abandoned_jobs` replaces it, in a
worker's maintenance (:func:`clean_registries`) as in a server's fetch.

Importing this module imports rq: the callers import it once the ``workers`` extra is known to
be installed.
"""
from __future__ import annotations

import logging
import time
from typing import Any, List, Optional

from redis.exceptions import ConnectionError as RedisConnectionError
from rq import worker_registration
from rq.defaults import CALLBACK_TIMEOUT
from rq.exceptions import AbandonedJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.results import Result
from rq.utils import current_timestamp, now

from chariots.errors import SignatureError
from chariots.workers._job_fields import PIPELINE, keys_of, unseal_json
from chariots.workers._rq_job import PIPELINE_META, job_meta, record_failure, record_stopped, run_job

_log = logging.getLogger("chariots.workers")

#: the one function a Chariots worker runs, as RQ names it in a job's (signed) payload
ENTRY_POINT = f"{run_job.__module__}.{run_job.__qualname__}"


class ChariotsJob(Job):
    """An RQ job that takes from Redis only what is signed, and whose callbacks are ours."""

    @property
    def func(self) -> Any:
        # the payload is signed; still, nothing a job's data names is imported
        if self.func_name != ENTRY_POINT or self.instance is not None:
            raise SignatureError(
                f"job {self.id!r} names the function {self.func_name!r}: Chariots workers run {ENTRY_POINT} only"
            )
        return run_job

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> Any:
        return record_failure

    @property
    def stopped_callback(self) -> Any:
        return record_stopped

    @property
    def success_callback_timeout(self) -> int:
        return CALLBACK_TIMEOUT

    @property
    def failure_callback_timeout(self) -> int:
        return CALLBACK_TIMEOUT

    @property
    def stopped_callback_timeout(self) -> int:
        return CALLBACK_TIMEOUT

    # attributes RQ sets from the job's hash: read as "none", whatever the hash says

    @property
    def webhooks(self) -> List[Any]:
        return []

    @webhooks.setter
    def webhooks(self, value: Any) -> None:
        pass

    @property
    def retries_left(self) -> None:
        return None

    @retries_left.setter
    def retries_left(self, value: Any) -> None:
        pass

    @property
    def repeats_left(self) -> None:
        return None

    @repeats_left.setter
    def repeats_left(self, value: Any) -> None:
        pass


class ChariotsQueue(Queue):
    """An RQ queue of :class:`ChariotsJob`\\ s, which never queues the jobs a job's dependents set
    names (Chariots jobs have no dependencies; the set is unsigned)."""

    job_class = ChariotsJob

    def enqueue_dependents(self, job: Job, pipeline: Any = None, exclude_job_id: Optional[str] = None,
                           refresh_job_status: bool = True) -> None:
        return None


def is_chariots_job(job: Job) -> bool:
    """Whether ``job`` carries a pipeline name sealed for its id (a job a Chariots pool queued)."""
    try:
        unseal_json(keys_of(job.serializer), job.id, PIPELINE, job_meta(job).get(PIPELINE_META))
    except SignatureError:
        return False
    return True


def fail_abandoned_jobs(queue: Queue) -> List[str]:
    """Fails the started jobs of ``queue`` whose worker stopped sending heartbeats.

    Each such entry of the started-job registry is taken by one process only. A job of ours (its
    pipeline name sealed for it) still started reads failed, with the reason recorded by our
    failure recorder; an entry naming anything else (a job planted in Redis, a job that ended or
    never started) is dropped, and nothing it names is called, retried or queued.

    :returns: the ids of the jobs failed
    """
    registry = StartedJobRegistry(queue=queue, job_class=ChariotsJob)
    failures = FailedJobRegistry(queue=queue, job_class=ChariotsJob)
    connection = queue.connection
    failed = []
    for entry in connection.zrangebyscore(registry.key, 0, current_timestamp()):
        if not connection.zrem(registry.key, entry):
            continue  # another process is handling it
        job_id = registry.parse_job_id(entry)
        try:
            job = ChariotsJob.fetch(job_id, connection=connection, serializer=queue.serializer)
        except NoSuchJobError:
            continue
        if not is_chariots_job(job):
            _log.warning("The started-job registry names job %r, which is no Chariots job (its pipeline name is not "
                         "signed for it): entry dropped, nothing run", job_id)
            continue
        if job.get_status(refresh=False) != JobStatus.STARTED:
            continue  # a job that never started, or ended since
        record_failure(job, connection, AbandonedJobError, AbandonedJobError(), None)
        reason = f"moved to the failed jobs: {AbandonedJobError.__name__} (its worker stopped sending heartbeats)"
        with connection.pipeline() as pipeline:
            job.set_status(JobStatus.FAILED, pipeline=pipeline)
            failures.add(job, ttl=job.failure_ttl, exc_string=reason, pipeline=pipeline)
            Result.create_failure(job, job.failure_ttl, exc_string=reason, pipeline=pipeline)
            pipeline.execute()
        failed.append(job_id)
    return failed


def clean_registries(worker: Any) -> None:
    """A worker's maintenance: RQ's ``Worker.clean_registries``, with the abandoned jobs failed by
    :func:`fail_abandoned_jobs` rather than by RQ's cleanup (one worker at a time, under RQ's lock)."""
    for queue in worker.queues:
        if queue.acquire_maintenance_lock():
            worker.log.info("Worker %s: cleaning registries for queue: %s", worker.name, queue.name)
            fail_abandoned_jobs(queue)
            FinishedJobRegistry(queue=queue).cleanup()
            FailedJobRegistry(queue=queue).cleanup()
            worker_registration.clean_worker_registry(queue)
            queue.intermediate_queue.cleanup(worker, queue)
            queue.release_maintenance_lock()
    worker.last_cleaned_at = now()


def subscribe_to_commands(worker: Any) -> None:
    """Subscribes ``worker`` to RQ's command channel, polled every second: RQ polls it with a 60 s
    timeout, and redis-py's stop waits for the poll to end, so a stopping worker (a burst one
    whose queue is empty, one sent SIGTERM) could hang for up to 60 s."""
    def channel_failed(error: BaseException, pubsub: Any, thread: Any) -> None:
        if not isinstance(error, RedisConnectionError):
            raise error
        time.sleep(2.0)  # redis-py subscribes again once Redis is back

    worker.pubsub = worker.connection.pubsub()
    worker.pubsub.subscribe(**{worker.pubsub_channel_name: worker.handle_payload})
    worker.pubsub_thread = worker.pubsub.run_in_thread(sleep_time=1, daemon=True, exception_handler=channel_failed)
