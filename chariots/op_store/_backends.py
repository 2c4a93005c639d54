"""Where an op store client's calls go: an op store over HTTP, or the op store service of this process.

A backend carries one call of a route of :data:`chariots.op_store._routes.ROUTES` and returns its
result; it knows nothing of any route in particular (requests' adapters are the model). Adding an
op store operation touches the service, the route table and the client, never a backend.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any, Mapping, Optional, Protocol

from chariots import errors
from chariots._manifest import STATE_TAIL_BYTES
from chariots._routes import RAW, decode_result, request_for
from chariots._wire import RawResponse, error_from_response
from chariots.op_store._routes import BY_ENDPOINT

if TYPE_CHECKING:
    from chariots._transport import Transport
    from chariots.op_store._service import OpStoreService

__all__ = ["Backend", "HTTPBackend", "ServiceBackend"]


class Backend(Protocol):
    """Carries the calls of an op store client."""

    def call(self, endpoint: str, **arguments: Any) -> Any:
        """Calls the op store operation ``endpoint`` (a route of the route table) and returns its
        result: decoded values, or for a raw answer a :class:`~chariots._wire.RawResponse` (HTTP)
        or a binary stream to close (in process).

        :raises ChariotsError: (the matching subclass) when the op store refuses or fails
        """

    def request(self, method: str, route: str, json: Any = None, data: Optional[bytes] = None,
                params: Optional[Mapping[str, str]] = None, split_tail: int = 0) -> RawResponse:
        """Sends one request to the op store's routes and returns the raw answer."""

    def close(self) -> None:
        """Releases what the backend holds."""


class HTTPBackend:
    """The op store's routes over a transport (HTTP, or a WSGI app in process).

    :param transport: how requests reach the op store
    """

    def __init__(self, transport: "Transport"):
        self.transport = transport

    def call(self, endpoint: str, **arguments: Any) -> Any:
        """Sends the request of the route and decodes its answer (see :class:`Backend`)."""
        route = BY_ENDPOINT[endpoint]
        request = request_for(route, arguments)
        raw = route.result is RAW
        # the signature of a state is read apart from its data: the data is handed out without a copy
        response = self.request(request.method, request.path, json=request.json, data=request.data,
                                params=request.params, split_tail=STATE_TAIL_BYTES if raw else 0)
        if response.status >= 400:
            raise error_from_response(response, f"the op store ({request.method} {request.path})")
        if raw:
            return response
        try:
            return decode_result(route, response.body)
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.OpStoreError(
                f"the op store answered {request.method} {request.path} with a body that is not the expected "
                f"JSON: {response.body[:200]!r}"
            ) from exc

    def request(self, method: str, route: str, json: Any = None, data: Optional[bytes] = None,
                params: Optional[Mapping[str, str]] = None, split_tail: int = 0) -> RawResponse:
        """Sends one request and returns its raw answer, whatever its status."""
        return self.transport.send(method, route, json=json, data=data, params=params, split_tail=split_tail)

    def close(self) -> None:
        """Closes the transport's pooled connections."""
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()


class ServiceBackend:
    """Calls the op store service of this process directly: no socket, no WSGI, no JSON.

    :param service: the op store service
    :param transport: what :meth:`request` sends raw requests through (the server's app in process)
    """

    def __init__(self, service: "OpStoreService", transport: "Transport"):
        self.service = service
        self.transport = transport

    def call(self, endpoint: str, **arguments: Any) -> Any:
        """Calls the service method of the route (see :class:`Backend`)."""
        route = BY_ENDPOINT[endpoint]
        if route.raw_body:  # the service reads streams: the bytes become one
            data = arguments.pop("stream")
            arguments.update(stream=io.BytesIO(data), size=len(data))
        return getattr(self.service, endpoint)(**arguments)

    def request(self, method: str, route: str, json: Any = None, data: Optional[bytes] = None,
                params: Optional[Mapping[str, str]] = None, split_tail: int = 0) -> RawResponse:
        """Sends one request to the op store's app in process and returns its raw answer."""
        return self.transport.send(method, route, json=json, data=data, params=params, split_tail=split_tail)

    def close(self) -> None:
        """Closes the database connections."""
        self.service.close()


def decode_json_answer(response: RawResponse, what: str) -> Any:
    """The JSON value of a successful raw answer.

    :raises OpStoreError: if the body is not JSON
    """
    try:
        return json.loads(response.body) if response.body else None
    except ValueError as exc:
        raise errors.OpStoreError(f"the op store answered {what} with a body that is not JSON: "
                                  f"{response.body[:200]!r}") from exc
