"""Saving and loading a pipeline's stateful ops through an op store.

Save snapshots each op's (version, bytes, lineage) at one moment, uploads every state's bytes,
then commits versions, lineage and the pipeline in one op-store transaction: an interrupted save
leaves the store as it was, and saving certifies nothing training did not record.

Load picks, for every stateful op in execution order, the newest stored state of the same code
whose lineage fits the versions its upstream ops load, reads everything, and only then swaps the
pipeline's graph: a failed load leaves the pipeline as it was.
"""
from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from chariots.errors import BadRequestError, MLOpError, OpIdentityError, ServiceUnavailableError, VersionError
from chariots.pipelines._lineage import FlatGraph, iter_leaves, short, version_error
from chariots.pipelines._store_protocol import OpState, StateRecord

if TYPE_CHECKING:
    from chariots.pipelines._pipeline import Pipeline, _Graph
    from chariots.pipelines._store_protocol import OpStoreProtocol
    from chariots.pipelines.nodes import BaseNode
    from chariots.pipelines.ops import LoadableOp
    from chariots.versioning import Version

logger = logging.getLogger("chariots.pipelines")


def snapshot_state(leaf: "BaseNode") -> Tuple["BaseNode", bytes, StateRecord]:
    """A stateful op's node, its bytes, and what to record of it, read at one moment."""
    op = leaf.op
    state_bytes = op.serialize()
    version = op.version_for_state(state_bytes)
    lineage = dict(op.training_lineage) if op.training_lineage is not None else None
    return leaf, state_bytes, StateRecord(leaf.name, version, op.class_path, op.class_version.major, lineage)


def snapshot_states(pipeline: "Pipeline") -> List[Tuple["BaseNode", bytes, StateRecord]]:
    """Each stateful op holding a state: its node, its bytes, and what to record of it."""
    return [snapshot_state(leaf) for leaf in iter_leaves(pipeline) if leaf.is_loadable and leaf.op.holds_state]


def pin_states(states: List[Tuple["BaseNode", bytes, StateRecord]]) -> None:
    """Tells each op the state it now holds is the one stored (or staged) under its record's version."""
    for leaf, state_bytes, record in states:
        leaf.op.pin_state(record.version, state_bytes, record.lineage)


def store_states(pipeline: "Pipeline", store: "OpStoreProtocol", only_unknown_ops: bool = False) -> None:
    """Saves the pipeline's states: bytes first, then one commit.

    :param only_unknown_ops: save only the ops the store has no state of (registering)
    """
    states = snapshot_states(pipeline)
    if only_unknown_ops:
        states = [state for state in states if not store.get_all_versions_of_op(state[2].op_name)]
    # a state the op was loaded from (or last saved as) is in the store already: its bytes are not sent again
    pinned = [getattr(state[0].op, "_state_version", None) == state[2].version for state in states]
    for (_, state_bytes, record), skip in zip(states, pinned):
        if not skip:
            store.upload_op_bytes(record.op_name, record.version, state_bytes)
    node_names = [leaf.name for leaf in iter_leaves(pipeline)]
    try:
        store.commit_save(pipeline.name, node_names, [state[2] for state in states])
    except BadRequestError:
        if not any(pinned):
            raise
        # another store than the one the states came from: send every state's bytes
        for (_, state_bytes, record), skip in zip(states, pinned):
            if skip:
                store.upload_op_bytes(record.op_name, record.version, state_bytes)
        store.commit_save(pipeline.name, node_names, [state[2] for state in states])
    for inner in _nested_pipelines(pipeline):  # a pipeline used as a node is known to the store too
        store.register_new_pipeline(inner)
    pin_states(states)


def _nested_pipelines(pipeline: "Pipeline") -> List["Pipeline"]:
    found = []
    for node in pipeline.execution_order():
        if node.requires_runner:
            found.append(node.op)
            found.extend(_nested_pipelines(node.op))
    return found


def _same_code(op: "LoadableOp", state: OpState, states: Sequence[OpState] = ()) -> bool:
    """Whether ``state`` was saved by the op's current code (``states``: every state of the op).

    A state saved before class versions were recorded (op store schema 0001) counts as the
    current code when, as Chariots then decided, the op's major is among those states' majors:
    the untrained op registered under its class version shares the code of the later trainings.
    """
    if state.class_major is None:
        current = (op.class_version.major, op.op_version.major)
        return any(other.class_major is None and other.version.major in current for other in (state, *states))
    return state.class_major == op.class_version.major


def choose_state(
    flat: FlatGraph,
    name: str,
    op: "LoadableOp",
    states: List[OpState],
    versions: Dict[str, "Version"],
    stored: Set[str],
) -> Optional[OpState]:
    """The state of op ``name`` to load (None: keep the op in memory as it is).

    :param versions: the version each upstream op loads
    :param stored: the upstream ops whose loaded state came from the store
    :raises VersionError: if no state of the op's code fits what its upstream loads, while an
                          upstream op it depends on serves a stored (trained) state
    """
    candidates = [state for state in states if _same_code(op, state, states)]
    _check_identity(name, op, candidates)
    if op.allow_version_change:  # it trains: any upstream will do
        return candidates[-1] if candidates else None
    problems = []
    for state in reversed(candidates):
        problem = flat.incompatibility(name, state, versions)
        if problem is None:
            return state
        problems.append(problem)
    if problems:
        raise version_error(name, problems, candidates[-1])
    trained_upstream = [source for source in flat.sources.get(name, ()) if source in stored and flat.stateful[source]]
    if trained_upstream and not op.holds_state:
        raise version_error(
            name,
            [f"op {name!r} has no stored state, and upstream op {trained_upstream[0]!r} serves version "
             f"{short(versions[trained_upstream[0]])}"],
            None,
        )
    return None


def _check_identity(name: str, op: "LoadableOp", states: List[OpState]) -> None:
    stored_class = next((state.class_path for state in states if state.class_path), None)
    if stored_class is not None and stored_class != op.class_path:
        raise OpIdentityError(
            f"op name {name!r} holds the states of class {stored_class} in the op store, and {op.class_path} "
            f"would load them: the two classes would read each other's states. Give one of them another name "
            f"with name=, e.g. {type(op).__name__}(..., name='{name}_2')"
        )


def _load_state(name: str, op: "LoadableOp", state: OpState, store: "OpStoreProtocol") -> "LoadableOp":
    state_bytes = store.get_op_bytes_for_version(name, state.version)
    loaded = copy.copy(op)
    loaded.load(state_bytes)
    if not loaded.state_matches(state.version):
        raise MLOpError(
            f"the bytes stored as version {short(state.version)} of op {name!r} hold version "
            f"{short(loaded.op_version)}: the store is inconsistent, save the op again"
        )
    loaded.pin_state(state.version, state_bytes, state.lineage)
    return loaded


def loaded_graph(pipeline: "Pipeline", flat: FlatGraph, store: "OpStoreProtocol") -> "_Graph":
    """The pipeline's graph with every stateful op in the state to serve (see the module doc)."""
    leaves = {leaf.name: leaf for leaf in iter_leaves(pipeline)}
    versions: Dict[str, "Version"] = {}
    stored: Set[str] = set()
    new_ops: Dict[str, "LoadableOp"] = {}
    for name in flat.order:
        leaf = leaves[name]
        if not leaf.is_loadable:
            versions[name] = leaf.node_version
            continue
        states = store.get_op_states(name)
        while True:
            state = choose_state(flat, name, leaf.op, states, versions, stored)
            if state is None or leaf.op.op_version == state.version:
                break
            try:
                new_ops[name] = _load_state(name, leaf.op, state, store)
                break
            except (ServiceUnavailableError, VersionError):
                raise
            except Exception as error:  # corrupt or missing bytes: serve the previous good state
                logger.warning("skipped version %s of op %r, which cannot be loaded: %s: %s",
                               short(state.version), name, type(error).__name__, error)
                states = [other for other in states if other.version != state.version]
        if state is None:
            versions[name] = leaf.node_version
            continue
        versions[name] = state.version
        stored.add(name)
    return replaced_graph(pipeline, new_ops)


def replaced_graph(pipeline: "Pipeline", new_ops: Dict[str, "LoadableOp"]) -> "_Graph":
    """The pipeline's graph where the ops named in ``new_ops`` are swapped (nested pipelines copied)."""
    graph = pipeline._graph
    replaced = {}
    for node in graph.order:
        if node.requires_runner:
            inner_graph = replaced_graph(node.op, new_ops)
            if inner_graph is not node.op._graph:
                inner = copy.copy(node.op)
                inner._graph = inner_graph
                replaced[node] = node.with_op(inner)
        elif node.name in new_ops:
            replaced[node] = node.with_op(new_ops[node.name])
    return graph.with_nodes(replaced) if replaced else graph
