"""The pipelines server's routes, declared once: its Flask views, its OpenAPI document and the
requests of its clients are all built from :data:`ROUTES` (see :mod:`chariots._routes`).

Each route names the :class:`~chariots.serving.PipelinesService` method it calls.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from chariots._response import PipelineResponse
from chariots._routes import ANY, HTML, Arg, Codec, Route
from chariots.errors import BadRequestError
from chariots.serving._contract import check_call_keys
from chariots.versioning import Version

__all__ = ["ROUTES", "BY_ENDPOINT"]


def _use_worker(value: Any, name: str) -> Any:
    if value is not None and not isinstance(value, bool):
        raise BadRequestError(f"'use_worker' must be true, false or null, got {value!r}")
    return value


_PIPELINE = Arg("pipeline_name", Codec(str, lambda value, name: value, {"type": "string"}), "path")
_RESPONSE = Codec(lambda response: response.json(), lambda value, name: PipelineResponse.from_json(value), {
    "type": "object",
    "required": ["pipeline_output", "versions", "job_id", "job_status"],
    "properties": {
        "pipeline_output": {},
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "job_id": {"type": ["string", "null"]},
        "job_status": {"type": ["string", "null"], "enum": ["deferred", "queued", "running", "done", "failed", None]},
        "error": {},
    },
})
_READINESS = {"type": "object", "required": ["ready", "reasons"],
              "properties": {"ready": {"type": "boolean"}, "reasons": {"type": "array", "items": {"type": "string"}}}}
_VERSIONS = {"type": "object", "additionalProperties": {"type": "string"}}


def _check_call(body: Mapping[str, Any], path_values: Mapping[str, Any]) -> None:
    check_call_keys(body, path_values["pipeline_name"])


def _loaded(generation: Any, arguments: Mapping[str, Any]) -> Dict[str, Any]:
    return {} if generation is None else {"generation": generation}


#: every route of the pipelines server
ROUTES = (
    Route("health_check", "GET", "/health_check", "liveness of the server", open_route=True,
          answer_schema={"type": "object", "required": ["status"]}),
    Route("readiness", "GET", "/ready",
          "readiness of this process: 503 with the reasons while a pipeline cannot predict, the op store was not "
          "reached yet, or the process lags the newest generation a load recorded",
          status=lambda readiness: 200 if readiness["ready"] else 503, open_route=True, answer_schema=_READINESS),
    Route("available_pipelines", "GET", "/available_pipelines", "the names of the served pipelines",
          answer_schema={"type": "array", "items": {"type": "string"}}),
    Route("call_pipeline", "POST", "/pipelines/<pipeline_name>/main",
          "run the pipeline (here, or in a worker: the answer then carries a job_id)",
          (_PIPELINE, Arg("pipeline_input", ANY, required=False),
           Arg("use_worker", Codec(lambda value: value, _use_worker, {"type": ["boolean", "null"]}), required=False)),
          result=_RESPONSE, errors=(400, 409, 413, 500, 503), body_closed=True, body_check=_check_call,
          check_path="get_pipeline"),
    Route("pipeline_versions", "GET", "/pipelines/<pipeline_name>/versions", "the version of each node of the pipeline",
          (_PIPELINE,), also=("POST",), answer_schema=_VERSIONS,
          decode=lambda value: {name: Version.parse(text) for name, text in value.items()}),
    Route("load_pipeline", "POST", "/pipelines/<pipeline_name>/load",
          "load the newest compatible versions of the pipeline's ops from the op store",
          (_PIPELINE,), encode=_loaded, decode=lambda value: value.get("generation"), errors=(400, 409, 500, 503),
          answer_schema={"type": "object", "properties": {"generation": {"type": "integer"}}}),
    Route("save_pipeline", "POST", "/pipelines/<pipeline_name>/save",
          "save the pipeline's ops and lineage to the op store", (_PIPELINE,),
          encode=lambda result, arguments: {}, decode=lambda value: None, errors=(400, 409, 500, 503),
          answer_schema={"type": "object"}),
    Route("pipeline_health", "GET", "/pipelines/<pipeline_name>/health_check",
          "whether the pipeline was loaded from its op store", (_PIPELINE,), also=("POST",), open_route=True,
          answer_schema={"type": "object", "required": ["is_loaded"],
                         "properties": {"is_loaded": {"type": "boolean"}}}),
    Route("fetch_job", "GET", "/pipelines/<pipeline_name>/jobs/<job_id>",
          "the state (and, once done, the output) of a worker job",
          (_PIPELINE, Arg("job_id", Codec(str, lambda value, name: value, {"type": "string"}), "path")),
          also=("POST",), result=_RESPONSE, errors=(404, 503)),
    Route("ui_page", "GET", "/ui", "a web page of the served pipelines and their lineage", result=HTML),
    Route("ui_op_page", "GET", "/ui/ops/<op_name>", "a web page of one op's versions in the op store",
          (Arg("op_name", Codec(str, lambda value, name: value, {"type": "string"}), "path"),), result=HTML,
          errors=(400, 404, 503)),
)

#: the routes by endpoint (the name of the service method each calls)
BY_ENDPOINT = {route.endpoint: route for route in ROUTES}
