"""How a client's requests travel: over HTTP with a pooled session, or into a WSGI app in process.

A client holds one transport and stays the same whatever the transport: requests' ``Session``
with mounted adapters is the model. Both transports send the bearer token when given and answer
a :class:`~chariots._wire.RawResponse`; neither interprets the status (the client does, with
:func:`chariots._wire.error_from_response`).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Protocol, Tuple, Union

from chariots._wire import RawResponse, with_public_message
from chariots.errors import ServiceUnavailableError

__all__ = ["Transport", "HTTPTransport", "WSGITransport"]

_OCTET_STREAM = "application/octet-stream"
Timeout = Union[float, Tuple[float, float], None]


class Transport(Protocol):
    """Sends one request and returns the raw answer."""

    #: what the transport reaches, for messages (``'the op store at http://...'``)
    target: str

    def send(
        self,
        method: str,
        route: str,
        json: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
        split_tail: int = 0,
    ) -> RawResponse:
        """Sends ``method route`` with a JSON body, or raw bytes as ``application/octet-stream``.

        :param split_tail: read the last bytes of a successful answer's body apart, into
            :attr:`RawResponse.tail`, when the transport can without copying the body (a
            transport that cannot answers the body whole, and an empty tail)
        :raises ServiceUnavailableError: if the other side cannot be reached
        """


def _auth_headers(auth_token: Optional[str]) -> dict:
    return {"Authorization": f"Bearer {auth_token}"} if auth_token else {}


def _read_body(response: Any, split_tail: int) -> Tuple[bytes, bytes]:
    """The body of a streamed ``requests`` response, in one read (much faster for large models than
    requests' small chunks); with its last ``split_tail`` bytes in a second read when asked, for a
    success of known length, so that the body is never copied to strip them."""
    length = response.headers.get("Content-Length", "")
    size = int(length) if length.isascii() and length.isdigit() else -1  # "²" is a digit, not an int
    encoded = bool(response.headers.get("Content-Encoding"))
    if split_tail and response.status_code < 300 and size >= split_tail and not encoded:
        body = response.raw.read(size - split_tail, decode_content=True)
        return body, response.raw.read(decode_content=True)
    return response.raw.read(decode_content=True), b""


class HTTPTransport:
    """Requests over HTTP with a pooled ``requests.Session``.

    :param base_url: the server's address (``http://127.0.0.1:5000``)
    :param service: what the server is, for messages (``'op store'``)
    :param auth_token: the bearer token to send, if any
    :param timeout: a ``requests`` timeout (seconds, or connect and read seconds)
    :param pool_size: how many connections to keep open to the server
    """

    def __init__(
        self,
        base_url: str,
        service: str,
        auth_token: Optional[str] = None,
        timeout: Timeout = None,
        pool_size: int = 10,
    ):
        import requests
        from requests.adapters import HTTPAdapter

        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self._auth_token = auth_token
        self._pool_size = pool_size
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(_auth_headers(auth_token))

    @property
    def target(self) -> str:
        """the server this transport reaches"""
        return f"the {self.service} at {self.base_url}"

    def send(
        self,
        method: str,
        route: str,
        json: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
        split_tail: int = 0,
    ) -> RawResponse:
        """Sends one request over HTTP (see :class:`Transport`)."""
        import requests
        import urllib3

        headers = {"Content-Type": _OCTET_STREAM} if data is not None else None
        try:
            response = self._session.request(
                method, self.base_url + route, json=json, data=data, params=params, headers=headers,
                timeout=self.timeout, stream=True,
            )
            with response:
                body, tail = _read_body(response, split_tail)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise with_public_message(ServiceUnavailableError(
                f"{self.target} is unreachable ({method} {route}): {exc}; check that the server is running "
                "at that URL"
            ), f"the {self.service} is unreachable") from exc
        return RawResponse(response.status_code, body, response.headers.get("Content-Type", ""), tail)

    def close(self) -> None:
        """Closes the pooled connections."""
        self._session.close()

    def __reduce__(self):
        # a worker rebuilds its own session (sessions hold sockets)
        return type(self), (self.base_url, self.service, self._auth_token, self.timeout, self._pool_size)


class WSGITransport:
    """Requests handed straight to a WSGI app in this process: no socket, no thread.

    :param app: the WSGI application (a Flask app)
    :param service: what the app is, for messages
    :param auth_token: the bearer token to send, if any
    """

    def __init__(self, app: Callable, service: str, auth_token: Optional[str] = None):
        self.app = app
        self.service = service
        self._headers = _auth_headers(auth_token)

    @property
    def target(self) -> str:
        """the app this transport reaches"""
        return f"the in-process {self.service}"

    def send(
        self,
        method: str,
        route: str,
        json: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
        split_tail: int = 0,
    ) -> RawResponse:
        """Calls the app with a request built in memory (see :class:`Transport`; the body comes
        whole)."""
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        kwargs: dict = {"method": method, "query_string": params, "headers": self._headers}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = bytes(data)
            kwargs["content_type"] = _OCTET_STREAM
        builder = EnvironBuilder(route, **kwargs)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        return RawResponse(int(status.split(" ", 1)[0]), body, headers.get("Content-Type", ""))
