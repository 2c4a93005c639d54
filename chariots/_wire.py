"""The wire: how an error crosses HTTP (status + JSON body) and comes back as the same exception.

Both servers build every error body with :func:`error_response`, and every client turns an error
answer back into an exception with :func:`error_from_response`, so a ``VersionError`` raised in
a server is a ``VersionError`` in the client, with the server's message.

An error body is ``{"error": {"type": <exception class name>, "message": <text>}}``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple, Type

from chariots import errors

__all__ = ["RawResponse", "error_response", "error_from_response", "error_body", "decode_json"]

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
    """What a transport got back: status code, body bytes and content type."""

    status: int
    body: bytes
    content_type: str


def error_body(error_type: str, message: str) -> Dict[str, Any]:
    """The JSON body of an error answer."""
    return {"error": {"type": error_type, "message": message}}


def error_response(error: BaseException) -> Tuple[int, Dict[str, Any]]:
    """The status and JSON body a server answers for an exception.

    A :class:`~chariots.errors.ChariotsError` keeps its type and its ``status_code``; its notes
    (which node of which pipeline raised) are joined to the message. Anything else is a 500
    whose type is the exception's class name (qualified by its module when a Chariots error has
    the same name).
    """
    status = error.status_code if isinstance(error, errors.ChariotsError) else 500
    message = "; ".join([str(error), *getattr(error, "__notes__", ())])
    name = type(error).__name__
    if name in ERROR_TYPES and not isinstance(error, ERROR_TYPES[name]):
        # another library's error of the same name must not come back as ours
        name = f"{type(error).__module__}.{name}"
    return status, error_body(name, message)


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
    return error_class(message)
