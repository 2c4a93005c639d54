"""What both Flask servers share at their HTTP edge: JSON errors, bearer tokens and JSON bodies.

A server calls :func:`install_error_handlers` once: every exception a view raises then leaves as
the wire's JSON error body (:func:`chariots._wire.error_response`), werkzeug's own HTTP errors
(unknown route, wrong method, body too large) included.
"""
from __future__ import annotations

import hmac
import logging
import time
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

import flask
from werkzeug.exceptions import HTTPException

from chariots import _logging
from chariots._wire import error_body, error_response
from chariots.errors import AuthenticationError, BadRequestError, ChariotsError, ServiceUnavailableError

__all__ = [
    "install_error_handlers", "check_bearer_token", "json_object_body", "install_request_tracking",
    "open_metrics_request", "REQUEST_ID_HEADER",
]

#: the header carrying a request's id, read from the request and always set on the response
REQUEST_ID_HEADER = "X-Request-ID"
_METRICS_OPEN = "CHARIOTS_METRICS_OPEN"

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


def install_error_handlers(app: flask.Flask, service: str, translate: Optional[Translate] = None) -> None:
    """Makes every error of ``app`` answer a JSON error body with a fitting status.

    :param app: the Flask app
    :param service: what the app is, for messages (``'op store'``)
    :param translate: maps a service's unexpected exceptions (a database driver's, say) to
                      Chariots errors; anything left is logged with its traceback and answered 500
    """

    def check_framing() -> None:
        # werkzeug reads a Content-Length it cannot parse as "no body": refuse it rather than
        # take an empty model or an empty call
        declared = flask.request.headers.get("Content-Length")
        if declared is not None and not declared.strip().isdigit():
            raise BadRequestError(
                f"the Content-Length header {declared[:40]!r} is not a number of bytes: send the body's size in "
                "bytes, or no Content-Length with Transfer-Encoding: chunked"
            )

    app.before_request(check_framing)  # after the token check: a stranger learns nothing more

    def handle(error: Exception):
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


def checked_token_setting(token: Optional[str], key: str) -> Optional[str]:
    """A server's ``auth_token`` setting: None (no auth) or a non-empty token.

    :param key: the setting, for the message (``'OpStoreServer(auth_token=...)'``)
    :raises ConfigError: for an empty or blank token, which must not mean "auth off"
    """
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip():
        from chariots.errors import ConfigError

        raise ConfigError(
            f"{key} is {'empty' if isinstance(token, str) else type(token).__name__}: give a token (any "
            "non-empty string clients send as 'Authorization: Bearer <token>'), or None to serve without auth"
        )
    return token


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


def json_object_body(required: Iterable[str] = (), allow_empty: bool = False) -> Dict[str, Any]:
    """The request's JSON object body.

    :param required: keys the body must have
    :param allow_empty: whether an empty body stands for ``{}``
    :raises BadRequestError: if the body is not a JSON object or misses a key
    """
    required = list(required)
    raw = flask.request.get_data(cache=False)
    if not raw and allow_empty:
        return {}
    expected = f"a JSON object body with the keys {required}" if required else "a JSON object body"
    try:
        body = flask.json.loads(raw) if raw else None
    except (ValueError, RecursionError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)
        raise BadRequestError(f"expected {expected}, but the body is not valid JSON: {reason}") from None
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
    _logging.install_record_factory()
    app.config[_METRICS_OPEN] = bool(metrics and metrics_open)
    if metrics:
        from chariots import _metrics

        recorder = _metrics.metrics()
        # the labelled children, found once per label set (labels() takes a lock and checks each time)
        children: Dict[Tuple[str, str, str, str], Tuple[Any, Any]] = {}

        def child(route: str, pipeline: str, method: str, status: str) -> Tuple[Any, Any]:
            key = (route, pipeline, method, status)
            found = children.get(key)
            if found is None:
                found = (recorder.requests.labels(service, route, pipeline, method, status),
                         recorder.latency.labels(service, route, pipeline))
                children[key] = found
            return found

        def serve_metrics() -> flask.Response:
            body, content_type = _metrics.exposition()
            return flask.Response(body, content_type=content_type)

        app.add_url_rule("/metrics", "metrics", serve_metrics, methods=["GET"])

    def before() -> None:
        sent = flask.request.headers.get(REQUEST_ID_HEADER)
        flask.g.chariots_request_id_token = _logging.request_id.set(_logging.clean_request_id(sent))
        flask.g.chariots_request_start = time.perf_counter()

    def after(response: flask.Response) -> flask.Response:
        response.headers[REQUEST_ID_HEADER] = _logging.request_id.get() or ""
        if metrics:
            request = flask.request
            rule = request.url_rule
            route = rule.rule if rule is not None else "unmatched"
            pipeline = ""
            if pipeline_label is not None and request.view_args:
                name = request.view_args.get("pipeline_name")
                if isinstance(name, str) and pipeline_label(name):
                    pipeline = name
            elapsed = time.perf_counter() - flask.g.get("chariots_request_start", time.perf_counter())
            counter, histogram = child(route, pipeline, request.method, str(response.status_code))
            counter.inc()
            histogram.observe(elapsed)
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


def open_metrics_request() -> bool:
    """Whether the request is a ``GET /metrics`` the app serves without its bearer token."""
    return flask.request.endpoint == "metrics" and bool(flask.current_app.config.get(_METRICS_OPEN))
