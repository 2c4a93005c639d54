"""What both Flask servers share at their HTTP edge: JSON errors, bearer tokens, JSON bodies, and
the checks every request passes first.

A server calls :func:`install_error_handlers` once: every exception a view raises then leaves as
the wire's JSON error body (:func:`chariots._wire.error_response`), werkzeug's own HTTP errors
(unknown route, wrong method, body too large) included, and every request goes through the edge
checks first:

- its ``Host`` header names a host the server accepts (:func:`host_allowed`): a server listening
  on a loopback address answers only loopback names (``localhost``, ``127.0.0.1``, ``[::1]``), so
  a web page whose name an attacker points at 127.0.0.1 (DNS rebinding) reads nothing; other
  names are allowed with the server's ``allowed_hosts`` or ``CHARIOTS_ALLOWED_HOSTS``;
- a request that changes something (any method but ``GET``, ``HEAD`` and ``OPTIONS``) sent by a
  browser from another origin (its ``Origin`` or ``Sec-Fetch-Site`` header) is refused: a web page
  cannot drive a server, token or not;
- a ``Content-Length`` is a number, and a body that cannot be read (a malformed chunked
  encoding) is a 400, one larger than the cap a 413, whether its size was announced or not;
- a JSON body comes as ``Content-Type: application/json`` (a 415 otherwise: a form or
  ``text/plain`` body is what a web page can send without asking) and holds finite numbers only.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import math
import os
import re
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import flask
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, UnsupportedMediaType

from chariots import _logging
from chariots._wire import error_body, error_response
from chariots.errors import AuthenticationError, BadRequestError, ChariotsError, ServiceUnavailableError

__all__ = [
    "install_error_handlers", "check_bearer_token", "json_object_body", "install_request_tracking",
    "open_metrics_request", "REQUEST_ID_HEADER", "ALLOWED_HOSTS_ENV", "ALLOWED_HOSTS_CONFIG", "host_allowed",
    "checked_allowed_hosts", "loads_json", "finite",
    "checked_token_setting", "environment_token",
]

#: the header carrying a request's id, read from the request and always set on the response
REQUEST_ID_HEADER = "X-Request-ID"
_METRICS_OPEN = "CHARIOTS_METRICS_OPEN"
#: the environment variable listing the host names a server accepts besides its default (comma separated)
ALLOWED_HOSTS_ENV = "CHARIOTS_ALLOWED_HOSTS"
#: where a server keeps its ``allowed_hosts`` setting, in its Flask config
ALLOWED_HOSTS_CONFIG = "CHARIOTS_ALLOWED_HOSTS"
_JSON = "application/json"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the routes answered whatever the Host (liveness probes name the host by its address)
_ANY_HOST_ROUTES = frozenset({"/health_check"})

logger = logging.getLogger("chariots.http")

#: turns an exception a service did not expect into the Chariots error to answer (or None: a 500)
Translate = Callable[[Exception], Optional[ChariotsError]]


def _http_error(service: str, error: HTTPException) -> Tuple[Dict[str, Any], int]:
    request = flask.request
    status = error.code or 500
    if status == 404:
        return error_body("NotFoundError", f"no {service} route {request.method} {request.path}"), 404
    if status == 405:
        message = f"the {service} route {request.path} does not accept {request.method}"
    elif status == 413:
        limit = flask.current_app.config.get("MAX_CONTENT_LENGTH")
        size = f"{request.content_length} bytes" if request.content_length is not None else "unknown size"
        message = (
            f"the request body ({size}) is larger than this {service} accepts ({limit} bytes): "
            "raise the server's max_content_length"
        )
    else:
        message = error.description or error.name
    return error_body(type(error).__name__, message), status


def checked_allowed_hosts(hosts: Optional[Sequence[str]], key: str) -> Optional[List[str]]:
    """A server's ``allowed_hosts`` setting: None (the default rule) or a list of host patterns.

    A pattern is a host name or address (``models.example.com``, ``10.0.0.5``, ``[::1]``), a name
    starting with a dot for it and every name under it (``.example.com``), or ``*`` for any host.

    :param key: the setting, for the message (``'OpStoreServer(allowed_hosts=...)'``)
    :raises ConfigError: for a string (a list is expected) or an empty pattern
    """
    if hosts is None:
        return None
    from chariots.errors import ConfigError

    if isinstance(hosts, str) or not all(isinstance(host, str) and host.strip() for host in hosts):
        raise ConfigError(f"{key} must be a list of host names (e.g. ['models.example.com', '.internal']), "
                          f"got {hosts!r}")
    return [_hostname(host.strip()) if host.strip() not in ("*",) and not host.strip().startswith(".")
            else host.strip().lower() for host in hosts]


def _hostname(host: str) -> str:
    """The host name of a ``Host`` header value (or of a pattern): lowercased, without its port
    nor the brackets of an IPv6 address."""
    host = host.strip().lower()
    if host.count(":") > 1 and not host.startswith("["):  # a bare IPv6 address (in a pattern)
        return host
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


@functools.lru_cache(maxsize=512)
def _is_loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, listening_on: str, allowed: Optional[Sequence[str]]) -> bool:
    """Whether a request naming ``host`` (its ``Host`` header) is served.

    :param host: the ``Host`` header
    :param listening_on: the address the request came in on (the WSGI ``SERVER_NAME``)
    :param allowed: the server's patterns (see :func:`checked_allowed_hosts`); None: the default
                    rule, loopback names only on a loopback address and any host elsewhere (a
                    server on an open address cannot tell its own names: list them)
    """
    name = _hostname(host)
    if not name or any(character in name for character in ",/\\@ \t"):
        return False
    if allowed is None:
        return _is_loopback_name(name) or not _is_loopback_name(_hostname(listening_on))
    for pattern in allowed:
        if pattern == "*" or name == pattern or (pattern.startswith(".") and (name.endswith(pattern)
                                                                              or name == pattern[1:])):
            return True
    return False


def _configured_hosts(app: flask.Flask) -> Optional[List[str]]:
    configured = app.config.get(ALLOWED_HOSTS_CONFIG)
    if configured is not None:
        return configured
    return _hosts_from_environment(os.environ.get(ALLOWED_HOSTS_ENV, ""))


@functools.lru_cache(maxsize=8)
def _hosts_from_environment(value: str) -> Optional[List[str]]:
    listed = [host for host in value.split(",") if host.strip()]
    return checked_allowed_hosts(listed, ALLOWED_HOSTS_ENV) if listed else None


def _check_host(app: flask.Flask, service: str) -> None:
    request = flask.request
    if request.path in _ANY_HOST_ROUTES:
        return
    # a WSGI server hands every Host header in one environ key (several joined by commas: refused)
    host = request.environ.get("HTTP_HOST", "")
    if host_allowed(host, request.environ.get("SERVER_NAME", ""), _configured_hosts(app)):
        return
    raise BadRequest(
        f"this {service} does not serve the host named by the request's Host header ({host[:100]!r}): "
        f"list the names it is reached by in its allowed_hosts (or {ALLOWED_HOSTS_ENV}); a server on a "
        "loopback address answers loopback names only (localhost, 127.0.0.1, [::1])"
    )


def _check_origin(service: str) -> None:
    request = flask.request
    if request.method in _SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    fetched_from = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if origin is None and fetched_from in ("", "same-origin", "none"):
        return  # not sent by a browser, or by a page of this server
    if origin is not None and fetched_from in ("", "same-origin"):
        expected = f"{request.scheme}://{request.host}".lower()
        if origin.strip().lower() == expected:
            return
    raise Forbidden(
        f"this {service} refuses {request.method} {request.path} sent from the web page at "
        f"{(origin or fetched_from)[:100]!r} (its Origin header): a browser page of another site cannot "
        "change anything here; call the server from your own backend"
    )


class _ReadFailed(Exception):
    """The request body could not be read (a malformed chunked encoding, a client gone). Neither
    an ``OSError`` nor a ``ValueError``, so that no reader on the way takes it for an end of
    stream or a bad value: the edge answers it 400, however deep in a view it was raised."""

    def bad_request(self) -> BadRequestError:
        return BadRequestError(
            f"the request body cannot be read ({self}): send its size in a Content-Length header, or a "
            "well-formed chunked encoding (hexadecimal chunk sizes, a last chunk of size 0)"
        )


def _read_failure(error: BaseException) -> Optional[_ReadFailed]:
    seen = 0
    current: Optional[BaseException] = error
    while current is not None and seen < 20:
        if isinstance(current, _ReadFailed):
            return current
        current, seen = current.__cause__ or current.__context__, seen + 1
    return None


class _GuardedInput:
    """The WSGI input of a request, whose read errors (a malformed chunked encoding, a client gone,
    whatever the WSGI server raises) become :class:`_ReadFailed` rather than a server error."""

    def __init__(self, stream: Any):
        self._stream = stream

    def _guarded(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except HTTPException:
            raise
        except Exception as error:
            raise _ReadFailed(f"{type(error).__name__}: {error}"[:200]) from None

    def read(self, *args: Any) -> bytes:
        return self._guarded("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._guarded("readline", *args)

    def readinto(self, buffer: Any) -> int:
        if hasattr(self._stream, "readinto"):
            return self._guarded("readinto", buffer)
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def __iter__(self):
        return iter(self.readline, b"")

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _Edge:
    """WSGI middleware of a server: the input of every request guarded (see :class:`_GuardedInput`)."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Any:
        if "wsgi.input" in environ:
            environ["wsgi.input"] = _GuardedInput(environ["wsgi.input"])
        return self.wsgi_app(environ, start_response)


def install_error_handlers(app: flask.Flask, service: str, translate: Optional[Translate] = None) -> None:
    """Makes every error of ``app`` answer a JSON error body with a fitting status.

    :param app: the Flask app
    :param service: what the app is, for messages (``'op store'``)
    :param translate: maps a service's unexpected exceptions (a database driver's, say) to
                      Chariots errors; anything left is logged with its traceback and answered 500
    """

    def check_edge() -> None:
        _check_host(app, service)
        _check_origin(service)
        # werkzeug reads a Content-Length it cannot parse as "no body": refuse it rather than
        # take an empty model or an empty call
        declared = flask.request.headers.get("Content-Length")
        if declared is not None and not declared.strip().isdigit():
            raise BadRequestError(
                f"the Content-Length header {declared[:40]!r} is not a number of bytes: send the body's size in "
                "bytes, or no Content-Length with Transfer-Encoding: chunked"
            )

    app.before_request(check_edge)  # after the token check: a stranger learns nothing more
    app.wsgi_app = _Edge(app.wsgi_app)  # type: ignore[method-assign]

    def handle(error: Exception):
        failed_read = _read_failure(error)
        if failed_read is not None:
            error = failed_read.bad_request()
        if isinstance(error, HTTPException):
            return _http_error(service, error)
        if not isinstance(error, ChariotsError):
            translated = translate(error) if translate is not None else None
            if translated is None and isinstance(error, ConnectionError):
                translated = ServiceUnavailableError(f"a backing service of the {service} cannot be reached: {error}")
            if translated is not None:
                error = translated
        request = flask.request
        request_id = _logging.request_id.get() or _logging.new_request_id()
        status, body = error_response(error, service, request.method, request.path, request_id)
        if status >= 500:
            # the whole story goes to the log, under the id the answer carries; the answer says
            # no host, port, path or traceback
            details = "; ".join([str(error), *map(str, getattr(error, "__notes__", ()))])
            if isinstance(error, ServiceUnavailableError):
                logger.warning("%s request %s %s failed (request id %s): %s", service, request.method,
                               request.path, request_id, details)
            else:
                logger.error("%s request %s %s failed (request id %s): %s: %s", service, request.method,
                             request.path, request_id, type(error).__name__, details, exc_info=error)
        return body, status

    app.register_error_handler(Exception, handle)


def checked_token_setting(token: Optional[str], key: str, without: str = "None") -> Optional[str]:
    """A server's (or a client's) ``auth_token`` setting: None (no auth) or a non-empty token.

    :param key: the setting, for the message (``'OpStoreServer(auth_token=...)'``)
    :param without: what to give instead for no auth, for the message
    :raises ConfigError: for an empty or blank token, which must not mean "auth off"
    """
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip():
        from chariots.errors import ConfigError

        raise ConfigError(
            f"{key} is {'empty' if isinstance(token, str) else type(token).__name__}: give a token (any "
            f"non-empty string clients send as 'Authorization: Bearer <token>'), or {without} to serve without auth"
        )
    return token


def environment_token(variable: str) -> Optional[str]:
    """The token an environment variable gives: None when it is not set; an error when it is set
    but empty or blank (which must not turn auth off).

    :raises ConfigError: naming the variable
    """
    value = os.environ.get(variable)
    return None if value is None else checked_token_setting(value, f"the environment variable {variable}",
                                                            f"unset {variable}")


def check_bearer_token(expected: Optional[str], service: str, how_to_send: str) -> None:
    """Checks the request's ``Authorization: Bearer <token>`` header (the scheme in any case).

    :param expected: the token the server requires (None: no check)
    :param service: what the server is, for the message
    :param how_to_send: the client call that sends it, for the message
    :raises AuthenticationError: when the token is missing or wrong
    """
    if expected is None:
        return
    header = flask.request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
        return
    reason = "none was sent" if not header else "the one sent is wrong"
    raise AuthenticationError(
        f"this {service} requires a bearer token and {reason}: send the header "
        f"'Authorization: Bearer <token>' ({how_to_send})"
    )


class _NonFinite(float):
    """A number JSON cannot carry (``1e999``, ``NaN``, ``Infinity``), as it was written."""

    text = ""


def _non_finite_path(value: Any, path: str) -> Optional[Tuple[str, str]]:
    if isinstance(value, _NonFinite):
        return path, value.text
    if isinstance(value, dict):
        items: Iterable[Tuple[str, Any]] = ((f"{path}.{key}" if path else str(key), item)
                                            for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for item_path, item in items:
        found = _non_finite_path(item, item_path)
        if found is not None:
            return found
    return None


def _check_json_content_type(expected: str) -> None:
    request = flask.request
    charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
    if request.mimetype == _JSON and charset in ("utf-8", "utf8"):
        return
    sent = request.headers.get("Content-Type")
    raise UnsupportedMediaType(
        f"expected {expected} sent with the header 'Content-Type: application/json', got "
        f"{'no Content-Type' if sent is None else repr(sent[:100])}"
    )


_LONG_DIGITS = re.compile(rb"[0-9]{309}")


def loads_json(raw: bytes, expected: str) -> Any:
    """A JSON document whose numbers are all finite.

    :param expected: what the body should be, for the messages
    :raises BadRequestError: if ``raw`` is not JSON, or holds a number JSON cannot carry (naming where)
    """
    seen: List[bool] = []

    def number(text: str) -> float:
        value = float(text)
        if math.isfinite(value):
            return value
        seen.append(True)
        marked = _NonFinite(value)
        marked.text = text
        return marked

    # a float overflows only written with an exponent or 309 digits in a row: without either (what
    # almost every body looks like) the numbers are parsed at C speed, only NaN/Infinity are hooked
    overflow_possible = b"e" in raw or b"E" in raw or _LONG_DIGITS.search(raw) is not None
    try:
        if not raw:
            body = None
        elif overflow_possible:
            body = flask.json.loads(raw, parse_float=number, parse_constant=number)
        else:
            body = flask.json.loads(raw, parse_constant=number)
    except (ValueError, RecursionError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)
        raise BadRequestError(f"expected {expected}, but the body is not valid JSON: {reason}") from None
    if seen:
        try:
            where, text = _non_finite_path(body, "") or ("", "")
        except RecursionError:
            where, text = "", "not finite"
        raise BadRequestError(
            f"{repr(where) if where else 'the body'} is {text[:40]}, a number JSON cannot carry (it overflows a "
            "double, or is not a number): send finite numbers"
        )
    return body


def finite(value: Any) -> Any:
    """``value`` (decoded JSON: dicts, lists, numbers) with every NaN and infinity made None, the
    one way JSON can carry them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def json_object_body(required: Iterable[str] = (), allow_empty: bool = False) -> Dict[str, Any]:
    """The request's JSON object body, sent as ``application/json``.

    :param required: keys the body must have
    :param allow_empty: whether an empty body stands for ``{}``
    :raises BadRequestError: if the body is not a JSON object, misses a key or holds a number that
                             is not finite
    :raises UnsupportedMediaType: (a 415) if a body comes without ``Content-Type: application/json``
    """
    required = list(required)
    request = flask.request
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # a body of no announced size is read up to the cap: one byte more is a body over it (413)
        request.stream.read(1)
    if not raw and allow_empty:
        return {}
    expected = f"a JSON object body with the keys {required}" if required else "a JSON object body"
    _check_json_content_type(expected)
    body = loads_json(raw, expected)
    if not isinstance(body, dict):
        got = "nothing" if body is None else type(body).__name__
        raise BadRequestError(f"expected {expected}, got {got}")
    missing = [key for key in required if key not in body]
    if missing:
        raise BadRequestError(f"the JSON body misses the keys {missing}; expected {required}")
    return body


def install_request_tracking(
    app: flask.Flask,
    service: str,
    metrics: bool = True,
    metrics_open: bool = False,
    pipeline_label: Optional[Callable[[str], bool]] = None,
) -> None:
    """Gives every request of ``app`` an id and, with ``metrics``, counts and times it and serves
    ``GET /metrics``. Call it before the app registers its token check, so a refused request
    carries its id too.

    The id is the client's ``X-Request-ID`` header when it is short and printable, else a new
    one; it is on the response's ``X-Request-ID`` header and on every log record made while the
    request is handled (see :mod:`chariots._logging`).

    :param app: the Flask app
    :param service: the server's name, the ``server`` label of the metrics (``'op store'``)
    :param metrics: count and time requests and serve ``/metrics`` (Prometheus text format)
    :param metrics_open: serve ``/metrics`` without the bearer token the other routes need
    :param pipeline_label: tells whether a route's ``pipeline_name`` is a served pipeline, so
                           only those become a ``pipeline`` label (None: no pipeline label)
    """
    _install_request_ids(app)
    app.config[_METRICS_OPEN] = bool(metrics and metrics_open)
    if metrics:
        _install_request_metrics(app, service, pipeline_label)


def _install_request_ids(app: flask.Flask) -> None:
    """Each request's id: from its ``X-Request-ID`` when fit, on its log records and its answer."""
    _logging.install_record_factory()

    def before() -> None:
        sent = flask.request.headers.get(REQUEST_ID_HEADER)
        flask.g.chariots_request_id_token = _logging.request_id.set(_logging.clean_request_id(sent))
        flask.g.chariots_request_start = time.perf_counter()

    def after(response: flask.Response) -> flask.Response:
        response.headers[REQUEST_ID_HEADER] = _logging.request_id.get() or ""
        return response

    def teardown(_error: Optional[BaseException]) -> None:
        token = flask.g.pop("chariots_request_id_token", None)
        if token is not None:
            try:
                _logging.request_id.reset(token)
            except ValueError:  # set in another context: nothing of ours to undo here
                pass

    app.before_request(before)
    app.after_request(after)
    app.teardown_request(teardown)


class _RequestMetrics:
    """Counts and times the requests of one server, by route, pipeline, method and status."""

    def __init__(self, service: str, pipeline_label: Optional[Callable[[str], bool]]):
        from chariots import _metrics

        self._recorder = _metrics.metrics()
        self._service = service
        self._pipeline_label = pipeline_label
        # the labelled children, found once per label set (labels() takes a lock and checks each time)
        self._children: Dict[Tuple[str, str, str, str], Tuple[Any, Any]] = {}

    def _child(self, route: str, pipeline: str, method: str, status: str) -> Tuple[Any, Any]:
        key = (route, pipeline, method, status)
        found = self._children.get(key)
        if found is None:
            found = (self._recorder.requests.labels(self._service, route, pipeline, method, status),
                     self._recorder.latency.labels(self._service, route, pipeline))
            self._children[key] = found
        return found

    def _pipeline_of(self, request: Any) -> str:
        if self._pipeline_label is None or not request.view_args:
            return ""
        name = request.view_args.get("pipeline_name")
        return name if isinstance(name, str) and self._pipeline_label(name) else ""

    def after(self, response: flask.Response) -> flask.Response:
        request = flask.request
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"
        elapsed = time.perf_counter() - flask.g.get("chariots_request_start", time.perf_counter())
        counter, histogram = self._child(route, self._pipeline_of(request), request.method, str(response.status_code))
        counter.inc()
        histogram.observe(elapsed)
        return response


def _install_request_metrics(app: flask.Flask, service: str, pipeline_label: Optional[Callable[[str], bool]]) -> None:
    """Counts and times every request, and serves ``GET /metrics``."""
    from chariots import _metrics

    def serve_metrics() -> flask.Response:
        body, content_type = _metrics.exposition()
        return flask.Response(body, content_type=content_type)

    app.add_url_rule("/metrics", "metrics", serve_metrics, methods=["GET"])
    app.after_request(_RequestMetrics(service, pipeline_label).after)


def open_metrics_request() -> bool:
    """Whether the request is a ``GET /metrics`` the app serves without its bearer token."""
    return flask.request.endpoint == "metrics" and bool(flask.current_app.config.get(_METRICS_OPEN))
