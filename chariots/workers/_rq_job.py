"""What a worker runs for a pipeline call, the serializer jobs travel with, and how a failure is recorded."""
from __future__ import annotations

import os
import re
import socket
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

import dill

from chariots._response import PipelineResponse
from chariots._signing import JOB_PURPOSE, KeySource
from chariots.errors import InvalidNameError, OpError, SignatureError

if TYPE_CHECKING:
    from chariots.pipelines import OpStoreProtocol, Pipeline
    from chariots.pipelines.runners import BaseRunner
    from chariots.versioning import Version

#: job meta keys
PIPELINE_META = "chariots_pipeline"
MODULES_META = "chariots_modules"
WORKER_META = "chariots_worker"
ERROR_META = "chariots_error"

#: the error type of a job whose worker stopped sending heartbeats (killed, crashed, cut from Redis)
WORKER_DIED = "WorkerDied"

# what RQ's ids are made of (its own check of an id), at most 128 of them
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_job_id(job_id: object) -> str:
    """``job_id``, when it is an id a job can have; checked before Redis is asked anything.

    :raises InvalidNameError: (a 400) naming the id and what a job id is made of
    """
    if isinstance(job_id, str) and _JOB_ID.fullmatch(job_id):
        return job_id
    shown = repr(job_id[:60] + "..." if isinstance(job_id, str) and len(job_id) > 60 else job_id)
    raise InvalidNameError(
        f"job id {shown} is not one a job can have: a job id is 1 to 128 ASCII letters, digits, '-' and '_' (what "
        "the server answered when it queued the job)"
    )


class SignedRQSerializer:
    """RQ serializer using dill, so pipelines of ops defined in ``__main__`` travel too, and
    signing what it writes to Redis (job payloads, meta and results) with the secret key.

    :meth:`loads` checks the signature before dill reads a byte: a job or result planted in
    Redis by anyone without the key is refused (the job fails, a result reads as an error).

    :param key_source: the keys (by default ``CHARIOTS_SECRET_KEY``, else the user's key file)
    """

    def __init__(self, key_source: Optional[KeySource] = None):
        self.key_source = key_source if key_source is not None else KeySource()
        # RQ records a worker's serializer by dotted path: the class with the default keys
        self.__qualname__ = "DillRQSerializer"

    def dumps(self, obj: Any) -> bytes:
        return self.key_source.keys.sign(JOB_PURPOSE, dill.dumps(obj, recurse=True))

    def loads(self, data: bytes) -> Any:
        what = "a job (payload, meta or result) read from Redis"
        return dill.loads(self.key_source.keys.unsign(JOB_PURPOSE, data, what))

    def __repr__(self) -> str:
        return f"<SignedRQSerializer {self.key_source!r}>"


_DEFAULT_SERIALIZER = SignedRQSerializer()


class DillRQSerializer:
    """The :class:`SignedRQSerializer` with the default keys (``CHARIOTS_SECRET_KEY``, else the
    user's key file), by dotted path for workers started by hand:
    ``rq worker chariots_workers --serializer chariots.workers.DillRQSerializer``.
    """

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return _DEFAULT_SERIALIZER.dumps(obj)

    @staticmethod
    def loads(data: bytes) -> Any:
        return _DEFAULT_SERIALIZER.loads(data)


def _ops(pipeline: "Pipeline") -> Iterator[Any]:
    for node in pipeline.pipeline_nodes:
        op = getattr(node, "op", None)
        if op is None:
            continue
        if hasattr(op, "pipeline_nodes"):  # a pipeline used as an op
            yield from _ops(op)
        else:
            yield op


def modules_of(pipeline: "Pipeline", *others: Any) -> List[str]:
    """The importable modules defining the pipeline's ops (and ``others``' classes).

    A worker imports them once, before it forks for a job, so jobs do not import them again.
    Classes defined in ``__main__`` are left out: they travel inside the job.
    """
    modules = {type(item).__module__ for item in (*_ops(pipeline), *others) if item is not None}
    return sorted(module for module in modules if module and module != "__main__")


def run_pipeline_job(
    pipeline: "Pipeline",
    pipeline_input: Any,
    op_store_client: Optional["OpStoreProtocol"],
    runner: "BaseRunner",
    versions: Optional[Dict[str, "Version"]] = None,
) -> Dict[str, Any]:
    """Runs a pipeline call in a worker: load the states the server serves, run, save if it trained.

    :param pipeline: the pipeline's definition, without the states the op store keeps
                     (:meth:`~chariots.pipelines.Pipeline.definition`)
    :param versions: the version of each state left out, loaded back from the op store under the
                     same lineage check as any load (None: the newest compatible set)
    :returns: the JSON form of the call's :class:`~chariots.pipelines.PipelineResponse`
    """
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        # where the job runs, for the messages about a worker that died
        job.meta[WORKER_META] = {"pid": os.getpid(), "host": socket.gethostname()}
        job.save_meta()
    if op_store_client is not None:
        pipeline.load(op_store_client, versions=versions)
    before = {node.name: node.node_version for node in pipeline.pipeline_nodes}
    value = runner.run(pipeline, pipeline_input)
    versions_after = {node.name: node.node_version for node in pipeline.pipeline_nodes}
    if op_store_client is not None and versions_after != before:
        pipeline.save(op_store_client)
    response = PipelineResponse(value, versions_after, job_id=job.id if job else None)
    return response.json()


def _where(meta: Dict[str, Any]) -> str:
    worker = meta.get(WORKER_META)
    if not worker:
        return "the worker running this job"
    return f"the worker running this job (pid {worker.get('pid')} on host {worker.get('host')!r})"


def describe_failure(exc_type: type, exc_value: BaseException, meta: Dict[str, Any]) -> Dict[str, str]:
    """The ``{"type": ..., "message": ...}`` error of a failed job.

    The message keeps the exception's notes, which name the node and the pipeline that raised.
    """
    from rq.exceptions import AbandonedJobError

    if issubclass(exc_type, AbandonedJobError):
        message = (
            f"{_where(meta)} stopped sending heartbeats before the job finished: it died, was killed "
            "or lost Redis"
        )
        return {"type": WORKER_DIED, "message": message}
    cause = exc_value.__cause__
    if isinstance(cause, SignatureError):  # RQ's DeserializationError around a refused payload
        exc_type, exc_value = type(cause), cause
    if isinstance(exc_value, OpError):  # the op's own error, named by its type
        exc_type, text = type(exc_value.cause), exc_value.detail
    else:
        text = str(exc_value) or exc_type.__name__
    notes = [str(note) for note in getattr(exc_value, "__notes__", ())]
    return {"type": exc_type.__name__, "message": "; ".join([text, *notes])}


def record_failure(job: Any, connection: Any, exc_type: type, exc_value: BaseException, traceback: Any) -> None:
    """RQ failure callback: keeps the job's structured error in its meta.

    RQ calls it in the work horse when the job raises, and in whichever process cleans the
    started-job registry when the job's worker stopped sending heartbeats.
    """
    meta = job.get_meta(refresh=True)
    meta[ERROR_META] = describe_failure(exc_type, exc_value, meta)
    job.save_meta()


def record_work_horse_killed(job: Any, retpid: Any, ret_val: Any, rusage: Any) -> None:
    """RQ work-horse-killed handler: the process running the job ended without finishing it."""
    signal_number = os.WTERMSIG(ret_val) if isinstance(ret_val, int) and os.WIFSIGNALED(ret_val) else None
    how = f"was killed by signal {signal_number}" if signal_number else f"exited with status {ret_val}"
    meta = job.get_meta(refresh=True)
    meta[ERROR_META] = {
        "type": WORKER_DIED,
        "message": f"the process running this job (pid {retpid}) {how} before the job finished",
    }
    job.save_meta()
