"""OpenAPI 3.1 descriptions of both servers, generated from their route tables.

One source of truth: each server declares its routes once (:class:`chariots._routes.Route`: rule,
method, arguments with their JSON Schema, answer, error statuses) and builds both its Flask views
and this document from them. On the pipelines server, the per-pipeline routes are listed once for
every served pipeline, with the pipeline's ``input_schema`` as the schema of ``pipeline_input``
when it declares one.

Written without a library on purpose: apispec or flask-smorest would need the same declarations
(as YAML docstrings or marshmallow schemas); JSON Schema is what pipelines declare, and OpenAPI 3.1
takes it as it is.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from chariots._routes import HTML, RAW, Route

__all__ = ["openapi_document", "ERROR_SCHEMA", "METRICS_ROUTE", "OPENAPI_ROUTE"]

OPENAPI_VERSION = "3.1.0"
_JSON = "application/json"
_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

ERROR_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_ERRORS = {
    400: "bad request: the message names the field or parameter (or the server has no op store)",
    401: "missing or wrong bearer token",
    403: "sent by a web page of another origin (its Origin or Sec-Fetch-Site header)",
    404: "unknown pipeline, op, version or job",
    405: "method not allowed",
    409: "version conflict (VersionError): a model was not trained on its upstream's version",
    413: "request body too large",
    415: "a JSON body sent without 'Content-Type: application/json'",
    500: "an op or the server failed: the message names the node",
    503: "a backing service (op store, database, Redis) cannot be reached",
}
_TEXT = ("text/plain", {"type": "string"})

#: ``GET /metrics``, which both servers serve when their metrics are on
METRICS_ROUTE = Route("metrics", "GET", "/metrics", "Prometheus metrics of this server (text format)",
                      answer_schema={"type": "string"})
#: ``GET /openapi.json``, this document
OPENAPI_ROUTE = Route("openapi", "GET", "/openapi.json", "this OpenAPI description",
                      answer_schema={"type": "object"})


def _content(content_type: str, schema: Mapping[str, Any]) -> Dict[str, Any]:
    return {content_type: {"schema": dict(schema)}}


def _answer(route: Route) -> Dict[str, Any]:
    if route.result is RAW:
        return _content("application/octet-stream", RAW.schema)
    if route.endpoint == "metrics":
        return _content(*_TEXT)
    if route.result is HTML:
        return _content("text/html", {"type": "string"})
    schema = route.answer_schema if route.answer_schema is not None else route.result.schema
    return _content(_JSON, schema)


def _statuses(route: Route) -> List[int]:
    if callable(route.status):  # created or found: both answer
        return [201, 200]
    return [route.status]


def _body(route: Route, input_schema: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if route.raw_body:
        return {"required": True, "content": _content("application/octet-stream", RAW.schema)}
    body_args = [arg for arg in route.args if arg.where == "body"]
    if not body_args:
        return None
    properties = {}
    for arg in body_args:
        schema = dict(arg.codec.schema)
        if not arg.required and isinstance(schema.get("type"), str) and schema["type"] != "null":
            schema = {"anyOf": [schema, {"type": "null"}]}  # an optional key may be sent as null
        if arg.name == "pipeline_input" and input_schema is not None:
            schema = dict(input_schema)
        properties[arg.name] = schema
    schema: Dict[str, Any] = {"type": "object", "properties": properties}
    required = [arg.name for arg in body_args if arg.required]
    if required:
        schema["required"] = required
    if route.body_closed:
        schema["additionalProperties"] = False
    return {"required": bool(required) or route.body_required, "content": _content(_JSON, schema)}


def _operation(route: Route, operation_id: str, path_names: List[str], secured: bool, open_route: bool,
               input_schema: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    responses: Dict[str, Any] = {str(status): {"description": "success", "content": _answer(route)}
                                 for status in _statuses(route)}
    errors = set(route.errors)
    query = [arg for arg in route.args if arg.where == "query"]
    if path_names or query:
        errors |= {400, 404}
    if secured and not open_route:
        errors.add(401)
    body = _body(route, input_schema)
    if body is not None:
        errors |= {400, 413}
    if route.method != "GET":  # the edge checks of chariots._http: Origin, and a JSON body's content type
        errors |= {403} if route.raw_body else {403, 415}
    if route.endpoint != "health_check":  # the Host allow-list
        errors.add(400)
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERRORS[status], "content": _content(_JSON, ERROR_SCHEMA)}
    operation: Dict[str, Any] = {"operationId": operation_id, "summary": route.summary, "responses": responses}
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in path_names]
    parameters += [{"name": arg.name, "in": "query", "required": arg.required,
                    "schema": {"type": "string", "minLength": 1}} for arg in query]
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    if secured and open_route:
        operation["security"] = []
    return operation


def openapi_document(
    title: str,
    routes: Iterable[Route],
    secured: bool,
    metrics: bool = True,
    metrics_open: bool = False,
    pipelines: Optional[Mapping[str, Optional[Mapping[str, Any]]]] = None,
    is_open: Optional[Callable[[Route], bool]] = None,
) -> Dict[str, Any]:
    """The OpenAPI 3.1 document of a server's routes.

    :param title: the API's title
    :param routes: the server's route table
    :param secured: whether the server requires a bearer token (a security scheme is declared)
    :param metrics: whether the server serves ``/metrics``
    :param metrics_open: whether ``/metrics`` is served without the token
    :param pipelines: the served pipelines' input schemas by name: a route with a
                      ``<pipeline_name>`` is listed once per pipeline (None: a path parameter)
    :param is_open: whether a route is served without the token (default: its ``open_route``)
    """
    from chariots import __version__

    every = [*routes, OPENAPI_ROUTE] + ([METRICS_ROUTE] if metrics else [])
    paths: Dict[str, Dict[str, Any]] = {}
    for route in sorted(every, key=lambda route: (route.rule, route.method)):
        open_route = route.open_route or (route.endpoint == "metrics" and metrics_open)
        if is_open is not None:
            open_route = open_route or is_open(route)
        template = _PARAMETER.sub(r"{\1}", route.rule)
        names = list(route.path_names)
        if pipelines is not None and "pipeline_name" in names:
            instances = [(template.replace("{pipeline_name}", name), [n for n in names if n != "pipeline_name"],
                          schema, name) for name, schema in sorted(pipelines.items())]
        else:
            instances = [(template, names, None, None)]
        for path, path_names, input_schema, pipeline_name in instances:
            operation_id = f"{route.endpoint}_{route.method.lower()}"
            if pipeline_name is not None:
                operation_id = f"{route.endpoint}_{pipeline_name}_{route.method.lower()}"
            for method in (route.method, *route.also):
                method_id = operation_id.rsplit("_", 1)[0] + f"_{method.lower()}"
                operation = _operation(route, method_id, path_names, secured, open_route, input_schema)
                if pipeline_name is not None:
                    operation["tags"] = [pipeline_name]
                paths.setdefault(path, {})[method.lower()] = operation
    document: Dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": {"title": title, "version": __version__},
                                "paths": paths}
    if secured:
        document["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        document["security"] = [{"bearer": []}]
    return document
