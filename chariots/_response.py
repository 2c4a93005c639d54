"""The answer of a pipeline call and the states a call goes through, shared by the serving layer
and the workers (the core computes values; this is what a call answers)."""
from __future__ import annotations

import enum
import json
from typing import Any, Dict, Mapping, Optional

from chariots.pipelines import to_jsonable
from chariots.versioning import Version

__all__ = ["JobStatus", "PipelineResponse"]


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
        try:
            return cls(_RQ_STATUSES[str(value)])
        except KeyError:
            raise ValueError(f"unknown RQ job status {rq_status!r}") from None


#: RQ's job statuses, by the JobStatus each stands for
_RQ_STATUSES = {
    "queued": "queued",
    "scheduled": "deferred",
    "deferred": "deferred",
    "started": "running",
    "finished": "done",
    "failed": "failed",
    "stopped": "failed",
    "canceled": "failed",
}


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
