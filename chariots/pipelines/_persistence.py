"""Saving and loading a pipeline's stateful ops through an op store.

Save reads each op's (version, bytes, lineage) at one moment, uploads the bytes of the states the
store does not hold yet, then commits versions, lineage and the pipeline in one op-store
transaction: an interrupted save leaves the store as it was, and saving certifies nothing
training did not record. An op whose state is the one it was loaded, saved or staged in is not
serialized again when it can tell (every ML op can), and its bytes are never sent twice.

Load picks, for every stateful op in execution order, the newest stored state of the same code
whose lineage fits what its upstream ops load (or exactly the versions it is given: a served
generation), through :func:`chariots.pipelines._loading.load_states`; only then is the pipeline's
graph swapped, in one assignment: a failed load leaves the pipeline as it was.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple

from chariots.errors import VersionError
from chariots.pipelines._lineage import FlatGraph, iter_leaves, short, version_error
from chariots.pipelines._states import (
    check_identity,
    commit_states,
    load_states,
    pin_states,
    same_code,
    snapshot_state,
    snapshot_states,
    upload_states,
)

if TYPE_CHECKING:
    from chariots.pipelines._graph import Graph
    from chariots.pipelines._pipeline import Pipeline
    from chariots.pipelines._store_protocol import OpState, OpStoreProtocol, StateRecord
    from chariots.pipelines.ops import LoadableOp
    from chariots.versioning import Version

def store_states(pipeline: "Pipeline", store: "OpStoreProtocol", only_unknown_ops: bool = False) -> None:
    """Saves the pipeline's states: bytes first, then one commit.

    :param only_unknown_ops: save only the ops the store holds no state of (registering)
    """
    leaves = [leaf for leaf in iter_leaves(pipeline) if leaf.is_loadable and leaf.op.holds_state]
    if only_unknown_ops:
        stored = store.get_states([leaf.name for leaf in leaves]) if leaves else {}
        leaves = [leaf for leaf in leaves if not stored.get(leaf.name)]
    with pipeline.state_lock:  # a training of the pipeline in another thread waits (and this waits for it)
        states = [snapshot_state(leaf) for leaf in leaves]
    commit_states(pipeline.name, [leaf.name for leaf in iter_leaves(pipeline)], states, store)
    for inner in _nested_pipelines(pipeline):  # a pipeline used as a node is known to the store too
        store.register_new_pipeline(inner)


def stage_training(pipeline: "Pipeline", store: "OpStoreProtocol") -> List[StateRecord]:
    """Uploads the states a training run changed and stages their records, so that a save in any
    process commits them; each op is pinned to its staged version. Unchanged states are neither
    serialized (when the op can tell) nor uploaded.

    :returns: the staged records (empty: nothing changed, nothing was staged)
    """
    with pipeline.state_lock:
        states = snapshot_states(iter_leaves(pipeline), changed_only=True)
    if not states:
        return []
    upload_states(store, states)
    records = [state.record for state in states]
    store.stage_training(pipeline.name, [leaf.name for leaf in iter_leaves(pipeline)], records)
    pin_states(states)
    return records


def _nested_pipelines(pipeline: "Pipeline") -> List["Pipeline"]:
    found = []
    for node in pipeline.execution_order():
        if node.requires_runner:
            found.append(node.op)
            found.extend(_nested_pipelines(node.op))
    return found


# ---------------------------------------------------------------------------- loading


class _LineageChooser:
    """Which stored states each op of a pipeline may take: the lineage rule over its flat graph.

    :param flat: the pipeline's flattened graph
    :param versions: the exact version to load for each op (None: the newest compatible set)
    """

    def __init__(self, flat: FlatGraph, stateless: Mapping[str, "Version"],
                 versions: Optional[Mapping[str, "Version"]] = None):
        self.flat = flat
        self.stateless = dict(stateless)
        self.versions = versions

    def __call__(self, name: str, op: "LoadableOp", states: List["OpState"], decided: Mapping[str, "Version"],
                 stored: Set[str]) -> List["OpState"]:
        candidates = [state for state in states if same_code(op, state, states)]
        check_identity(name, op, candidates)
        loaded = {**self.stateless, **decided}
        if self.versions is not None and name in self.versions:
            return self._exact(name, op, states, candidates, loaded)
        if op.allow_version_change:  # it trains: any upstream will do
            return list(reversed(candidates))
        problems = []
        fitting = []
        for state in reversed(candidates):
            problem = self.flat.incompatibility(name, state, loaded)
            if problem is None:
                fitting.append(state)
            else:
                problems.append(problem)
        if fitting:
            return fitting
        if problems:
            raise version_error(name, problems, candidates[-1])
        trained_upstream = [source for source in self.flat.sources.get(name, ())
                            if source in stored and self.flat.stateful[source]]
        if trained_upstream and not op.holds_state:
            raise version_error(
                name,
                [f"op {name!r} has no stored state, and upstream op {trained_upstream[0]!r} serves version "
                 f"{short(loaded[trained_upstream[0]])}"],
                None,
            )
        return []

    def _exact(self, name: str, op: "LoadableOp", states: List["OpState"], candidates: List["OpState"],
               loaded: Mapping[str, "Version"]) -> List["OpState"]:
        wanted = self.versions[name]
        if wanted is None:  # the generation names no state: only an op about to train may take that
            if op.trains_when_run:
                return []
            raise version_error(name, [f"op {name!r} only predicts, and the versions to load name no state of it"],
                                None)
        state = next((state for state in states if state.version == wanted), None)
        if state is None:
            raise LookupError(f"version {short(wanted)} of op {name!r} is not in the op store")
        if state not in candidates:
            raise VersionError(
                f"version {short(wanted)} of op {name!r} was saved by other code than this process runs "
                f"(class {state.class_path}): deploy the same code on every process"
            )
        if not op.allow_version_change:
            problem = self.flat.incompatibility(name, state, loaded)
            if problem is not None:
                raise version_error(name, [problem], state)
        return [state]


def loaded_graph(
    pipeline: "Pipeline",
    store: "OpStoreProtocol",
    versions: Optional[Mapping[str, Optional["Version"]]] = None,
    states: Optional[Mapping[str, List["OpState"]]] = None,
    require_states: bool = False,
) -> "Graph":
    """The pipeline's graph with every stateful op in the state to serve (see the module doc).

    :param versions: the exact version of some ops to load (a served generation); the others take
                     the newest compatible state (None: every op does)
    :param states: the stored states of the ops, when the caller has them already
    :param require_states: refuse when an op that only predicts would serve no state (nothing of it
                           was trained and saved: what a serving load must not record)
    :raises VersionError: when the rule refuses, or a required state is missing
    """
    flat = pipeline._flat
    leaves = list(iter_leaves(pipeline))
    stateless = {leaf.name: leaf.node_version for leaf in leaves if not leaf.is_loadable}
    entries = [(leaf.name, leaf.op) for leaf in leaves if leaf.is_loadable]
    chooser = _LineageChooser(flat, stateless, versions)
    loaded = load_states(entries, store, chooser, states=states,
                         strict=[name for name, version in (versions or {}).items() if version is not None])
    _check_kept(pipeline, flat, entries, stateless, loaded)
    if require_states:
        for name, op in entries:
            if name not in loaded.states and not op.holds_state and not op.trains_when_run:
                raise VersionError.incompatible(
                    f"op {name!r} has no stored state to serve: nothing of it was trained and saved. Run the "
                    f"pipeline that trains it (where it runs in MLMode.FIT or FIT_PREDICT), save it, then load "
                    f"pipeline {pipeline.name!r}"
                )
    return replaced_graph(pipeline, loaded.ops)


def stored_versions(pipeline: "Pipeline") -> Dict[str, "Version"]:
    """The version of each stateful op of a pipeline whose state is one it was loaded, saved or
    staged in (a version the op store holds)."""
    found = {}
    for leaf in iter_leaves(pipeline):
        if leaf.is_loadable and leaf.op.holds_state:
            pinned = leaf.op.pinned_version
            if pinned is not None and pinned == leaf.op.op_version:
                found[leaf.name] = pinned
    return found


def definition(pipeline: "Pipeline") -> Tuple["Pipeline", Dict[str, "Version"]]:
    """A copy of the pipeline whose ops hold none of the states the op store keeps (each op whose
    state is one it was loaded, saved or staged in is stripped of it), and the version of each
    state a worker must load back: the served one of every op that only predicts. An op that
    trains when it runs continues from its newest stored state, as a save of any process would
    commit it."""
    stored = stored_versions(pipeline)
    versions, stripped = {}, {}
    for leaf in iter_leaves(pipeline):
        if leaf.name in stored:
            stripped[leaf.name] = leaf.op.without_state()
            if not leaf.op.trains_when_run:
                versions[leaf.name] = stored[leaf.name]
    copied = copy.copy(pipeline)
    copied._graph = replaced_graph(pipeline, stripped)
    return copied, versions


def _check_kept(pipeline: "Pipeline", flat: FlatGraph, entries: List[Tuple[str, "LoadableOp"]],
                stateless: Mapping[str, "Version"], loaded: Any) -> None:
    """The states a load keeps in memory (no stored state was chosen for them) face the same rule
    as stored ones: every path that puts a state in front of traffic is checked."""
    from chariots.pipelines._store_protocol import OpState

    ops = dict(entries)
    decided = {name: loaded.states[name].version if name in loaded.states else
               (loaded.ops.get(name) or op).current_version() for name, op in entries}
    versions = {**stateless, **decided}
    for name, op in entries:
        if name in loaded.states or op.trains_when_run or not ops[name].holds_state:
            continue
        held = OpState(decided[name], lineage=dict(op.training_lineage or {}), upstream=op.training_upstream)
        problem = flat.incompatibility(name, held, versions)
        if problem is not None:
            raise version_error(name, [f"the state it holds (no stored one fits): {problem}"], None)


def generation_versions(pipeline: "Pipeline") -> Dict[str, Optional["Version"]]:
    """What a generation of the pipeline names: the stored version of every stateful op, None for
    those holding no state (an untrained model a training pipeline is about to train).

    :raises ValueError: if an op holds a state the store does not hold (register it first)
    """
    stored = stored_versions(pipeline)
    versions: Dict[str, Optional["Version"]] = {}
    for leaf in iter_leaves(pipeline):
        if not leaf.is_loadable:
            continue
        if leaf.name in stored:
            versions[leaf.name] = stored[leaf.name]
        elif leaf.op.holds_state:
            raise ValueError(f"op {leaf.name!r} holds a state the op store does not hold: register the pipeline first")
        else:
            versions[leaf.name] = None
    return versions


def unstored_states(pipeline: "Pipeline") -> List[str]:
    """The stateful ops holding a state the op store does not hold (set in Python, never saved)."""
    stored = stored_versions(pipeline)
    return [leaf.name for leaf in iter_leaves(pipeline)
            if leaf.is_loadable and leaf.op.holds_state and leaf.name not in stored]


def untrained_ops(pipeline: "Pipeline") -> List[str]:
    """The ops of a pipeline that would refuse to predict: predicting ML ops never trained or loaded."""
    return [
        leaf.name for leaf in iter_leaves(pipeline)
        if leaf.is_loadable and not leaf.op.trains_when_run and not leaf.op.holds_state
    ]


def replaced_graph(pipeline: "Pipeline", new_ops: Dict[str, "LoadableOp"]) -> "Graph":
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


def stateful_names(pipeline: "Pipeline") -> Set[str]:
    """The op names of the pipeline's stateful leaves."""
    return {leaf.name for leaf in iter_leaves(pipeline) if leaf.is_loadable}
