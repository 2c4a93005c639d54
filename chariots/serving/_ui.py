"""The read-only web page of a pipelines server: every served pipeline drawn as its graph, each node
with its version, training time and lineage, and the op store's history of an op.

The page is rendered on the server (Jinja templates in ``chariots/serving/ui/``, an inline SVG
laid out here: a node's column is its depth in the graph); it needs no JavaScript and nothing
from the network. A link is red when the downstream model was trained behind another major of
its upstream than the one served (*incompatible*), or when the op store holds a newer upstream
the model was not trained on (*stale*: the next load would refuse it or keep the old upstream).

The lineage of a model is its op's ``training_lineage`` (upstream op name -> major hex) when the
op records one, else the upstream versions the op store validated for the link.
"""
from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["render_index", "render_op_history"]

NODE_WIDTH, NODE_HEIGHT, COLUMN, ROW, MARGIN = 240, 92, 310, 120, 40
SHORT = 5


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("chariots.serving", "ui"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


def _time(timestamp: Optional[float]) -> Optional[str]:
    if not timestamp:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _majors_of(values: Iterable[Any]) -> Set[str]:
    return {getattr(value, "major", value) for value in values if value}


def _lineage(node: Any, upstream_names: List[str], store: Any) -> Dict[str, Set[str]]:
    """The upstream majors each upstream op of a node's model was trained (or validated) on."""
    recorded = getattr(getattr(node, "op", None), "training_lineage", None)
    if recorded:
        return {name: _majors_of([major]) for name, major in recorded.items()}
    if store is None or not getattr(node, "is_loadable", False):
        return {}
    lineage = {}
    for name in upstream_names:
        try:
            majors = _majors_of(store.get_validated_links(node.name, name))
        except Exception:  # an op the store never saw: no lineage to show
            majors = set()
        if majors:
            lineage[name] = majors
    return lineage


def _newest_major(store: Any, op_name: str, cache: Dict[str, Optional[str]]) -> Optional[str]:
    if op_name not in cache:
        try:
            versions = store.get_all_versions_of_op(op_name) if store is not None else []
        except Exception:
            versions = []
        cache[op_name] = max(versions, key=lambda version: version.creation_time).major if versions else None
    return cache[op_name]


def pipeline_view(
    pipeline: "Pipeline", store: Any, newest: Optional[Dict[str, Optional[str]]] = None
) -> Dict[str, Any]:
    """The nodes (with their place in the drawing) and links of a pipeline, links coloured."""
    newest = {} if newest is None else newest
    order = pipeline.pipeline_nodes
    links = pipeline.get_all_op_links()
    upstreams: Dict[str, List[str]] = {node.name: [] for node in order}
    for up, down in links:
        upstreams[down.name].append(up.name)
    depth: Dict[str, int] = {}
    for node in order:  # execution order: every upstream comes first
        depth[node.name] = 1 + max((depth[name] for name in upstreams[node.name]), default=-1)
    rows: Dict[int, int] = {}
    nodes: Dict[str, Dict[str, Any]] = {}
    for node in order:
        column = depth[node.name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        version = node.node_version
        op = getattr(node, "op", None)
        lineage = _lineage(node, upstreams[node.name], store)
        nodes[node.name] = {
            "name": node.name,
            "op_class": type(op).__name__ if op is not None else type(node).__name__,
            "version": version.major[:SHORT],
            "major": version.major,
            "trained": _time(getattr(op, "last_training_time", None)),
            "loadable": bool(getattr(node, "is_loadable", False)),
            "lineage": {name: sorted(major[:SHORT] for major in majors) for name, majors in lineage.items()},
            # what the box shows: the lineage of the upstreams drawn in this graph (all of it in the tooltip)
            "shown_lineage": {name: sorted(major[:SHORT] for major in lineage[name])
                              for name in upstreams[node.name] if name in lineage},
            "majors": lineage,
            "x": MARGIN + column * COLUMN,
            "y": MARGIN + row * ROW,
        }
    edges = []
    for up, down in links:
        source, target = nodes[up.name], nodes[down.name]
        trained_on = target["majors"].get(up.name)
        stored = _newest_major(store, up.name, newest) if trained_on else None
        if not trained_on:
            status, why = "unknown", "no recorded lineage for this link"
        elif source["major"] not in trained_on:
            status = "incompatible"
            why = (f"{down.name} was trained on {up.name} {', '.join(sorted(m[:SHORT] for m in trained_on))}, "
                   f"but {source['version']} is served")
        elif stored is not None and stored not in trained_on:
            status = "stale"
            why = f"the op store holds {up.name} {stored[:SHORT]}, which {down.name} was not trained on: retrain it"
        else:
            status, why = "ok", f"{down.name} was trained on {up.name} {source['version']}"
        x1, y1 = source["x"] + NODE_WIDTH, source["y"] + NODE_HEIGHT / 2
        x2, y2 = target["x"], target["y"] + NODE_HEIGHT / 2
        middle = (x1 + x2) / 2
        if x2 - x1 > COLUMN:  # a link skipping columns bends above the nodes it would cross
            y1, y2 = source["y"] + 12, target["y"] + 12
            lift = min(y1, y2) - MARGIN + 4
            path = f"M{x1:.0f},{y1:.0f} C{x1 + 60:.0f},{lift:.0f} {x2 - 60:.0f},{lift:.0f} {x2:.0f},{y2:.0f}"
        else:
            path = f"M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        edges.append({
            "upstream": up.name, "downstream": down.name, "status": status, "why": why,
            "red": status in ("incompatible", "stale"),
            "path": path,
        })
    width = MARGIN * 2 + max(depth.values(), default=0) * COLUMN + NODE_WIDTH
    height = MARGIN * 2 + (max(rows.values(), default=1) - 1) * ROW + NODE_HEIGHT
    return {"name": pipeline.name, "nodes": list(nodes.values()), "edges": edges, "width": width, "height": height,
            "node_width": NODE_WIDTH, "node_height": NODE_HEIGHT}


def render_index(pipelines: Dict[str, "Pipeline"], store: Any) -> str:
    """The page of every served pipeline."""
    newest: Dict[str, Optional[str]] = {}
    views = [pipeline_view(pipelines[name], store, newest) for name in sorted(pipelines)]
    return _environment().get_template("index.html").render(pipelines=views, has_store=store is not None)


def render_op_history(op_name: str, pipelines: Dict[str, "Pipeline"], store: Any) -> str:
    """The page of an op's saved versions, newest first, marking the ones served here."""
    served = {
        node.node_version.major: pipeline.name
        for pipeline in pipelines.values() for node in pipeline.pipeline_nodes if node.name == op_name
    }
    records = []
    if store is not None and hasattr(store, "get_op_states"):
        for state in store.get_op_states(op_name):
            version = getattr(state, "version", None)
            lineage = getattr(state, "lineage", None) or {}
            records.append({
                "version": version, "class_path": getattr(state, "class_path", None),
                "lineage": {name: str(major)[:SHORT] for name, major in lineage.items()},
                "saved_at": getattr(state, "saved_at", None),
            })
    elif store is not None:
        records = [{"version": version, "class_path": None, "lineage": None, "saved_at": None}
                   for version in store.get_all_versions_of_op(op_name)]
    rows = []
    for record in sorted(records, key=lambda record: getattr(record["version"], "creation_time", 0), reverse=True):
        version = record["version"]
        saved_at = record["saved_at"]
        rows.append({
            "major": version.major[:SHORT], "minor": version.minor[:SHORT], "patch": version.patch[:SHORT],
            "created": _time(version.creation_time) or "-",
            "saved_at": _time(saved_at) if isinstance(saved_at, (int, float)) else (saved_at or "-"),
            "class_path": record["class_path"] or "-", "lineage": record["lineage"],
            "served_by": served.get(version.major),
        })
    return _environment().get_template("op.html").render(op_name=op_name, rows=rows, has_store=store is not None)
