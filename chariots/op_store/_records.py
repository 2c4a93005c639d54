"""The JSON form of the records a save commits and a load reads (op states and their lineage)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from chariots.errors import BadRequestError
from chariots.op_store._names import check_node_name, check_op_name, parse_version
from chariots.pipelines import OpState, StateRecord
from chariots.versioning import Version

__all__ = ["state_to_json", "state_from_json", "record_to_json", "record_from_json"]


def _versions_to_json(versions: Optional[Mapping[str, Version]]) -> Optional[Dict[str, str]]:
    return None if versions is None else {name: str(version) for name, version in versions.items()}


def state_to_json(state: OpState) -> Dict[str, Any]:
    """An op state as the op store sends it."""
    return {
        "version": str(state.version),
        "class_path": state.class_path,
        "class_major": state.class_major,
        "lineage": _versions_to_json(state.lineage),
        "links": {name: [str(version) for version in versions] for name, versions in state.links.items()},
        "saved_by": state.saved_by,
        "saved_at": state.saved_at,
        "upstream": None if state.upstream is None else dict(state.upstream),
        "sequence": state.sequence,
    }


def state_from_json(data: Mapping[str, Any]) -> OpState:
    """An op state from :func:`state_to_json`'s output (sent by a trusted op store)."""
    return OpState(
        version=Version.parse(data["version"]),
        class_path=data.get("class_path"),
        class_major=data.get("class_major"),
        lineage={name: Version.parse(text) for name, text in (data.get("lineage") or {}).items()},
        links={name: [Version.parse(text) for text in texts] for name, texts in (data.get("links") or {}).items()},
        saved_by=data.get("saved_by"),
        saved_at=data.get("saved_at"),
        upstream=data.get("upstream"),
        sequence=data.get("sequence"),
    )


def record_to_json(record: StateRecord) -> Dict[str, Any]:
    """A state of a save as a client sends it."""
    return {
        "op_name": record.op_name,
        "version": str(record.version),
        "class_path": record.class_path,
        "class_major": record.class_major,
        "lineage": _versions_to_json(record.lineage),
        "upstream": None if record.upstream is None else dict(record.upstream),
    }


def _string(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 500:
        raise BadRequestError(f"{where}: {key!r} must be a non-empty string of at most 500 characters, got {value!r}")
    return value


def record_from_json(data: Any, index: int, check: Callable[[str], str] = check_op_name) -> StateRecord:
    """A state of a save from a request body, every field checked.

    :raises BadRequestError: naming the state and the field that is wrong
    """
    where = f"states[{index}]"
    if not isinstance(data, Mapping):
        raise BadRequestError(f"{where} must be a JSON object, got {type(data).__name__}")
    lineage = data.get("lineage")
    if lineage is not None and not isinstance(lineage, Mapping):
        raise BadRequestError(f"{where}: 'lineage' must be an object of op name -> version, got {lineage!r}")
    return StateRecord(
        op_name=check(data.get("op_name")),
        version=parse_version(data.get("version")),
        class_path=_string(data, "class_path", where),
        class_major=_string(data, "class_major", where),
        lineage=None if lineage is None else {
            check_node_name(name, f"{where} lineage op name"): parse_version(text) for name, text in lineage.items()
        },
        upstream=_upstream_from_json(data.get("upstream"), where),
    )


_UPSTREAM_KINDS = ("stateful", "stateless", "entry")


def _upstream_from_json(value: Any, where: str) -> Optional[Dict[str, Dict[str, str]]]:
    """An upstream graph sent with a state, every node checked (place -> kind, class, name, major)."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > 10_000:
        raise BadRequestError(f"{where}: 'upstream' must be an object of place -> node, got {type(value).__name__}")
    graph = {}
    for place, node in value.items():
        if not isinstance(place, str) or not place or len(place) > 2000:
            raise BadRequestError(f"{where}: an 'upstream' place must be a non-empty string, got {place!r}")
        if not isinstance(node, Mapping) or node.get("kind") not in _UPSTREAM_KINDS:
            raise BadRequestError(
                f"{where}: 'upstream' node at {place!r} must be an object whose 'kind' is one of "
                f"{list(_UPSTREAM_KINDS)}"
            )
        checked = {"kind": node["kind"]}
        for key in ("class", "name", "major"):
            text = node.get(key)
            if not isinstance(text, str) or len(text) > 500:
                raise BadRequestError(f"{where}: 'upstream' node at {place!r} needs a string {key!r}, got {text!r}")
            checked[key] = text
        if node.get("version") is not None:
            checked["version"] = str(parse_version(node["version"]))
        graph[place] = checked
    return graph


def records_from_json(items: Any) -> List[StateRecord]:
    """The states of a save from a request body.

    :raises BadRequestError: if ``states`` is not a list of valid states
    """
    if not isinstance(items, list):
        raise BadRequestError(f"'states' must be a list of op states, got {type(items).__name__}")
    return [record_from_json(item, index) for index, item in enumerate(items)]
