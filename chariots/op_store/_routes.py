"""The op store's routes, declared once: the server's views, its OpenAPI document and the HTTP
client's requests are all built from :data:`ROUTES` (see :mod:`chariots._routes`).

Each route names the :class:`~chariots.op_store._service.OpStoreService` method it calls; the
codecs below say how names, versions, states and generations travel as JSON and check what a
request sends (a wrong value is a 400 naming the field).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from chariots._routes import RAW, Arg, Codec, Route
from chariots.errors import BadRequestError
from chariots.op_store._names import check_node_name, check_op_name, parse_version
from chariots.op_store._records import record_to_json, records_from_json, state_from_json, state_to_json
from chariots.pipelines import Generation
from chariots.versioning import Version

__all__ = ["ROUTES", "BY_ENDPOINT", "generation_to_json", "generation_from_json"]

_STRINGS = {"type": "array", "items": {"type": "string"}}
_VERSIONS_BY_OP = {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
_STATE = {"type": "object", "required": ["version"],
          "properties": {"version": {"type": "string"}, "class_path": {"type": ["string", "null"]},
                         "class_major": {"type": ["string", "null"]},
                         "lineage": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}}}
_RECORD = {"type": "object", "required": ["op_name", "version", "class_path", "class_major"],
           "properties": {"op_name": {"type": "string"}, "version": {"type": "string"},
                          "class_path": {"type": "string"}, "class_major": {"type": "string"},
                          "lineage": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}}}
_GENERATION = {"type": "object", "required": ["pipeline_name", "generation", "versions"],
               "properties": {"pipeline_name": {"type": "string"}, "generation": {"type": "integer"},
                              "versions": _VERSIONS_BY_OP, "recorded_at": {"type": ["number", "null"]},
                              "states": {"type": "object", "additionalProperties": _STATE}}}


def _op_name(value: Any, name: str) -> str:
    return check_op_name(value)


def _node_name(what: str) -> Codec:
    return Codec(lambda value: check_node_name(value, what), lambda value, name: check_node_name(value, what),
                 {"type": "string", "minLength": 1})


def _version(value: Any, name: str) -> Version:
    return parse_version(value)


def _encode_version(version: Any) -> str:
    if not isinstance(version, Version):
        raise TypeError(f"expected a Version, got {version!r}")
    return str(version)


def _names_list(what: str) -> Codec:
    def decode(value: Any, name: str) -> List[str]:
        if not isinstance(value, list):
            raise BadRequestError(f"{name!r} must be a list of {what}s, got {value!r}")
        return [check_node_name(item, what) for item in value]

    return Codec(lambda value: list(value), decode, _STRINGS)


def _op_names(value: Any, name: str) -> List[str]:
    if not isinstance(value, list):
        raise BadRequestError(f"{name!r} must be a list of op names, got {type(value).__name__}")
    return [check_op_name(item) for item in value]


def _versions_map(value: Any, name: str) -> Dict[str, Optional[Version]]:
    if not isinstance(value, Mapping):
        raise BadRequestError(f"{name!r} must be an object of op name -> version (or null), got {value!r}")
    return {check_op_name(op): None if text is None else parse_version(text) for op, text in value.items()}


OP_NAME = Codec(check_op_name, _op_name, {"type": "string", "minLength": 1})
OP_NAMES = Codec(lambda names: [check_op_name(name) for name in names], _op_names, _STRINGS)
VERSION = Codec(_encode_version, _version, {"type": "string", "minLength": 1})
VERSIONS = Codec(lambda versions: {op: None if version is None else _encode_version(version)
                                    for op, version in versions.items()},
                 _versions_map, {"type": "object", "additionalProperties": {"type": ["string", "null"]}})
RECORDS = Codec(lambda records: [record_to_json(record) for record in records],
                lambda value, name: records_from_json(value), {"type": "array", "items": _RECORD})
PIPELINE_NAME = _node_name("pipeline name")
NODE_NAMES = _names_list("node name")
BOOLEAN = Codec(bool, lambda value, name: bool(value), {"type": "boolean"})


def generation_to_json(generation: Generation) -> Dict[str, Any]:
    """A generation as the op store sends it (with the stored state of each version it names)."""
    return {
        "pipeline_name": generation.pipeline_name,
        "generation": generation.number,
        "versions": {name: None if version is None else str(version) for name, version in generation.versions.items()},
        "recorded_at": generation.recorded_at,
        "states": {name: state_to_json(state) for name, state in generation.states.items()},
    }


def generation_from_json(data: Mapping[str, Any]) -> Generation:
    """A generation from :func:`generation_to_json`'s output."""
    return Generation(
        pipeline_name=data["pipeline_name"],
        number=int(data["generation"]),
        versions={name: None if text is None else Version.parse(text) for name, text in data["versions"].items()},
        recorded_at=data.get("recorded_at"),
        states={name: state_from_json(state) for name, state in (data.get("states") or {}).items()},
    )


GENERATION = Codec(generation_to_json, lambda value, name: generation_from_json(value), _GENERATION)


def _created(result: Any) -> int:
    return 201 if result else 200


def _versions_answer(versions: List[Version], arguments: Mapping[str, Any]) -> Dict[str, Any]:
    return {"op_name": arguments["op_name"], "versions": [str(version) for version in versions]}


def _states_answer(states: List[Any], arguments: Mapping[str, Any]) -> Dict[str, Any]:
    return {"op_name": arguments["op_name"], "states": [state_to_json(state) for state in states]}


def _bytes_answer(key: str):
    def encode(done: bool, arguments: Mapping[str, Any]) -> Dict[str, Any]:
        return {"op_name": arguments["op_name"], "version": str(arguments["version"]), key: bool(done)}

    return encode


def _links_answer(versions: List[Version], arguments: Mapping[str, Any]) -> Dict[str, Any]:
    return {"downstream_op": arguments["downstream_op"], "upstream_op": arguments["upstream_op"],
            "versions": [str(version) for version in versions]}


def _staged_commit_answer(states: Any, arguments: Mapping[str, Any]) -> Dict[str, Any]:
    return {"committed": states is not None, "states": [record_to_json(state) for state in states or ()]}


def _staged_commit_result(value: Mapping[str, Any]) -> Any:
    if not value["committed"]:
        return None
    return records_from_json(value["states"])


_NAMED_OP = (Arg("op_name", OP_NAME, "path"),)
_NAMED_VERSION = (*_NAMED_OP, Arg("version", VERSION, "path"))
_STORED_BYTES = {"type": "object", "required": ["op_name", "version"],
                 "properties": {"op_name": {"type": "string"}, "version": {"type": "string"}}}

#: every route of the op store
ROUTES = (
    Route("health_check", "GET", "/health_check", "liveness of the op store and its database",
          errors=(503,), open_route=True,
          answer_schema={"type": "object", "required": ["status"]}),
    Route("get_all_versions_of_op", "GET", "/ops/<name:op_name>/versions", "every saved version of an op, oldest first",
          _NAMED_OP, encode=_versions_answer, decode=lambda value: [Version.parse(text) for text in value["versions"]],
          errors=(400, 503),
          answer_schema={"type": "object", "required": ["op_name", "versions"],
                         "properties": {"op_name": {"type": "string"}, "versions": _STRINGS}}),
    Route("open_op_bytes", "GET", "/ops/<name:op_name>/versions/<name:version>",
          "the saved bytes of one version of an op",
          _NAMED_VERSION, result=RAW, errors=(400, 404, 500, 503)),
    Route("save_op_stream", "PUT", "/ops/<name:op_name>/versions/<name:version>",
          "save the bytes of one version of an op (stored versions are immutable: 409)",
          (*_NAMED_VERSION, Arg("stream", RAW, "raw")), encode=_bytes_answer("created"),
          decode=lambda value: value["created"], status=_created, errors=(400, 409, 413, 500, 503),
          answer_schema=_STORED_BYTES),
    Route("get_op_states", "GET", "/ops/<name:op_name>/states", "every saved state of an op with its lineage",
          _NAMED_OP, encode=_states_answer, decode=lambda value: [state_from_json(state) for state in value["states"]],
          errors=(400, 503),
          answer_schema={"type": "object", "properties": {"states": {"type": "array", "items": _STATE}}}),
    Route("get_states", "POST", "/state_lookups", "every saved state of each op named, by op name",
          (Arg("op_names", OP_NAMES),),
          encode=lambda states, arguments: {"states": {op: [state_to_json(state) for state in found]
                                                       for op, found in states.items()}},
          decode=lambda value: {op: [state_from_json(state) for state in found]
                                for op, found in value["states"].items()},
          errors=(400, 413, 503),
          answer_schema={"type": "object", "properties": {"states": {
              "type": "object", "additionalProperties": {"type": "array", "items": _STATE}}}}),
    Route("upload_op_stream", "PUT", "/ops/<name:op_name>/uploads/<name:version>",
          "upload the raw bytes of a state, listed once a save commits it",
          (*_NAMED_VERSION, Arg("stream", RAW, "raw")), encode=_bytes_answer("written"),
          decode=lambda value: value["written"], status=_created, errors=(400, 413, 500, 503),
          answer_schema=_STORED_BYTES),
    Route("commit_save", "POST", "/saves", "commit uploaded states and their lineage in one transaction",
          (Arg("pipeline_name", PIPELINE_NAME, required=False), Arg("node_names", NODE_NAMES, required=False),
           Arg("states", RECORDS)),
          encode=lambda result, arguments: {"committed": True}, decode=lambda value: None, status=201,
          errors=(400, 409, 413, 503),
          answer_schema={"type": "object", "properties": {"committed": {"type": "boolean"}}}),
    Route("validated_links", "GET", "/validated_links",
          "the upstream versions validated for a (downstream op, upstream op) pair",
          (Arg("downstream_op", _node_name("downstream op name"), "query"),
           Arg("upstream_op", _node_name("upstream op name"), "query"),
           Arg("downstream_op_version", VERSION, "query", required=False)),
          encode=_links_answer, decode=lambda value: [Version.parse(text) for text in value["versions"]],
          errors=(400, 503),
          answer_schema={"type": "object", "required": ["versions"], "properties": {"versions": _STRINGS}}),
    Route("register_valid_link", "POST", "/validated_links",
          "record that a downstream op was validated with a version of an upstream op",
          (Arg("downstream_op", _node_name("downstream op name")), Arg("upstream_op", _node_name("upstream op name")),
           Arg("upstream_op_version", VERSION), Arg("downstream_op_version", VERSION, required=False)),
          encode=lambda created, arguments: {"created": bool(created)}, decode=lambda value: value["created"],
          status=_created, errors=(400, 404, 413, 503),
          answer_schema={"type": "object", "required": ["created"], "properties": {"created": {"type": "boolean"}}}),
    Route("pipeline_names", "GET", "/pipelines", "the names of every pipeline the store has seen",
          encode=lambda names, arguments: {"pipelines": list(names)}, decode=lambda value: list(value["pipelines"]),
          errors=(503,), answer_schema={"type": "object", "properties": {"pipelines": _STRINGS}}),
    Route("record_pipeline", "POST", "/pipelines", "record a pipeline's name and nodes",
          (Arg("pipeline_name", PIPELINE_NAME), Arg("node_names", NODE_NAMES)),
          encode=lambda created, arguments: {"created": bool(created)}, decode=lambda value: value["created"],
          status=_created, errors=(400, 413, 503),
          answer_schema={"type": "object", "required": ["created"], "properties": {"created": {"type": "boolean"}}}),
    Route("get_pipeline", "GET", "/pipelines/<name:pipeline_name>", "a pipeline the store has seen",
          (Arg("pipeline_name", PIPELINE_NAME, "path"),), errors=(400, 404, 503),
          answer_schema={"type": "object", "required": ["pipeline_name", "node_names"],
                         "properties": {"pipeline_name": {"type": "string"}, "node_names": _STRINGS}}),
    Route("record_generation", "POST", "/generations", "record the pipeline's next served generation",
          (Arg("pipeline_name", PIPELINE_NAME), Arg("versions", VERSIONS)), result=GENERATION, status=201,
          errors=(400, 404, 413, 503)),
    Route("generation_numbers", "GET", "/generations", "the newest generation number of every loaded pipeline",
          encode=lambda numbers, arguments: {"generations": dict(numbers)},
          decode=lambda value: {name: int(number) for name, number in value["generations"].items()},
          errors=(503,), answer_schema={"type": "object", "properties": {
              "generations": {"type": "object", "additionalProperties": {"type": "integer"}}}}),
    Route("latest_generation", "GET", "/generations/<name:pipeline_name>",
          "the newest served generation of a pipeline, with the states it names",
          (Arg("pipeline_name", PIPELINE_NAME, "path"),), result=GENERATION, errors=(400, 404, 503),
          missing=lambda arguments: (
              f"pipeline {arguments['pipeline_name']!r} has no served generation: load it once (POST "
              f"/pipelines/{arguments['pipeline_name']}/load on a pipelines server) to record one")),
    Route("stage_training", "POST", "/staged_trainings", "stage the states of a training run (bytes uploaded first)",
          (Arg("pipeline_name", PIPELINE_NAME), Arg("node_names", NODE_NAMES), Arg("states", RECORDS)),
          encode=lambda result, arguments: {"staged": True}, decode=lambda value: None, status=201,
          errors=(400, 409, 413, 503)),
    Route("commit_staged_training", "POST", "/staged_trainings/commits",
          "commit the newest staged training of a pipeline", (Arg("pipeline_name", PIPELINE_NAME),),
          encode=_staged_commit_answer, decode=_staged_commit_result, errors=(400, 409, 413, 503),
          answer_schema={"type": "object", "required": ["committed", "states"],
                         "properties": {"committed": {"type": "boolean"}, "states": {"type": "array"}}}),
)

#: the routes by endpoint (the name of the service method each calls)
BY_ENDPOINT = {route.endpoint: route for route in ROUTES}
