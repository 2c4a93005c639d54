"""The wire: how an error crosses HTTP (status + JSON body) and comes back as the same exception.

Both servers build every error body with :func:`error_response`, and every client turns an error
answer back into an exception with :func:`error_from_response`, so a ``VersionError`` raised in
a server is a ``VersionError`` in the client, with the server's message.

An error body is ``{"error": {"type": <exception class name>, "message": <text>}}``; an answer of
500 or more also carries ``"request_id"``, the id of the server's log line that holds the details.
What a 5xx body says is public (:func:`public_message`): an op's own error keeps its type and
message, anything else says what failed and where to look, never a host, port, file path,
traceback or the repr of an internal object.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple, Type, TypeVar

from chariots import errors

__all__ = ["RawResponse", "error_response", "error_from_response", "error_body", "decode_json", "public_message",
           "is_op_error", "with_public_message", "public_reason", "PUBLIC_MESSAGE"]

#: the attribute an exception may carry with what any client may read of it (a 5xx answer says
#: that, and the server's log line says the whole message)
PUBLIC_MESSAGE = "public_message"

#: every public exception of :mod:`chariots.errors`, by name
ERROR_TYPES: Dict[str, Type[errors.ChariotsError]] = {
    name: getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), errors.ChariotsError)
}
# the exception a status stands for when the body names no Chariots error (a proxy's answer ...)
_BY_STATUS: Dict[int, Type[errors.ChariotsError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    404: errors.NotFoundError,
    405: errors.BadRequestError,
    409: errors.VersionError,
    413: errors.BadRequestError,
    503: errors.ServiceUnavailableError,
}


class RawResponse(NamedTuple):
    """What a transport got back: status code, body bytes and content type; and, when the request
    asked for its last bytes apart and the transport could read them so, those bytes (``body`` is
    then the rest)."""

    status: int
    body: bytes
    content_type: str
    tail: bytes = b""


def error_body(error_type: str, message: str, request_id: Optional[str] = None) -> Dict[str, Any]:
    """The JSON body of an error answer (with the request id of the log line, when given)."""
    body: Dict[str, Any] = {"type": error_type, "message": message}
    if request_id is not None:
        body["request_id"] = request_id
    return {"error": body}


E = TypeVar("E", bound=BaseException)


def with_public_message(error: E, public: str) -> E:
    """``error``, carrying what a server may answer of it to any client (see :func:`public_message`).

    :param public: what failed, without hosts, ports, paths or internals
                   (``"the op store database is unreachable"``)
    """
    setattr(error, PUBLIC_MESSAGE, public)
    return error


def is_op_error(error: BaseException) -> bool:
    """Whether an exception is an op's own error, raised while a pipeline ran one of its nodes
    (an :class:`~chariots.errors.OpError`)."""
    return isinstance(error, errors.OpError)


def _full_message(error: BaseException) -> str:
    text = error.detail if isinstance(error, errors.OpError) else str(error)
    return "; ".join([text, *map(str, getattr(error, "__notes__", ()))])


def public_message(error: BaseException, service: str, method: str = "", path: str = "",
                   request_id: Optional[str] = None) -> str:
    """What a server may answer to any client about an error of status 500 or more.

    An op's own error keeps its message and the node that raised it (the docs' ``BackendError``);
    an error carrying a public message (:func:`with_public_message`) says it; anything else says
    only its type and what failed. Each ends by pointing at the server's log line.

    :param service: the server, for the message (``'op store'``)
    :param method: the request's method, for the message
    :param path: the request's path, for the message
    :param request_id: the id the log line carries
    """
    if is_op_error(error):
        return _full_message(error)  # the op's own words, as the docs show them
    where = f"see the {service}'s log" + (f" (request id {request_id})" if request_id else "")
    public = getattr(error, PUBLIC_MESSAGE, None)
    if isinstance(public, str) and public:
        return f"{public}: {where}"
    if isinstance(error, errors.ServiceUnavailableError) or isinstance(error, ConnectionError):
        return f"a backing service of the {service} cannot be reached: {where}"
    request = f" on {method} {path}" if method else ""
    return f"the {service} failed{request}: {where}"  # the body's type names the exception


def public_reason(error: BaseException) -> str:
    """An exception as an open route (``/ready``, a health check) may show it: a Chariots error of a
    4xx status with its message (ours name ops and versions, not hosts or paths), anything else by
    its type and public message only, pointing at the log."""
    name = type(error).__name__
    if isinstance(error, errors.ChariotsError) and error.status_code < 500:
        return f"{name}: {error}"
    public = getattr(error, PUBLIC_MESSAGE, None)
    return f"{name}: {public + ', ' if isinstance(public, str) and public else ''}see this server's log"


def error_response(error: BaseException, service: Optional[str] = None, method: str = "", path: str = "",
                   request_id: Optional[str] = None) -> Tuple[int, Dict[str, Any]]:
    """The status and JSON body a server answers for an exception.

    A :class:`~chariots.errors.ChariotsError` keeps its type and its ``status_code``; its notes
    (which node of which pipeline raised) are joined to the message. Anything else is a 500
    whose type is the exception's class name (qualified by its module when a Chariots error has
    the same name). With ``service``, an answer of 500 or more says only
    :func:`public_message` and carries the request id.

    :param service: the server answering (None: the whole message, for a server's own tests)
    :param method: the request's method, for the public message
    :param path: the request's path, for the public message
    :param request_id: the id of the server's log line about this error
    """
    status = error.status_code if isinstance(error, errors.ChariotsError) else 500
    # an op's own error travels under its own type: the client raises a BackendError naming it
    named = error.cause if isinstance(error, errors.OpError) else error
    name = type(named).__name__
    if name in ERROR_TYPES and not isinstance(named, ERROR_TYPES[name]):
        # another library's error of the same name must not come back as ours
        name = f"{type(named).__module__}.{name}"
    if status >= 500 and service is not None:
        message = public_message(error, service, method, path, request_id)
        return status, error_body(name, message, request_id or "")
    return status, error_body(name, _full_message(error))


def decode_json(body: bytes) -> Any:
    """The JSON value of a body, or None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def error_from_response(response: RawResponse, what: str) -> errors.ChariotsError:
    """The exception an error answer stands for.

    The error type named by the body is raised as itself when Chariots defines it; otherwise
    the status decides (409 -> ``VersionError``, 404 -> ``NotFoundError`` ...), and an error of a
    type Chariots does not know (an op's own ``ZeroDivisionError``) is a
    :class:`~chariots.errors.BackendError` whose message starts with that type.

    :param response: the answer, with a status of 400 or more
    :param what: what was called, for the message when the body says nothing (``'POST /x'``)
    """
    data = decode_json(response.body)
    error = data.get("error") if isinstance(data, Mapping) else None
    if not isinstance(error, Mapping):
        text = response.body[:500].decode("utf-8", "replace").strip()
        error_class = _BY_STATUS.get(response.status, errors.BackendError)
        return error_class(f"{what} answered {response.status} without a Chariots error: {text or 'no body'}")
    type_name, message = str(error.get("type")), str(error.get("message"))
    error_class: Optional[Type[errors.ChariotsError]] = ERROR_TYPES.get(type_name)
    if error_class is None or error_class is errors.ChariotsError:
        error_class = _BY_STATUS.get(response.status, errors.BackendError)
        if error_class is errors.BackendError:
            message = f"{type_name}: {message}"
    raised = error_class(message)
    request_id = error.get("request_id")
    if isinstance(request_id, str) and request_id:
        raised.request_id = request_id  # type: ignore[attr-defined] - the server's log line about it
    return raised
