"""The op store routes of served generations and staged trainings, and their JSON form.

- ``POST /generations``: ``{"pipeline_name", "versions": {op name: version}}`` records the
  pipeline's next generation (201, the generation)
- ``GET /generations``: ``{"generations": {pipeline name: newest number}}`` (what every
  serving process polls: one small query)
- ``GET /generations/<pipeline_name>``: the newest generation (404 when none was recorded)
- ``POST /staged_trainings``: ``{"pipeline_name", "node_names", "states"}`` stages the states
  of a training run whose bytes were uploaded (201)
- ``POST /staged_trainings/commits``: ``{"pipeline_name"}`` commits the newest staged
  training: ``{"committed": bool, "states": [...]}``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from chariots.errors import BadRequestError, NotFoundError
from chariots.op_store._names import check_node_name, check_op_name, parse_version
from chariots.op_store._records import record_to_json, records_from_json
from chariots.pipelines import Generation
from chariots.versioning import Version

if TYPE_CHECKING:
    from flask import Flask

    from chariots.op_store._service import OpStoreService

__all__ = ["add_fleet_routes", "generation_to_json", "generation_from_json"]


def generation_to_json(generation: Generation) -> Dict[str, Any]:
    """A generation as the op store sends it."""
    return {
        "pipeline_name": generation.pipeline_name,
        "generation": generation.number,
        "versions": {name: str(version) for name, version in generation.versions.items()},
        "recorded_at": generation.recorded_at,
    }


def generation_from_json(data: Mapping[str, Any]) -> Generation:
    """A generation from :func:`generation_to_json`'s output."""
    return Generation(
        pipeline_name=data["pipeline_name"],
        number=int(data["generation"]),
        versions={name: Version.parse(text) for name, text in data["versions"].items()},
        recorded_at=data.get("recorded_at"),
    )


def _versions_from_json(value: Any) -> Dict[str, Version]:
    if not isinstance(value, Mapping):
        raise BadRequestError(f"'versions' must be an object of op name -> version, got {value!r}")
    return {check_op_name(name): parse_version(text) for name, text in value.items()}


def add_fleet_routes(app: "Flask", service: "OpStoreService") -> None:
    """Adds the routes of the module doc to the op store's Flask app."""
    from chariots import _http

    def record() -> Tuple[Dict[str, Any], int]:
        body = _http.json_object_body(("pipeline_name", "versions"))
        generation = service.record_generation(body["pipeline_name"], _versions_from_json(body["versions"]))
        return generation_to_json(generation), 201

    def latest(pipeline_name: str) -> Dict[str, Any]:
        generation: Optional[Generation] = service.latest_generation(pipeline_name)
        if generation is None:
            raise NotFoundError(
                f"pipeline {pipeline_name!r} has no served generation: load it once (POST "
                f"/pipelines/{pipeline_name}/load on a pipelines server) to record one"
            )
        return generation_to_json(generation)

    def stage() -> Tuple[Dict[str, Any], int]:
        body = _http.json_object_body(("pipeline_name", "node_names", "states"))
        node_names = body["node_names"]
        if not isinstance(node_names, list):
            raise BadRequestError(f"'node_names' must be a list of node names, got {node_names!r}")
        service.stage_training(body["pipeline_name"], node_names, records_from_json(body["states"]))
        return {"staged": True}, 201

    def commit() -> Dict[str, Any]:
        body = _http.json_object_body(("pipeline_name",))
        states = service.commit_staged_training(check_node_name(body["pipeline_name"], "pipeline name"))
        return {"committed": states is not None, "states": [record_to_json(state) for state in states or ()]}

    app.add_url_rule("/generations", "record_generation", record, methods=["POST"])
    app.add_url_rule("/generations", "generations", lambda: {"generations": service.generation_numbers()},
                     methods=["GET"])
    app.add_url_rule("/generations/<name:pipeline_name>", "latest_generation", latest, methods=["GET"])
    app.add_url_rule("/staged_trainings", "stage_training", stage, methods=["POST"])
    app.add_url_rule("/staged_trainings/commits", "commit_staged_training", commit, methods=["POST"])
