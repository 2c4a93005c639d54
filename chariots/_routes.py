"""Routes declared once: each server's table of :class:`Route` builds its Flask views, its OpenAPI
document, and the requests its HTTP clients send.

A route names the service method it calls (``endpoint``), its HTTP method and rule, where each
argument travels (:class:`Arg`: the path, the query string or the JSON body, with a
:class:`Codec` that checks and converts it) and how the result travels back. The server side
(:func:`install_routes`) decodes the arguments, calls the service and encodes the result; the
client side (:func:`request_for`, :func:`decode_result`) does the reverse with the same codecs, so
a route's wire format lives in one place (Starlette's ``Route`` list and FastAPI's generated
schema are the model).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from chariots.errors import BadRequestError, NotFoundError

if TYPE_CHECKING:
    import flask

__all__ = ["Codec", "Arg", "Route", "RAW", "HTML", "ANY", "install_routes", "request_for", "decode_result",
           "PathRequest"]

_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Codec:
    """How one value travels: ``encode`` on the sending side, ``decode`` (checking it, raising a
    :class:`~chariots.errors.BadRequestError` naming the field) on the receiving side.

    :param encode: the value -> its JSON form (or text, for the path and the query string)
    :param decode: ``(JSON form, field name)`` -> the value
    :param schema: the JSON Schema of the JSON form (for the OpenAPI document)
    """

    encode: Callable[[Any], Any]
    decode: Callable[[Any, str], Any]
    schema: Mapping[str, Any] = field(default_factory=dict)


def _same(value: Any) -> Any:
    return value


def _as_is(value: Any, name: str) -> Any:
    return value


#: a value sent as it is (the service checks it)
ANY = Codec(_same, _as_is, {})
#: raw bytes: an ``application/octet-stream`` body, or a streamed answer
RAW = Codec(_same, _as_is, {"type": "string", "contentMediaType": "application/octet-stream"})
#: a web page: the service's text, answered as ``text/html``
HTML = Codec(_same, _as_is, {"type": "string"})


@dataclass(frozen=True)
class Arg:
    """One argument of a route's service method and where it travels.

    :param name: the keyword argument of the service method (and the path, query or body key)
    :param codec: how it is checked and converted
    :param where: ``'path'``, ``'query'``, ``'body'`` (a key of the JSON object body) or ``'raw'``
                  (the whole body, as bytes: the service method gets a stream and its size)
    :param required: whether it must be sent (a missing optional one is None)
    """

    name: str
    codec: Codec = ANY
    where: str = "body"
    required: bool = True


@dataclass(frozen=True)
class Route:
    """A route of a server: the service method it calls, and how arguments and result travel.

    :param endpoint: the name of the service method (and of the Flask endpoint)
    :param method: the HTTP method
    :param rule: the werkzeug rule (``/ops/<name:op_name>/states``)
    :param summary: one line for the OpenAPI document
    :param args: the method's arguments, in the order the method takes them
    :param result: how the method's result is sent back (:data:`RAW` for a stream of bytes)
    :param encode: ``(result, arguments) -> JSON body`` (default: ``result.encode(result)``)
    :param status: the success status, or a function of the result choosing it
    :param errors: the error statuses the route may answer
    :param missing: the message of a 404 when the method returns None (None: a None result is sent)
    :param open_route: served without the bearer token
    """

    endpoint: str
    method: str
    rule: str
    summary: str
    args: Tuple[Arg, ...] = ()
    result: Codec = ANY
    encode: Optional[Callable[[Any, Mapping[str, Any]], Any]] = None
    decode: Optional[Callable[[Any], Any]] = None
    status: Union[int, Callable[[Any], int]] = 200
    errors: Tuple[int, ...] = ()
    missing: Optional[Callable[[Mapping[str, Any]], str]] = None
    open_route: bool = False
    #: the JSON Schema of the success answer (None: the result codec's)
    answer_schema: Optional[Mapping[str, Any]] = None
    #: whether the JSON body must be sent even when every key is optional
    body_required: bool = False
    #: whether the JSON body may hold only the route's keys (``additionalProperties: false``)
    body_closed: bool = False
    #: checks the JSON body before its keys are decoded: ``check(body, path values)`` (a closed body's
    #: message naming the key, say)
    body_check: Optional[Callable[[Mapping[str, Any], Mapping[str, Any]], None]] = None
    #: other methods answered the same way (``("POST",)`` for a ``GET`` route the docs also POST to)
    also: Tuple[str, ...] = ()
    #: a handler method called with the path arguments before the body is read (an unknown
    #: pipeline is a 404 whatever the body holds)
    check_path: Optional[str] = None

    @property
    def path_names(self) -> Tuple[str, ...]:
        """the names of the rule's path parameters"""
        return tuple(_PARAMETER.findall(self.rule))

    @property
    def has_body(self) -> bool:
        """whether the route takes a body"""
        return any(arg.where in ("body", "raw") for arg in self.args)

    @property
    def raw_body(self) -> bool:
        """whether the body is raw bytes"""
        return any(arg.where == "raw" for arg in self.args)

    def success_status(self, result: Any) -> int:
        """The status of a successful answer carrying ``result``."""
        return self.status(result) if callable(self.status) else self.status


# ---------------------------------------------------------------------------- server side


def _call_arguments(route: Route, path_values: Mapping[str, Any], handlers: Any) -> Dict[str, Any]:
    """The service method's keyword arguments, decoded from the request."""
    import flask

    from chariots import _http

    request = flask.request
    arguments: Dict[str, Any] = {}
    body: Optional[Dict[str, Any]] = None
    if route.check_path is not None:
        getattr(handlers, route.check_path)(**{arg.name: arg.codec.decode(path_values[arg.name], arg.name)
                                              for arg in route.args if arg.where == "path"})
    body_args = [arg for arg in route.args if arg.where == "body"]
    if body_args:
        required = [arg.name for arg in body_args if arg.required]
        body = _http.json_object_body(required, allow_empty=not required)
        if route.body_check is not None:
            route.body_check(body, path_values)
    for arg in route.args:
        if arg.where == "path":
            arguments[arg.name] = arg.codec.decode(path_values[arg.name], arg.name)
        elif arg.where == "query":
            value = request.args.get(arg.name)
            if value is None:
                if arg.required:
                    raise BadRequestError(f"the query parameter {arg.name!r} is missing")
                arguments[arg.name] = None
            else:
                arguments[arg.name] = arg.codec.decode(value, arg.name)
        elif arg.where == "raw":
            arguments[arg.name] = request.stream
            arguments["size"] = request.content_length
        else:
            assert body is not None
            value = body.get(arg.name)
            arguments[arg.name] = None if value is None and not arg.required else arg.codec.decode(value, arg.name)
    return arguments


def _view(route: Route, handlers: Any) -> Callable[..., Any]:
    handler = getattr(handlers, route.endpoint)

    def view(**path_values: Any) -> Any:
        import flask

        arguments = _call_arguments(route, path_values, handlers)
        result = handler(**arguments)
        if result is None and route.missing is not None:
            raise NotFoundError(route.missing(arguments))
        if route.result is RAW:
            return result
        if route.result is HTML:
            return flask.Response(result, mimetype="text/html")
        body = route.encode(result, arguments) if route.encode is not None else route.result.encode(result)
        return flask.jsonify(body), route.success_status(result)

    view.__name__ = route.endpoint
    view.__doc__ = route.summary
    return view


def install_routes(app: "flask.Flask", routes: Iterable[Route], handlers: Any,
                   views: Optional[Mapping[str, Callable[..., Any]]] = None) -> None:
    """Adds a Flask view for every route: it decodes the arguments, calls the handler of the
    route's endpoint, and answers the encoded result.

    :param handlers: the object whose methods are the endpoints (a service)
    :param views: views written by hand for some endpoints (raw answers), by endpoint
    """
    views = views or {}
    for route in routes:
        view = views.get(route.endpoint) or _view(route, handlers)
        app.add_url_rule(route.rule, route.endpoint, view, methods=[route.method, *route.also])


# ---------------------------------------------------------------------------- client side


@dataclass(frozen=True)
class PathRequest:
    """A request a client sends for a route: method, URL-encoded path, query, JSON or raw body."""

    method: str
    path: str
    params: Optional[Dict[str, str]] = None
    json: Any = None
    data: Optional[bytes] = None


def request_for(route: Route, arguments: Mapping[str, Any]) -> PathRequest:
    """The request calling ``route`` with ``arguments`` (encoded by each argument's codec)."""
    path = route.rule
    params: Dict[str, str] = {}
    body: Dict[str, Any] = {}
    data: Optional[bytes] = None
    for arg in route.args:
        value = arguments.get(arg.name)
        if arg.where == "raw":
            data = value
            continue
        if value is None and not arg.required:
            continue
        encoded = arg.codec.encode(value)
        if arg.where == "path":
            path = re.sub(rf"<(?:[^:<>]+:)?{arg.name}>", quote(str(encoded), safe=""), path)  # no backslash left
        elif arg.where == "query":
            params[arg.name] = str(encoded)
        else:
            body[arg.name] = encoded
    has_json = any(arg.where == "body" for arg in route.args)
    return PathRequest(route.method, path, params or None, body if has_json else None, data)


def decode_result(route: Route, body: bytes) -> Any:
    """The result a route's JSON answer stands for."""
    value = json.loads(body) if body else None
    if route.decode is not None:
        return route.decode(value)
    return route.result.decode(value, "answer")


def arguments_of(route: Route, values: Sequence[Any], keywords: Mapping[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of a call of ``route`` made with positional ``values`` and ``keywords``."""
    names = [arg.name for arg in route.args]
    arguments = dict(zip(names, values))
    arguments.update(keywords)
    return arguments
