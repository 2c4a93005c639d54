"""Clients calling a pipelines server: the calls, over a transport (HTTP, or in process for tests).

The requests are built from the server's route table (:mod:`chariots.serving._routes`), so a
route's wire format lives in one place.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from chariots._response import PipelineResponse
from chariots._routes import decode_result, request_for
from chariots._transport import HTTPTransport, Transport
from chariots._wire import decode_json, error_from_response
from chariots.pipelines import Pipeline
from chariots.serving._routes import BY_ENDPOINT
from chariots.versioning import Version

__all__ = ["AbstractPipelinesClient", "PipelinesClient"]


class AbstractPipelinesClient:
    """The calls of a pipelines client; the transport only carries the requests.

    :param transport: how requests reach the server (HTTP for :class:`PipelinesClient`, the app
                      itself for ``TestPipelinesClient``)
    """

    def __init__(self, transport: Transport):
        self._transport = transport

    def request(self, method: str, route: str, json: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        """Sends one request and returns the status and the decoded JSON body (its text if not JSON)."""
        response = self._transport.send(method, route, json=json)
        body = decode_json(response.body)
        return response.status, body if body is not None else response.body.decode("utf-8", "replace")

    def _call(self, endpoint: str, **arguments: Any) -> Any:
        route = BY_ENDPOINT[endpoint]
        request = request_for(route, arguments)
        response = self._transport.send(request.method, request.path, json=request.json, params=request.params)
        if response.status >= 400:
            raise error_from_response(response, f"the pipelines server ({request.method} {request.path})")
        return decode_result(route, response.body)

    def call_pipeline(
        self, pipeline: Pipeline, pipeline_input: Optional[Any] = None, use_worker: Optional[bool] = None
    ) -> PipelineResponse:
        """Runs a pipeline on the server.

        :param pipeline: the pipeline (or its name) to run
        :param pipeline_input: the JSON-serializable input of the pipeline
        :param use_worker: whether to run it in a worker (None: the server's and pipeline's choice)
        :raises NotFoundError: (a ``ValueError``) if the server has no such pipeline
        :raises BackendError: if an op raised while running it
        :returns: the response; for a worker call, its ``job_id`` and ``job_status``
        """
        return self._call("call_pipeline", pipeline_name=_name(pipeline), pipeline_input=pipeline_input,
                          use_worker=use_worker)

    def fetch_job(self, job_id: str, pipeline: Pipeline) -> PipelineResponse:
        """Fetches the response of a call that ran in a worker.

        :param job_id: the ``job_id`` of the call's first response
        :param pipeline: the pipeline that was called
        """
        return self._call("fetch_job", pipeline_name=_name(pipeline), job_id=job_id)

    def wait_for_job(
        self,
        job_id: str,
        pipeline: Pipeline,
        timeout: Optional[float] = 60.0,
        poll_interval: float = 0.2,
        on_status: Optional[Callable[[PipelineResponse], None]] = None,
    ) -> PipelineResponse:
        """Fetches a worker job until it is done or failed.

        :param job_id: the ``job_id`` of the call's first response
        :param pipeline: the pipeline (or its name) that was called
        :param timeout: seconds to wait at most (None: forever)
        :param poll_interval: seconds between two fetches
        :param on_status: called with each response whose status differs from the previous one
                          (to show progress)
        :raises TimeoutError: naming the job, its pipeline and its last status, if it is still
                              running after ``timeout`` seconds
        :returns: the job's last response (``job_status`` done, or failed with its ``error``)
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last_status = None
        while True:
            response = self.fetch_job(job_id, pipeline)
            if response.job_status != last_status:
                last_status = response.job_status
                if on_status is not None:
                    on_status(response)
            if response.job_status.value in ("done", "failed"):
                return response
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"job {job_id!r} of pipeline {_name(pipeline)!r} is still {response.job_status.value} after "
                    f"{timeout}s: wait longer (timeout=), or check that a worker serves its queue"
                )
            time.sleep(poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - time.monotonic())))

    def is_pipeline_loaded(self, pipeline: Pipeline) -> bool:
        """Whether the server loaded the pipeline from its op store."""
        return bool(self._call("pipeline_health", pipeline_name=_name(pipeline))["is_loaded"])

    def load_pipeline(self, pipeline: Pipeline) -> None:
        """Makes the server load the latest compatible version of every node of the pipeline.

        :raises VersionError: if a node was not trained on the current version of its input
        """
        self._call("load_pipeline", pipeline_name=_name(pipeline))

    def save_pipeline(self, pipeline: Pipeline) -> None:
        """Makes the server save its copy of the pipeline (not the local object) to its op store."""
        self._call("save_pipeline", pipeline_name=_name(pipeline))

    def pipeline_versions(self, pipeline: Pipeline) -> Mapping[str, Version]:
        """The version of each node of the pipeline as the server holds it, by node name."""
        return self._call("pipeline_versions", pipeline_name=_name(pipeline))

    def available_pipelines(self) -> list:
        """The names of the pipelines the server serves."""
        return self._call("available_pipelines")


def _name(pipeline: Any) -> str:
    return pipeline if isinstance(pipeline, str) else pipeline.name


class PipelinesClient(AbstractPipelinesClient):
    """Calls a pipelines server over HTTP, reusing its connections.

    :param backend_url: the server's address
    :param auth_token: the bearer token, when the server requires one
    :param timeout: seconds to wait for an answer (None: forever)
    """

    def __init__(
        self,
        backend_url: str = "http://127.0.0.1:5000",
        auth_token: Optional[str] = None,
        timeout: Optional[float] = None,
    ):
        transport = HTTPTransport(backend_url, "pipelines server", auth_token=auth_token, timeout=timeout)
        super().__init__(transport)
        self.backend_url = transport.base_url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"PipelinesClient({self.backend_url!r})"
