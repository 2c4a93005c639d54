"""The worker pool on RQ and Redis."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from chariots._response import JobStatus, PipelineResponse
from chariots._signing import KeySource
from chariots._wire import with_public_message
from chariots.errors import ChariotsError, NotFoundError, ServiceUnavailableError, SignatureError
from chariots.workers._base_worker_pool import BaseWorkerPool, PipelinesApp
from chariots.workers._job_fields import ERROR, MODULES, PAYLOAD, PIPELINE, RESULT, seal, seal_json, unseal_json
from chariots.workers._process import WorkerProcess
from chariots.workers._rq_job import (
    ERROR_META,
    MODULES_META,
    PIPELINE_META,
    SignedRQSerializer,
    check_job_id,
    job_meta,
    modules_of,
    run_job,
)
from chariots.workers._worker import (
    DEFAULT_ABANDONED_JOB_TIMEOUT,
    DEFAULT_JOB_TIMEOUT,
    QUEUE_NAME,
    REDIS_ARGUMENTS_ENV,
    connection_arguments,
    describe_connection,
    heartbeat_settings,
    import_rq,
    redis_connection,
)

if TYPE_CHECKING:
    from redis import Redis

    from chariots.pipelines import Pipeline

_TERMINAL = (JobStatus.done, JobStatus.failed)


class RQWorkerPool(BaseWorkerPool):
    """Runs pipeline calls in RQ workers; job ids and results live in Redis, so any server
    process can fetch any job.

    A job whose worker dies (killed, crashed, cut off from Redis), on this host or another,
    reads ``failed`` at most ``abandoned_job_timeout`` seconds after its last heartbeat.

    :param redis_kwargs: arguments of :class:`redis.Redis`, used when ``redis`` is not given
    :param redis: the Redis connection RQ uses (wins over ``redis_kwargs``)
    :param queue_kwargs: extra arguments of :class:`rq.Queue` (``connection``, ``name`` and
                         ``serializer`` are set by the pool); ``job_timeout`` (default one hour)
                         and ``result_ttl`` (default one day) apply to every job
    :param abandoned_job_timeout: seconds without a heartbeat after which a running job of the
                                  workers this pool spawns reads ``failed`` (at least 3)
    :param preload: modules the workers this pool spawns import before their first job
    :param secret_key: the key signing job payloads and results in Redis (None: the keys of the op
                       store of the app the pool serves, else ``CHARIOTS_SECRET_KEY``, else the user's
                       key file); workers need the same key, :meth:`spawn_worker` gives it to the
                       workers it starts
    :param old_secret_keys: keys of earlier rotations, still accepted when reading
    """

    def __init__(
        self,
        redis_kwargs: Optional[Dict[str, Any]] = None,
        redis: Optional["Redis"] = None,
        queue_kwargs: Optional[Dict[str, Any]] = None,
        *,
        abandoned_job_timeout: float = DEFAULT_ABANDONED_JOB_TIMEOUT,
        preload: Sequence[str] = (),
        secret_key: Optional[str] = None,
        old_secret_keys: Optional[List[str]] = None,
    ):
        _, rq = import_rq()
        self._serializer = SignedRQSerializer(KeySource(secret_key, old_secret_keys))
        self._keys_configured = secret_key is not None
        heartbeat_settings(abandoned_job_timeout)  # fails early for a bound too short
        self._redis = redis if redis is not None else redis_connection(redis_kwargs or {})
        queue_kwargs = dict(queue_kwargs or {})
        # results stay a day (RQ keeps them 500 s by default): any server can fetch them later
        self.result_ttl = queue_kwargs.pop("result_ttl", 24 * 3600)
        self.job_timeout = queue_kwargs.pop("job_timeout", DEFAULT_JOB_TIMEOUT)
        queue_kwargs.update(name=QUEUE_NAME, connection=self._redis, serializer=self._serializer)
        from chariots.workers._rq_classes import ChariotsQueue

        self._queue = ChariotsQueue(**queue_kwargs)
        self.abandoned_job_timeout = abandoned_job_timeout
        self.preload = list(preload)
        self._workers: List[WorkerProcess] = []

    def serve_app_of(self, op_store_client: Any) -> None:
        """Takes the op store's keys when the pool was given none: the jobs it queues, the workers
        it spawns and what they save are then signed with the keys the server checks."""
        key_source = getattr(op_store_client, "key_source", None)
        if self._keys_configured or not isinstance(key_source, KeySource):
            return
        self._serializer.key_source = key_source  # the queue holds this serializer: its jobs follow

    @property
    def redis(self) -> "Redis":
        """the Redis connection of the pool"""
        return self._redis

    @property
    def queue(self):
        """the RQ queue jobs are sent to"""
        return self._queue

    @property
    def spawned_workers(self) -> List[WorkerProcess]:
        """the workers :meth:`spawn_worker` started (running or not)"""
        return list(self._workers)

    def _unreachable(self, error: Exception) -> ServiceUnavailableError:
        where = describe_connection(self._redis)
        error = ServiceUnavailableError(f"cannot reach Redis at {where} for the worker queue: {error}")
        return with_public_message(error, "Redis, the worker queue, is unreachable")

    @property
    def n_workers(self) -> int:
        """number of RQ workers listening to the pool's queue"""
        redis_module, rq = import_rq()
        try:
            return rq.Worker.count(connection=self._redis, queue=self._queue)
        except redis_module.exceptions.ConnectionError as error:
            raise self._unreachable(error) from error

    def spawn_worker(self, burst: bool = False, log_level: str = "WARNING") -> WorkerProcess:
        """Starts a worker process for this pool's queue on this machine, in its own session.

        It connects to the pool's Redis (address or unix socket, database, user, password and
        TLS settings; the password travels in its environment, not its command line). The
        current folder is importable in it. :meth:`close` stops every worker spawned so.

        :param burst: stop the worker once the queue is empty
        :param log_level: the worker's logging level
        :returns: a handle whose :meth:`~chariots.workers.WorkerProcess.stop` ends the worker
        """
        command = [sys.executable, "-m", "chariots.workers", "--log-level", log_level,
                   "--abandoned-job-timeout", str(self.abandoned_job_timeout)]
        for module in self.preload:
            command += ["--preload", module]
        if burst:
            command.append("--burst")
        env = dict(os.environ)
        env[REDIS_ARGUMENTS_ENV] = json.dumps(connection_arguments(self._redis))
        env.update(self._serializer.key_source.keys.environment())  # the pool's keys, not on the command line
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        worker = WorkerProcess(subprocess.Popen(command, env=env, start_new_session=True))
        self._workers.append(worker)
        return worker

    def close(self, timeout: float = 30.0) -> None:
        """Stops every worker this pool spawned (each may finish its current job for ``timeout`` seconds)."""
        for worker in self._workers:
            worker.terminate()  # all at once, then wait for each
        for worker in self._workers:
            worker.stop(timeout)

    def __enter__(self) -> "RQWorkerPool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def execute_pipeline_async(self, pipeline: "Pipeline", pipeline_input: Any, app: PipelinesApp) -> str:
        """Queues a call of ``pipeline`` for a worker and returns the RQ job id.

        The call's arguments, the pipeline's name and its modules are sealed for the job's id (see
        :mod:`chariots.workers._job_fields`): moved to another job in Redis, they are refused.
        """
        redis_module, _ = import_rq()
        import dill

        runner = getattr(app, "runner", None) or _default_runner()
        op_store_client = getattr(app, "op_store_client", None)
        # the job carries the pipeline's definition and the versions it serves, never the models:
        # the worker loads those versions from the op store (an unstored state travels as it is)
        definition, versions = pipeline.definition() if op_store_client is not None else (pipeline, None)
        keys, job_id = self._serializer.key_source.keys, str(uuid.uuid4())
        arguments = dill.dumps((definition, pipeline_input, op_store_client, runner, versions), recurse=True)
        meta = {PIPELINE_META: seal_json(keys, job_id, PIPELINE, pipeline.name),
                MODULES_META: seal_json(keys, job_id, MODULES, modules_of(pipeline, runner, op_store_client))}
        try:
            job = self._queue.enqueue(
                run_job, seal(keys, job_id, PAYLOAD, arguments), job_id=job_id, result_ttl=self.result_ttl,
                job_timeout=self.job_timeout, meta=meta, description=f"chariots pipeline {pipeline.name!r}",
            )
        except redis_module.exceptions.ConnectionError as error:
            raise self._unreachable(error) from error
        return job.id

    def get_pipeline_response_json_for_id(self, job_id: str, pipeline_name: Optional[str] = None) -> str:
        """Returns the JSON response of a job: its value when done, its error when failed.

        A running job whose worker stopped sending heartbeats is failed here, with the reason.
        What the answer says (the pipeline, the value, the error) is read only when it was sealed
        for this job.

        :param job_id: the id returned when the job was queued
        :param pipeline_name: when given, a job of another pipeline is not found
        :raises SignatureError: (a 403) naming the job and the field, when its pipeline name, result
                                or recorded error is not signed for it (a job planted in Redis, or a
                                field moved there from another job)
        """
        check_job_id(job_id)
        redis_module, _ = import_rq()
        from rq.exceptions import InvalidJobOperation, NoSuchJobError

        from chariots.workers._rq_classes import ChariotsJob

        keys = self._serializer.key_source.keys
        try:
            job = ChariotsJob.fetch(job_id, connection=self._redis, serializer=self._serializer)
            owner = unseal_json(keys, job_id, PIPELINE, job_meta(job).get(PIPELINE_META))
            if pipeline_name is not None and owner != pipeline_name:
                raise NoSuchJobError(job_id)
            status = JobStatus.from_rq(job.get_status())
            if status not in _TERMINAL:
                self._fail_abandoned_jobs()
                status = JobStatus.from_rq(job.get_status(refresh=True))
            if status is JobStatus.done:
                try:
                    sealed = job.return_value()
                except SignatureError as refused:
                    raise SignatureError(f"the result of job {job_id!r} is refused: {refused}") from None
                data = dict(unseal_json(keys, job_id, RESULT, sealed))
                data.update(job_id=job_id, job_status=status.value)
                return json.dumps(data)
            error = self._job_error(job, keys) if status is JobStatus.failed else None
        except NoSuchJobError:
            raise NotFoundError(f"no job {job_id!r} in the worker queue (unknown or expired)") from None
        except redis_module.exceptions.ConnectionError as error:
            raise self._unreachable(error) from error
        except ChariotsError:
            raise
        except (InvalidJobOperation, ValueError) as error:  # RQ reading a field of the hash it never writes
            raise SignatureError(
                f"job {job_id!r} is refused: its hash in Redis holds what RQ never writes ({error}), changed by "
                "someone without the key"
            ) from None
        return json.dumps(PipelineResponse(None, {}, job_id=job_id, job_status=status, error=error).json())

    def _fail_abandoned_jobs(self) -> None:
        """Started jobs past their heartbeat move to the failed jobs, with the reason (our cleanup,
        not RQ's: see :func:`~chariots.workers._rq_classes.fail_abandoned_jobs`)."""
        from chariots.workers._rq_classes import fail_abandoned_jobs

        fail_abandoned_jobs(self._queue)

    @staticmethod
    def _job_error(job, keys) -> Dict[str, str]:
        try:
            job.get_meta(refresh=True)
        except SignatureError:  # replaced in Redis since the job was read: no reason to show
            job.meta = {}
        meta = job_meta(job)
        if meta.get(ERROR_META) is not None:
            return dict(unseal_json(keys, job.id, ERROR, meta[ERROR_META]))
        return {"type": "JobError", "message": "the job failed without a recorded reason: see its worker's log"}


def _default_runner():
    from chariots.pipelines.runners import SequentialRunner

    return SequentialRunner()
