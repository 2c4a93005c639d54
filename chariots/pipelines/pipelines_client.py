"""Clients calling a pipelines server: over HTTP, or in process for tests."""
from __future__ import annotations

import abc
from typing import Any, Dict, Mapping, Optional, Tuple

from chariots import errors
from chariots.pipelines._pipeline import Pipeline
from chariots.pipelines._serving import PipelineResponse
from chariots.versioning import Version

__all__ = ["AbstractPipelinesClient", "PipelinesClient", "raise_for_error"]

_ERRORS_BY_TYPE = {
    name: getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), errors.ChariotsError)
}
_ERRORS_BY_STATUS = {
    400: errors.ChariotsError,
    401: errors.AuthenticationError,
    404: errors.NotFoundError,
    409: errors.VersionError,
    413: errors.ChariotsError,
    503: errors.ServiceUnavailableError,
}


def raise_for_error(status: int, body: Any) -> None:
    """Raises the Python exception matching a server's JSON error, if the status is one.

    A ``VersionError`` comes back as :class:`~chariots.errors.VersionError`, an op that raised
    as :class:`~chariots.errors.BackendError` naming the op's error, and so on.
    """
    if status < 400:
        return
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        raise errors.BackendError(f"the server answered {status} without a Chariots error: {body!r}")
    type_name, message = str(error.get("type")), str(error.get("message"))
    error_class = _ERRORS_BY_TYPE.get(type_name)
    if error_class is None or error_class is errors.ChariotsError:
        error_class = _ERRORS_BY_STATUS.get(status, errors.BackendError)
        if error_class is errors.BackendError:
            message = f"{type_name}: {message}"
    raise error_class(message)


class AbstractPipelinesClient(abc.ABC):
    """The calls of a pipelines client; subclasses only define how a request travels."""

    @abc.abstractmethod
    def request(self, method: str, route: str, json: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        """Sends one request and returns the status and the decoded JSON body."""

    def _call(self, method: str, route: str, json: Optional[Dict[str, Any]] = None) -> Any:
        status, body = self.request(method, route, json)
        raise_for_error(status, body)
        return body

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
        body = {"pipeline_input": pipeline_input, "use_worker": use_worker}
        return PipelineResponse.from_json(self._call("POST", f"/pipelines/{_name(pipeline)}/main", body))

    def fetch_job(self, job_id: str, pipeline: Pipeline) -> PipelineResponse:
        """Fetches the response of a call that ran in a worker.

        :param job_id: the ``job_id`` of the call's first response
        :param pipeline: the pipeline that was called
        """
        return PipelineResponse.from_json(self._call("GET", f"/pipelines/{_name(pipeline)}/jobs/{job_id}"))

    def is_pipeline_loaded(self, pipeline: Pipeline) -> bool:
        """Whether the server loaded the pipeline from its op store."""
        return bool(self._call("GET", f"/pipelines/{_name(pipeline)}/health_check")["is_loaded"])

    def load_pipeline(self, pipeline: Pipeline) -> None:
        """Makes the server load the latest compatible version of every node of the pipeline.

        :raises VersionError: if a node was not trained on the current version of its input
        """
        self._call("POST", f"/pipelines/{_name(pipeline)}/load")

    def save_pipeline(self, pipeline: Pipeline) -> None:
        """Makes the server save its copy of the pipeline (not the local object) to its op store."""
        self._call("POST", f"/pipelines/{_name(pipeline)}/save")

    def pipeline_versions(self, pipeline: Pipeline) -> Mapping[str, Version]:
        """The version of each node of the pipeline as the server holds it, by node name."""
        body = self._call("GET", f"/pipelines/{_name(pipeline)}/versions")
        return {name: Version.parse(text) for name, text in body.items()}

    def available_pipelines(self) -> list:
        """The names of the pipelines the server serves."""
        return self._call("GET", "/available_pipelines")


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
        import requests

        self.backend_url = backend_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if auth_token:
            self._session.headers["Authorization"] = f"Bearer {auth_token}"

    def request(self, method: str, route: str, json: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        import requests

        try:
            response = self._session.request(method, self.backend_url + route, json=json, timeout=self.timeout)
        except requests.ConnectionError as error:
            raise errors.ServiceUnavailableError(
                f"cannot reach the pipelines server at {self.backend_url}: {error}"
            ) from error
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body
