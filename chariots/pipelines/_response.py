"""The answer of a pipeline call, the states a call goes through, and how outputs become JSON;
free of any HTTP or queue concern."""
from __future__ import annotations

import enum
import json
from typing import Any, Dict, Mapping, Optional

from chariots.versioning import Version

__all__ = ["JobStatus", "PipelineResponse", "to_jsonable"]


class JobStatus(enum.Enum):
    """The states a pipeline call can be in."""

    deferred = "deferred"
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


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
