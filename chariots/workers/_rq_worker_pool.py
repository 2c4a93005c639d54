"""The worker pool on RQ and Redis."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Dict, Optional

from chariots.errors import MissingExtraError, NotFoundError, ServiceUnavailableError
from chariots.pipelines._serving import JobStatus, PipelineResponse
from chariots.workers._base_worker_pool import BaseWorkerPool
from chariots.workers._rq_job import DillRQSerializer, run_pipeline_job

if TYPE_CHECKING:
    from redis import Redis

    from chariots.pipelines import Pipeline, PipelinesServer

QUEUE_NAME = "chariots_workers"
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")


def _import_rq():
    try:
        import redis
        import rq
    except ImportError as error:
        raise MissingExtraError(error.name or "rq", "workers") from error
    return redis, rq


class RQWorkerPool(BaseWorkerPool):
    """Runs pipeline calls in RQ workers; job ids and results live in Redis, so any server
    process can fetch any job.

    :param redis_kwargs: arguments of :class:`redis.Redis`, used when ``redis`` is not given
    :param redis: the Redis connection RQ uses (wins over ``redis_kwargs``)
    :param queue_kwargs: extra arguments of :class:`rq.Queue` (``connection``, ``name`` and
                         ``serializer`` are set by the pool)
    """

    def __init__(
        self,
        redis_kwargs: Optional[Dict[str, Any]] = None,
        redis: Optional["Redis"] = None,
        queue_kwargs: Optional[Dict[str, Any]] = None,
    ):
        redis_module, rq = _import_rq()
        self._redis = redis if redis is not None else redis_module.Redis(**(redis_kwargs or {}))
        queue_kwargs = dict(queue_kwargs or {})
        # results stay a day (RQ keeps them 500 s by default): any server can fetch them later
        self.result_ttl = queue_kwargs.pop("result_ttl", 24 * 3600)
        self.job_timeout = queue_kwargs.pop("job_timeout", None)
        queue_kwargs.update(name=QUEUE_NAME, connection=self._redis, serializer=DillRQSerializer)
        self._queue = rq.Queue(**queue_kwargs)
        self._processes: list[subprocess.Popen] = []

    @property
    def redis(self) -> "Redis":
        """the Redis connection of the pool"""
        return self._redis

    @property
    def queue(self):
        """the RQ queue jobs are sent to"""
        return self._queue

    def _unreachable(self, error: Exception) -> ServiceUnavailableError:
        kwargs = self._redis.connection_pool.connection_kwargs
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return ServiceUnavailableError(f"cannot reach Redis at {where} for the worker queue: {error}")

    @property
    def n_workers(self) -> int:
        """number of RQ workers listening to the pool's queue"""
        redis_module, rq = _import_rq()
        try:
            return rq.Worker.count(connection=self._redis, queue=self._queue)
        except redis_module.exceptions.ConnectionError as error:
            raise self._unreachable(error) from error

    def spawn_worker(self, burst: bool = False, log_level: str = "WARNING") -> subprocess.Popen:
        """Starts an RQ worker process for this pool's queue, in its own process group.

        :param burst: stop the worker once the queue is empty
        :param log_level: the worker's logging level
        :returns: the worker process
        """
        kwargs = self._redis.connection_pool.connection_kwargs
        command = [sys.executable, "-m", "chariots.workers", "--host", str(kwargs.get("host", "localhost")),
                   "--port", str(kwargs.get("port", 6379)), "--db", str(kwargs.get("db", 0)),
                   "--log-level", log_level]
        if burst:
            command.append("--burst")
        env = dict(os.environ)
        if kwargs.get("password"):
            env["CHARIOTS_REDIS_PASSWORD"] = kwargs["password"]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        process = subprocess.Popen(command, env=env, start_new_session=True)
        self._processes.append(process)
        return process

    def execute_pipeline_async(self, pipeline: "Pipeline", pipeline_input: Any, app: "PipelinesServer") -> str:
        """Queues a call of ``pipeline`` for a worker and returns the RQ job id."""
        redis_module, _ = _import_rq()
        try:
            job = self._queue.enqueue(
                run_pipeline_job, pipeline, pipeline_input, getattr(app, "op_store_client", None),
                getattr(app, "runner", None) or _default_runner(),
                result_ttl=self.result_ttl, job_timeout=self.job_timeout,
                meta={"chariots_pipeline": pipeline.name},
            )
        except redis_module.exceptions.ConnectionError as error:
            raise self._unreachable(error) from error
        return job.id

    def get_pipeline_response_json_for_id(self, job_id: str, pipeline_name: Optional[str] = None) -> str:
        """Returns the JSON response of a job: its value when done, its error when failed.

        :param job_id: the id returned when the job was queued
        :param pipeline_name: when given, a job of another pipeline is not found
        """
        redis_module, rq = _import_rq()
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(job_id, connection=self._redis, serializer=DillRQSerializer)
            owner = job.get_meta(refresh=False).get("chariots_pipeline")
            if pipeline_name is not None and owner is not None and owner != pipeline_name:
                raise NoSuchJobError(job_id)
            rq_status = job.get_status()
            if rq_status == rq.job.JobStatus.STARTED and self._worker_died(job):
                self._fail_abandoned(job)
                rq_status = job.get_status()
            status = JobStatus.from_rq(rq_status)
            if status is JobStatus.done:
                data = dict(job.return_value() or {})
                data.update(job_id=job_id, job_status=status.value)
                return json.dumps(data)
            error = self._job_error(job) if status is JobStatus.failed else None
        except NoSuchJobError:
            raise NotFoundError(f"no job {job_id!r} in the worker queue (unknown or expired)") from None
        except redis_module.exceptions.ConnectionError as error:
            raise self._unreachable(error) from error
        return json.dumps(PipelineResponse(None, {}, job_id=job_id, job_status=status, error=error).json())

    @staticmethod
    def _worker_died(job) -> bool:
        worker = job.get_meta(refresh=True).get("chariots_worker")
        if not worker or worker.get("host") != socket.gethostname():
            return False
        try:
            os.kill(int(worker["pid"]), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _fail_abandoned(self, job) -> None:
        worker = job.meta["chariots_worker"]
        message = f"the worker running this job (pid {worker['pid']}) died before it finished"
        with self._redis.pipeline() as pipe:
            job.set_status(job.get_status().__class__.FAILED, pipeline=pipe)
            job.started_job_registry.remove_executions(job, pipeline=pipe)
            job._handle_failure(exc_string=f"WorkerDied: {message}", pipeline=pipe)
            pipe.execute()

    @staticmethod
    def _job_error(job) -> Dict[str, str]:
        result = job.latest_result()
        text = (result.exc_string if result is not None else None) or "the job failed without a reason"
        lines = [line for line in text.strip().splitlines() if line.strip()]
        for index in range(len(lines) - 1, -1, -1):
            match = _EXCEPTION_LINE.match(lines[index])
            if match:
                # the exception line, then its notes (which node of which pipeline raised)
                message = "; ".join([match.group(2), *lines[index + 1:]])
                return {"type": match.group(1).rsplit(".", 1)[-1], "message": message}
        return {"type": "JobError", "message": lines[-1] if lines else text}


def _default_runner():
    from chariots.pipelines.runners import SequentialRunner

    return SequentialRunner()
