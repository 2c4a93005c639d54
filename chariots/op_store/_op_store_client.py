"""Clients of the op store: the shared protocol logic, and the HTTP client."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple, Union
from urllib.parse import quote

from chariots import errors
from chariots.op_store._names import check_node_name, check_op_name
from chariots.versioning import Version

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["BaseOpStoreClient", "OpStoreClient", "RawResponse"]

_OCTET_STREAM = "application/octet-stream"
# the error types a server may name, raised as themselves on the client side
_ERROR_TYPES = {
    error_class.__name__: error_class
    for error_class in (
        errors.ChariotsError,
        errors.VersionError,
        errors.OpStoreError,
        errors.NotFoundError,
        errors.InvalidNameError,
        errors.ServiceUnavailableError,
        errors.AuthenticationError,
        errors.ConfigError,
        errors.PipelineError,
    )
}
_ERROR_STATUSES = {
    401: errors.AuthenticationError,
    404: errors.NotFoundError,
    409: errors.VersionError,
    503: errors.ServiceUnavailableError,
}


class RawResponse(NamedTuple):
    """What a transport got back: status code, body bytes and content type."""

    status: int
    body: bytes
    content_type: str


class BaseOpStoreClient(ABC):
    """The op store operations pipelines and nodes use, over any transport.

    Subclasses only implement :meth:`request`; this class builds the routes, encodes names and
    versions, and turns the server's JSON errors back into :mod:`chariots.errors` exceptions
    with the server's message. Op names are checked before anything is sent.
    """

    @abstractmethod
    def request(
        self,
        method: str,
        route: str,
        json_body: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
    ) -> RawResponse:
        """Sends one request to the op store.

        :param method: the HTTP method
        :param route: the route, already URL-encoded (``/ops/my_op/versions``)
        :param json_body: a body to send as JSON
        :param data: raw bytes to send as an ``application/octet-stream`` body
        :param params: query string parameters
        :raises ServiceUnavailableError: if the op store cannot be reached
        :returns: the raw response
        """

    # ------------------------------------------------------------------ generic requests

    def post(self, route: str, arguments_json: Any) -> Any:
        """Posts a JSON body to a route of the op store and returns the decoded JSON answer.

        :param route: the route (``/validated_links`` for instance)
        :param arguments_json: the JSON-serializable body
        :raises ChariotsError: (the matching subclass) when the op store answers an error
        :returns: the decoded JSON answer
        """
        return self._json("POST", route, json_body=arguments_json)

    def health_check(self) -> Dict[str, Any]:
        """Checks that the op store and its database answer.

        :raises ServiceUnavailableError: if either does not
        :returns: the server's status (``{"status": "ok"}``)
        """
        return self._json("GET", "/health_check")

    def _json(self, method: str, route: str, **kwargs: Any) -> Any:
        response = self._checked(method, route, **kwargs)
        try:
            return json.loads(response.body) if response.body else None
        except ValueError as exc:
            raise errors.OpStoreError(
                f"the op store answered {method} {route} with a body that is not JSON: {response.body[:200]!r}"
            ) from exc

    def _checked(self, method: str, route: str, **kwargs: Any) -> RawResponse:
        response = self.request(method, route, **kwargs)
        if response.status >= 400:
            raise _error_from(method, route, response)
        return response

    # ------------------------------------------------------------------ the store protocol

    def get_all_versions_of_op(self, op_name: str) -> List[Version]:
        """Every saved version of an op (empty when it was never saved), oldest first.

        :param op_name: the op's name
        :raises InvalidNameError: if the name could not be a saver path
        """
        check_op_name(op_name)
        body = self._json("GET", f"/ops/{_quote(op_name)}/versions")
        return [Version.parse(version) for version in body["versions"]]

    def get_op_bytes_for_version(self, op_name: str, version: Version) -> bytes:
        """The bytes saved for one version of an op.

        :param op_name: the op's name
        :param version: the version to fetch
        :raises NotFoundError: if the op or that version was never saved
        """
        check_op_name(op_name)
        return self._checked("GET", _bytes_route(op_name, version)).body

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        """Saves the bytes of one version of an op; the store records the version once they are saved.

        :param op_name: the op's name
        :param version: the version the bytes belong to
        :param op_bytes: the serialized op, sent as a raw binary body
        """
        check_op_name(op_name)
        if not isinstance(op_bytes, (bytes, bytearray, memoryview)):
            raise TypeError(f"op {op_name!r} must serialize to bytes, got {type(op_bytes).__name__}")
        if isinstance(op_bytes, memoryview):
            op_bytes = op_bytes.tobytes()
        self._checked("PUT", _bytes_route(op_name, version), data=op_bytes)

    def register_valid_link(self, downstream_op: str, upstream_op: str, upstream_op_version: Version) -> None:
        """Records that ``downstream_op`` was validated with that version of ``upstream_op``."""
        self._json(
            "POST",
            "/validated_links",
            json_body={
                "downstream_op": check_node_name(downstream_op, "downstream op name"),
                "upstream_op": check_node_name(upstream_op, "upstream op name"),
                "upstream_op_version": str(upstream_op_version),
            },
        )

    def get_validated_links(self, downstream_op: str, upstream_op: str) -> Set[Version]:
        """The upstream versions validated for a (downstream, upstream) pair (empty if none)."""
        body = self._json(
            "GET",
            "/validated_links",
            params={
                "downstream_op": check_node_name(downstream_op, "downstream op name"),
                "upstream_op": check_node_name(upstream_op, "upstream op name"),
            },
        )
        return {Version.parse(version) for version in body["versions"]}

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""
        check_node_name(pipeline_name, "pipeline name")
        try:
            self._json("GET", f"/pipelines/{_quote(pipeline_name)}")
        except errors.NotFoundError:
            return False
        return True

    def register_new_pipeline(self, pipeline: "Pipeline") -> None:
        """Records a pipeline's name and the names of its nodes."""
        self._json(
            "POST",
            "/pipelines",
            json_body={
                "pipeline_name": check_node_name(pipeline.name, "pipeline name"),
                "node_names": [node.name for node in pipeline.pipeline_nodes],
            },
        )

    def get_all_pipelines(self) -> List[str]:
        """The names of every pipeline the store has seen."""
        return list(self._json("GET", "/pipelines")["pipelines"])


class OpStoreClient(BaseOpStoreClient):
    """Client used to query an :class:`~chariots.op_store.OpStoreServer` over HTTP.

    It keeps a pooled ``requests.Session``, sends model bytes as raw binary bodies, and
    raises the :mod:`chariots.errors` exception matching the server's answer.

    >>> op_store_client = OpStoreClient("http://127.0.0.1:5000")  # doctest: +SKIP

    :param url: the base URL of the op store server
    :param auth_token: the bearer token, when the server requires one
    :param timeout: seconds to wait to connect and between two reads (a ``requests`` timeout)
    :param pool_size: how many connections to keep open to the server
    """

    def __init__(
        self,
        url: str,
        auth_token: Optional[str] = None,
        timeout: Union[float, Tuple[float, float], None] = (10.0, 600.0),
        pool_size: int = 10,
    ):
        import requests
        from requests.adapters import HTTPAdapter

        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        if auth_token is not None:
            self._session.headers["Authorization"] = f"Bearer {auth_token}"

    def request(
        self,
        method: str,
        route: str,
        json_body: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
    ) -> RawResponse:
        """Sends one HTTP request to the op store (see :meth:`BaseOpStoreClient.request`)."""
        import requests
        import urllib3

        headers = {"Content-Type": _OCTET_STREAM} if data is not None else None
        try:
            response = self._session.request(
                method,
                self.url + route,
                json=json_body,
                data=data,
                params=params,
                headers=headers,
                timeout=self.timeout,
                stream=True,
            )
            with response:
                # one read of the whole body: much faster for large models than requests' small chunks
                body = response.raw.read(decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise errors.ServiceUnavailableError(
                f"the op store at {self.url} is unreachable ({method} {route}): {exc}; "
                "check that the server is running at that URL"
            ) from exc
        return RawResponse(response.status_code, body, response.headers.get("Content-Type", ""))

    def close(self) -> None:
        """Closes the pooled connections."""
        self._session.close()

    def __repr__(self) -> str:
        return f"OpStoreClient({self.url!r})"


def _quote(name: str) -> str:
    return quote(name, safe="")


def _bytes_route(op_name: str, version: Version) -> str:
    if not isinstance(version, Version):
        raise TypeError(f"expected a Version for op {op_name!r}, got {version!r}")
    return f"/ops/{_quote(op_name)}/versions/{_quote(str(version))}"


def _error_from(method: str, route: str, response: RawResponse) -> errors.ChariotsError:
    error_type, message = None, None
    try:
        error = json.loads(response.body)["error"]
        error_type, message = error["type"], error["message"]
    except (ValueError, KeyError, TypeError):
        message = response.body[:500].decode("utf-8", "replace")
    error_class = _ERROR_TYPES.get(error_type) or _ERROR_STATUSES.get(response.status, errors.OpStoreError)
    return error_class(message or f"the op store answered {method} {route} with status {response.status}")
