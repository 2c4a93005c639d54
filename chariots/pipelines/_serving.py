"""What the pipelines server decides, kept apart from HTTP so it can be tested without a server."""
from __future__ import annotations

import enum
import json
from typing import Any, Dict, Mapping, Optional

from chariots.errors import ChariotsError
from chariots.versioning import Version


class JobStatus(enum.Enum):
    """The states a pipeline call can be in."""

    deferred = "deferred"
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"

    @classmethod
    def from_rq(cls, rq_status: Any) -> "JobStatus":
        """Maps an RQ job status (enum or string) to a :class:`JobStatus`.

        :param rq_status: the status RQ reports
        :raises ValueError: for a status RQ does not define
        """
        value = getattr(rq_status, "value", rq_status)
        mapping = {
            "queued": cls.queued,
            "scheduled": cls.deferred,
            "deferred": cls.deferred,
            "started": cls.running,
            "finished": cls.done,
            "failed": cls.failed,
            "stopped": cls.failed,
            "canceled": cls.failed,
        }
        try:
            return mapping[str(value)]
        except KeyError:
            raise ValueError(f"unknown RQ job status {rq_status!r}") from None


def use_worker_for_call(
    app_flag: Optional[bool], pipeline_flag: Optional[bool], request_flag: Optional[bool]
) -> bool:
    """Decides whether a call runs in a worker: any explicit False wins, else any True does.

    :param app_flag: the server's ``use_workers``
    :param pipeline_flag: the pipeline's ``use_worker``
    :param request_flag: the request's ``use_worker``
    """
    flags = (app_flag, pipeline_flag, request_flag)
    if any(flag is False for flag in flags):
        return False
    return any(flag is True for flag in flags)


def to_jsonable(value: Any) -> Any:
    """Converts numpy arrays and scalars (and pandas objects) in a pipeline output to JSON types."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        if hasattr(value, "tolist"):
            return value.tolist()
    if module == "pandas" and hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict(orient="list") if hasattr(value, "columns") else value.to_list())
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    raise TypeError(
        f"the pipeline output holds a {type(value).__name__}, which cannot be sent as JSON: "
        "end the pipeline with an op returning lists, numbers, strings or dicts"
    )


class PipelineResponse:
    """The answer to a pipeline call: its value, the versions of its nodes and the job's state.

    :param value: the pipeline's output (None while a job is not done)
    :param versions: the version of each node that ran, by node name
    :param job_id: the id of the worker job, for asynchronous calls
    :param job_status: the state of the call
    """

    def __init__(
        self,
        value: Any,
        versions: Mapping[str, Version],
        job_id: Optional[str] = None,
        job_status: JobStatus = JobStatus.done,
        error: Optional[Dict[str, str]] = None,
    ):
        self.value = value
        self.versions = dict(versions)
        self.job_id = job_id
        self.job_status = JobStatus(job_status)
        self.error = error

    def json(self) -> Dict[str, Any]:
        """The response as sent over HTTP."""
        return {
            "pipeline_output": to_jsonable(self.value),
            "versions": {name: str(version) for name, version in self.versions.items()},
            "job_id": self.job_id,
            "job_status": self.job_status.value,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PipelineResponse":
        """Builds a response from :meth:`json`'s output (a dict or its JSON text)."""
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        return cls(
            value=data.get("pipeline_output"),
            versions={name: Version.parse(text) for name, text in (data.get("versions") or {}).items()},
            job_id=data.get("job_id"),
            job_status=JobStatus(data.get("job_status") or "done"),
            error=data.get("error"),
        )

    def __repr__(self) -> str:
        return f"<PipelineResponse {self.job_status.value} value={self.value!r}>"


def error_body(error: BaseException) -> tuple[Dict[str, Any], int]:
    """The JSON error body and HTTP status for an exception raised while serving a request."""
    status = error.status_code if isinstance(error, ChariotsError) else 500
    message = "; ".join([str(error), *getattr(error, "__notes__", ())])
    return {"error": {"type": type(error).__name__, "message": message}}, status
