"""OpenAPI 3.1 descriptions of both servers, generated from their routes.

One source of truth: the document walks the Flask app's ``url_map`` (so a route added to a
server is listed, its path parameters and methods included) and takes from a small table here
what the routes cannot say themselves: a summary, the request body and the responses. A route
missing from the table is still listed, with a generic description. On the pipelines server,
the per-pipeline routes are listed once for every served pipeline, with the pipeline's
``input_schema`` as the schema of ``pipeline_input`` when it declares one.

Written without a library on purpose: apispec or flask-smorest would need the same table (as
YAML docstrings or marshmallow schemas) and walk the same ``url_map``; JSON Schema is what
pipelines declare, and OpenAPI 3.1 takes it as it is.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

__all__ = ["openapi_document", "PIPELINES_ROUTES", "OP_STORE_ROUTES", "RouteDoc"]

OPENAPI_VERSION = "3.1.0"
_JSON = "application/json"
_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}

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
_STRINGS = {"type": "array", "items": {"type": "string"}}
_PIPELINE_RESPONSE = {
    "type": "object",
    "required": ["pipeline_output", "versions", "job_id", "job_status"],
    "properties": {
        "pipeline_output": {},
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "job_id": {"type": ["string", "null"]},
        "job_status": {"type": ["string", "null"], "enum": ["deferred", "queued", "running", "done", "failed", None]},
        "error": {},
    },
}


class RouteDoc:
    """What a route's rule cannot say: summary, request body, JSON answers and error statuses.

    :param summary: one line
    :param ok: the success answers, by status: a JSON Schema, or ``(content type, schema)``
    :param errors: the error statuses it may answer (besides 401 when the server has a token)
    :param body: the JSON Schema of a JSON request body, or ``(content type, schema)``
    :param body_required: whether the body must be sent
    :param query: required query parameters (strings), by name
    :param open_route: served without the bearer token
    """

    def __init__(
        self,
        summary: str,
        ok: Mapping[int, Any],
        errors: Iterable[int] = (),
        body: Any = None,
        body_required: bool = False,
        query: Iterable[str] = (),
        open_route: bool = False,
    ):
        self.summary = summary
        self.ok = dict(ok)
        self.errors = tuple(errors)
        self.body = body
        self.body_required = body_required
        self.query = tuple(query)
        self.open_route = open_route


_TEXT = ("text/plain", {"type": "string"})
_READINESS = {"type": "object", "required": ["ready", "reasons"],
              "properties": {"ready": {"type": "boolean"}, "reasons": {"type": "array", "items": {"type": "string"}}}}
_VERSIONS_BY_OP = {"type": "object", "additionalProperties": {"type": "string"}}
_STATE = {"type": "object", "required": ["op_name", "version", "class_path", "class_major"],
          "properties": {"op_name": {"type": "string"}, "version": {"type": "string"},
                         "class_path": {"type": "string"}, "class_major": {"type": "string"},
                         "lineage": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}}}
_GENERATION = {"type": "object", "required": ["pipeline_name", "generation", "versions"],
               "properties": {"pipeline_name": {"type": "string"}, "generation": {"type": "integer"},
                              "versions": _VERSIONS_BY_OP, "recorded_at": {"type": ["number", "null"]}}}
_COMMON = {
    "metrics": RouteDoc("Prometheus metrics of this server (text format)", {200: _TEXT}),
    "openapi": RouteDoc("this OpenAPI description", {200: {"type": "object"}}),
}

#: the pipelines server's routes, by endpoint
PIPELINES_ROUTES: Dict[str, RouteDoc] = {
    **_COMMON,
    "health_check": RouteDoc("liveness of the server", {200: {"type": "object", "required": ["status"]}},
                             open_route=True),
    "ready": RouteDoc(
        "readiness of this process: 503 with the reasons while a pipeline cannot predict, the op store was not "
        "reached yet, or the process lags the newest generation a load recorded",
        {200: _READINESS, 503: _READINESS}, open_route=True),
    "available_pipelines": RouteDoc("the names of the served pipelines", {200: _STRINGS}),
    "main": RouteDoc("run the pipeline (here, or in a worker: the answer then carries a job_id)",
                     {200: _PIPELINE_RESPONSE}, errors=(400, 409, 413, 500, 503), body="call"),
    "versions": RouteDoc("the version of each node of the pipeline",
                         {200: {"type": "object", "additionalProperties": {"type": "string"}}}),
    "load": RouteDoc("load the newest compatible versions of the pipeline's ops from the op store",
                     {200: {"type": "object"}}, errors=(400, 409, 500, 503)),
    "save": RouteDoc("save the pipeline's ops and lineage to the op store", {200: {"type": "object"}},
                     errors=(400, 409, 500, 503)),
    "pipeline_health_check": RouteDoc(
        "whether the pipeline was loaded from its op store",
        {200: {"type": "object", "required": ["is_loaded"], "properties": {"is_loaded": {"type": "boolean"}}}},
        open_route=True),
    "fetch_job": RouteDoc("the state (and, once done, the output) of a worker job", {200: _PIPELINE_RESPONSE},
                          errors=(404, 503)),
    "ui": RouteDoc("a web page of the served pipelines and their lineage", {200: ("text/html", {"type": "string"})}),
    "ui_op": RouteDoc("a web page of one op's versions in the op store", {200: ("text/html", {"type": "string"})},
                      errors=(400, 404, 503)),
}

_OCTETS = ("application/octet-stream", {"type": "string", "contentMediaType": "application/octet-stream"})
_SAVED = {"type": "object", "required": ["op_name", "version", "created"],
          "properties": {"op_name": {"type": "string"}, "version": {"type": "string"}, "created": {"type": "boolean"}}}
_CREATED = {"type": "object", "required": ["created"], "properties": {"created": {"type": "boolean"}}}

#: the op store's routes, by endpoint
OP_STORE_ROUTES: Dict[str, RouteDoc] = {
    **_COMMON,
    "health_check": RouteDoc("liveness of the op store and its database",
                             {200: {"type": "object", "required": ["status"]}}, errors=(503,), open_route=True),
    "versions": RouteDoc("every saved version of an op, oldest first",
                         {200: {"type": "object", "required": ["op_name", "versions"],
                                "properties": {"op_name": {"type": "string"}, "versions": _STRINGS}}},
                         errors=(400, 503)),
    "get_bytes": RouteDoc("the saved bytes of one version of an op", {200: _OCTETS}, errors=(400, 404, 500, 503)),
    "put_bytes": RouteDoc("save the bytes of one version of an op (stored versions are immutable: 409)",
                          {201: _SAVED, 200: _SAVED}, errors=(400, 409, 413, 500, 503), body=_OCTETS,
                          body_required=True),
    "get_links": RouteDoc(
        "the upstream versions validated for a (downstream op, upstream op) pair",
        {200: {"type": "object", "required": ["versions"], "properties": {"versions": _STRINGS}}},
        errors=(400, 503), query=("downstream_op", "upstream_op")),
    "add_link": RouteDoc(
        "record that a downstream op was validated with a version of an upstream op", {201: _CREATED, 200: _CREATED},
        errors=(400, 413, 503), body_required=True,
        body={"type": "object", "required": ["downstream_op", "upstream_op", "upstream_op_version"],
              "properties": {"downstream_op": {"type": "string"}, "upstream_op": {"type": "string"},
                             "upstream_op_version": {"type": "string"}}}),
    "pipelines": RouteDoc("the names of every pipeline the store has seen",
                          {200: {"type": "object", "required": ["pipelines"], "properties": {"pipelines": _STRINGS}}},
                          errors=(503,)),
    "add_pipeline": RouteDoc(
        "record a pipeline's name and nodes", {201: _CREATED, 200: _CREATED}, errors=(400, 413, 503),
        body_required=True,
        body={"type": "object", "required": ["pipeline_name", "node_names"],
              "properties": {"pipeline_name": {"type": "string"}, "node_names": _STRINGS}}),
    "states": RouteDoc(
        "every saved state of an op with its class, lineage and explicit links, oldest first",
        {200: {"type": "object", "required": ["op_name", "states"],
               "properties": {"op_name": {"type": "string"}, "states": {"type": "array"}}}},
        errors=(400, 503)),
    "upload": RouteDoc("upload the bytes of a state (listed once a save commits it)",
                       {201: {"type": "object"}, 200: {"type": "object"}},
                       errors=(400, 413, 500, 503), body=_OCTETS, body_required=True),
    "commit_save": RouteDoc(
        "commit uploaded states, their lineage and the pipeline in one transaction", {201: {"type": "object"}},
        errors=(400, 409, 413, 503), body_required=True,
        body={"type": "object", "required": ["pipeline_name", "node_names", "states"],
              "properties": {"pipeline_name": {"type": ["string", "null"]}, "node_names": _STRINGS,
                             "states": {"type": "array", "items": _STATE}}}),
    "record_generation": RouteDoc(
        "record the versions a load checked as the pipeline's next served generation", {201: _GENERATION},
        errors=(400, 404, 413, 503), body_required=True,
        body={"type": "object", "required": ["pipeline_name", "versions"],
              "properties": {"pipeline_name": {"type": "string"}, "versions": _VERSIONS_BY_OP}}),
    "generations": RouteDoc(
        "the newest generation number of every pipeline (what serving processes poll)",
        {200: {"type": "object", "required": ["generations"],
               "properties": {"generations": {"type": "object", "additionalProperties": {"type": "integer"}}}}},
        errors=(503,)),
    "latest_generation": RouteDoc("the newest served generation of a pipeline", {200: _GENERATION},
                                  errors=(400, 404, 503)),
    "stage_training": RouteDoc(
        "stage the states of a training run (bytes uploaded first)", {201: {"type": "object"}},
        errors=(400, 409, 413, 503), body_required=True,
        body={"type": "object", "required": ["pipeline_name", "node_names", "states"],
              "properties": {"pipeline_name": {"type": "string"}, "node_names": _STRINGS,
                             "states": {"type": "array", "items": _STATE}}}),
    "commit_staged_training": RouteDoc(
        "commit the newest staged training of a pipeline",
        {200: {"type": "object", "required": ["committed", "states"],
               "properties": {"committed": {"type": "boolean"}, "states": {"type": "array"}}}},
        errors=(400, 409, 413, 503), body_required=True,
        body={"type": "object", "required": ["pipeline_name"], "properties": {"pipeline_name": {"type": "string"}}}),
    "pipeline": RouteDoc(
        "a pipeline the store has seen",
        {200: {"type": "object", "required": ["pipeline_name", "node_names"],
               "properties": {"pipeline_name": {"type": "string"}, "node_names": _STRINGS}}},
        errors=(400, 404, 503)),
}

_GENERIC = RouteDoc("(no description)", {200: {}}, errors=(400, 404, 409, 413, 500, 503))


def _content(spec: Any) -> Dict[str, Any]:
    content_type, schema = spec if isinstance(spec, tuple) else (_JSON, spec)
    return {content_type: {"schema": schema}}


def _call_body(input_schema: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The JSON Schema of a pipeline call's body, with the pipeline's input schema."""
    return {
        "type": "object",
        "properties": {
            "pipeline_input": dict(input_schema) if input_schema is not None else {},
            "use_worker": {"type": ["boolean", "null"]},
        },
        "additionalProperties": False,
    }


def _operation(
    endpoint: str, method: str, doc: RouteDoc, parameters: List[str], secured: bool,
    input_schema: Optional[Mapping[str, Any]],
) -> Dict[str, Any]:
    responses: Dict[str, Any] = {
        str(status): {"description": "success", "content": _content(schema)} for status, schema in doc.ok.items()
    }
    errors = set(doc.errors)
    if parameters or doc.query:
        errors |= {400, 404}
    if secured and not doc.open_route:
        errors.add(401)
    if method != "GET" and doc.body is not None:
        errors |= {400, 413}
    if method != "GET":  # the edge checks of chariots._http: Origin, content type
        errors |= {403} if isinstance(doc.body, tuple) else {403, 415}  # a tuple: not JSON (model bytes)
    if endpoint != "health_check":  # the Host allow-list
        errors.add(400)
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERRORS[status], "content": _content(ERROR_SCHEMA)}
    operation: Dict[str, Any] = {
        "operationId": f"{endpoint}_{method.lower()}",
        "summary": doc.summary,
        "responses": responses,
    }
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
              for name in parameters]
    params += [{"name": name, "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}}
               for name in doc.query]
    if params:
        operation["parameters"] = params
    if method != "GET" and doc.body is not None:
        body = _call_body(input_schema) if doc.body == "call" else doc.body
        operation["requestBody"] = {"required": doc.body_required, "content": _content(body)}
    if secured and doc.open_route:
        operation["security"] = []
    return operation


def openapi_document(
    app: Any,
    title: str,
    routes: Mapping[str, RouteDoc],
    secured: bool,
    pipelines: Optional[Mapping[str, Optional[Mapping[str, Any]]]] = None,
    open_endpoints: Iterable[str] = (),
) -> Dict[str, Any]:
    """The OpenAPI 3.1 document of a Flask app's routes.

    :param app: the Flask app
    :param title: the API's title
    :param routes: what each endpoint does (see :class:`RouteDoc`)
    :param secured: whether the app requires a bearer token (a security scheme is declared)
    :param pipelines: the served pipelines' input schemas by name: a route with a
                      ``<pipeline_name>`` is listed once per pipeline (None: a path parameter)
    :param open_endpoints: endpoints served without the token besides the routes' ``open_route``
    """
    from chariots import __version__

    open_endpoints = set(open_endpoints)
    paths: Dict[str, Dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if rule.endpoint == "static":
            continue
        doc = routes.get(rule.endpoint, _GENERIC)
        if rule.endpoint in open_endpoints and not doc.open_route:
            doc = RouteDoc(doc.summary, doc.ok, doc.errors, doc.body, doc.body_required, doc.query, open_route=True)
        template = _PARAMETER.sub(r"{\1}", rule.rule)
        names = _PARAMETER.findall(rule.rule)
        if pipelines is not None and "pipeline_name" in names:
            instances = [
                (template.replace("{pipeline_name}", name), [n for n in names if n != "pipeline_name"], schema, name)
                for name, schema in sorted(pipelines.items())
            ]
        else:
            instances = [(template, names, None, None)]
        for path, parameters, input_schema, pipeline_name in instances:
            for method in sorted(rule.methods - _IGNORED_METHODS):
                endpoint = rule.endpoint if pipeline_name is None else f"{rule.endpoint}_{pipeline_name}"
                operation = _operation(endpoint, method, doc, parameters, secured, input_schema)
                if pipeline_name is not None:
                    operation["tags"] = [pipeline_name]
                paths.setdefault(path, {})[method.lower()] = operation
    document: Dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": __version__},
        "paths": paths,
    }
    if secured:
        document["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        document["security"] = [{"bearer": []}]
    return document
