"""The pipeline: a graph of nodes validated at construction and run by a runner."""
from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NoReturn, Optional, Tuple

from chariots.errors import ChariotsError, OpError, PipelineError, VersionError
from chariots.pipelines import _persistence
from chariots.pipelines._batching import Batching, checked_batching
from chariots.pipelines._graph import build_graph
from chariots.pipelines._lineage import FlatGraph, iter_leaves
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.nodes import BaseNode, NodeReference, ReservedNodes
from chariots.pipelines.nodes._base_nodes import PipelineOp
from chariots.versioning import Version

if TYPE_CHECKING:
    from chariots.pipelines._store_protocol import OpState, OpStoreProtocol, StateRecord
    from chariots.pipelines.runners import BaseRunner

_INPUT = ReservedNodes.pipeline_input
_OUTPUT = ReservedNodes.pipeline_output


class Pipeline(PipelineOp):
    """A graph of nodes run in dependency order by a runner.

    The graph is checked when the pipeline is built: every input must name an output of
    another node (or ``__pipeline_input__``), output names are unique, there is no cycle and
    every output is consumed (or is ``__pipeline_output__``).

    :param pipeline_nodes: the nodes of the pipeline
    :param name: the pipeline's name, used in the server's routes and in the op store
    :param pipeline_callbacks: callbacks run around the pipeline and each of its nodes
    :param use_worker: whether calls to this pipeline go to a worker by default (None: no
                       preference)
    :param input_schema: a JSON Schema the ``pipeline_input`` of a server call must match (checked
                         before any op runs, answered 400 naming the field; None: no check)
    :param batching: run concurrent server calls together (see :class:`~chariots.pipelines.Batching`):
                     the pipeline then takes a list of rows and returns one answer per row
                     (None: every call runs on its own)
    :raises PipelineError: (a ``ValueError``) if the graph is invalid, naming the node, or if a
                           pipeline that trains is batched
    """

    def __init__(
        self,
        pipeline_nodes: List[BaseNode],
        name: str,
        pipeline_callbacks: Optional[List[PipelineCallback]] = None,
        use_worker: Optional[bool] = None,
        input_schema: Optional[Dict[str, Any]] = None,
        batching: Optional[Batching] = None,
    ):
        if not isinstance(name, str) or not name:
            raise PipelineError(f"a pipeline needs a non-empty string name, got {name!r}")
        self._name = name
        self._pipeline_callbacks: Tuple[PipelineCallback, ...] = tuple(pipeline_callbacks or ())
        self.use_worker = use_worker
        self.input_schema = input_schema
        self._graph = build_graph(name, list(pipeline_nodes))
        # held by a run that trains and by a save's snapshot: a save never reads an op mid-training
        self._state_lock = threading.RLock()
        self._flat = FlatGraph(self)
        for node in self._graph.order:
            # a node records its op's lineage when running it trains it (or trains an op inside)
            node._records_lineage = node.op.trains if node.requires_runner else (
                node.is_loadable and node.op.trains_when_run
            )
        #: how concurrent server calls of this pipeline run together (None: each on its own)
        self.batching = checked_batching(name, batching, self.trains)

    @property
    def name(self) -> str:
        """the name of the pipeline"""
        return self._name

    @property
    def state_lock(self) -> "threading.RLock":
        """the lock a run that trains holds for its whole run, and a save or a staging holds while
        it reads the states (version, bytes, lineage of each op, at one moment); snapshots of the
        pipeline share it"""
        return self._state_lock

    def __copy__(self) -> "Pipeline":
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)  # a snapshot shares the graph's ops and the state lock
        return clone

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_state_lock", None)  # a lock is of its process: a job or a worker gets its own
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._state_lock = threading.RLock()

    @property
    def pipeline_nodes(self) -> List[BaseNode]:
        """the nodes of the pipeline, in execution order"""
        return list(self._graph.order)

    @property
    def node_for_name(self) -> Dict[str, BaseNode]:
        """the nodes of the pipeline by name"""
        return {node.name: node for node in self._graph.order}

    @property
    def pipeline_callbacks(self) -> Tuple[PipelineCallback, ...]:
        """the callbacks of this pipeline"""
        return self._pipeline_callbacks

    def add_callbacks(self, callbacks: List[PipelineCallback]) -> None:
        """Appends callbacks to the pipeline (servers add their default callbacks this way)."""
        self._pipeline_callbacks = self._pipeline_callbacks + tuple(callbacks)

    @property
    def op_version(self) -> Version:
        """the version of the pipeline as a whole: its nodes' versions folded in order"""
        version = Version()
        for node in self._graph.order:
            version = version + node.node_version
        return version

    @property
    def allow_version_change(self) -> bool:
        """a pipeline used as a node checks its own nodes instead"""
        return True

    @property
    def trains(self) -> bool:
        """whether running the pipeline trains (changes the state of) one of its ops"""
        return any(node._records_lineage for node in self._graph.order)

    def execute(self, runner: "BaseRunner", pipeline_input: Any = None) -> Any:
        """Present because a pipeline can stand where an op does; use a runner instead.

        :raises NotImplementedError: always
        """
        raise NotImplementedError(
            f"pipeline {self.name!r} is run by a runner: runner.run(pipeline, pipeline_input)"
        )

    def snapshot(self) -> "Pipeline":
        """A view of the pipeline pinned to its current ops: a concurrent :meth:`load` does not
        change it, so a run and the versions it reports always match."""
        return copy.copy(self)

    def execution_order(self) -> Tuple[BaseNode, ...]:
        """the nodes in the order a runner executes them (a consistent snapshot)"""
        return self._graph.order

    def execute_node(
        self, node: BaseNode, intermediate_results: Dict[NodeReference, Any], runner: "BaseRunner"
    ) -> Any:
        """Runs one node on the results of its inputs, with the node callbacks.

        :param node: the node to execute
        :param intermediate_results: results so far, by output reference; the node's outputs
                                     are added and inputs nobody else needs are removed
        :param runner: the runner, for nodes that run a pipeline
        :raises PipelineError: if the node returns a different number of outputs than declared
        :returns: the node's output
        """
        args = [intermediate_results[reference] for reference in node._input_references]
        for reference in node._release:
            del intermediate_results[reference]
        self.before_node(node, args)
        try:
            output = node.execute(args, runner)
        except Exception as error:
            self.raise_failure(node, error)
        self.after_node(node, args, output)
        for reference, value in zip(node._output_references, node.split_output(output, self.name)):
            intermediate_results[reference] = value
        return output

    def before_node(self, node: BaseNode, args: List[Any]) -> None:
        """Before ``node`` runs on ``args``: the pipeline callbacks' ``before_node_execution``."""
        for callback in self._pipeline_callbacks:
            callback.before_node_execution(self, node, args)

    def after_node(self, node: BaseNode, args: List[Any], output: Any) -> None:
        """Once ``node`` ran: its lineage is recorded (when it trained), then the callbacks'
        ``after_node_execution`` fire."""
        if node._records_lineage:
            self._record_lineage(node)
        for callback in self._pipeline_callbacks:
            callback.after_node_execution(self, node, args, output)

    def raise_failure(self, node: BaseNode, error: Exception) -> NoReturn:
        """Raises what a run raises when ``node`` raised ``error``: a Chariots error with a note
        naming the node and the pipeline, an op's own error in an :class:`~chariots.errors.OpError`."""
        if isinstance(error, ChariotsError):  # ours say what went wrong already: add where
            error.add_note(f"while running node {node.name!r} of pipeline {self.name!r}")
            raise error
        raise OpError(error, node.name, self.name) from error

    def _record_lineage(self, node: BaseNode) -> None:
        # the upstream graph each trained op ran behind, through stateless ops and nested pipelines
        leaves = {leaf.name: leaf for leaf in iter_leaves(self)}
        # a stateful op's version is that of the state it holds now (a plain loadable op trained
        # earlier in this run is not saved yet: its version comes from its bytes)
        versions = {name: leaf.op.current_version() if leaf.is_loadable else leaf.node_version
                    for name, leaf in leaves.items()}
        ran = iter_leaves(node.op) if node.requires_runner else (node,)
        trained = [leaf for leaf in ran if leaf._records_lineage]
        for leaf in trained:
            leaf.op.training_lineage = self._flat.lineage(leaf.name, versions)
            leaf.op.training_upstream = self._flat.upstream(leaf.name, versions).to_json()
        self._check_predictors(leaves, versions, {leaf.name for leaf in trained})

    def _check_predictors(self, leaves: Dict[str, BaseNode], versions: Dict[str, Version], trained: set) -> None:
        # a model that only predicts must not run behind an upstream this run just retrained
        from chariots.pipelines._store_protocol import OpState

        for name, sources in self._flat.sources.items():
            leaf = leaves[name]
            if not trained.intersection(sources) or leaf._records_lineage or not leaf.op.holds_state:
                continue
            op = leaf.op
            held = OpState(op.op_version, lineage=dict(op.training_lineage or {}), upstream=op.training_upstream)
            problem = self._flat.incompatibility(name, held, versions)
            if problem is not None:
                retrained = ", ".join(repr(upstream) for upstream in sorted(trained.intersection(sources)))
                raise VersionError.incompatible(
                    f"op {name!r} would predict behind upstream op(s) {retrained} just retrained by pipeline "
                    f"{self.name!r}: {problem}. Train {name!r} in this pipeline too (MLMode.FIT or FIT_PREDICT), "
                    f"or retrain the upstream in a pipeline without {name!r}"
                )

    @staticmethod
    def extract_results(results: Dict[NodeReference, Any]) -> Any:
        """Returns the pipeline output from the results left once every node ran.

        An output no node consumed is accepted when it holds nothing (``None``, what an ML op
        training in ``fit`` mode returns); a leftover value is an error.

        :param results: the results no node consumed
        :raises ValueError: (a :class:`~chariots.errors.PipelineError`) if a value other than the
                            pipeline output was left unused
        :returns: the pipeline's output (None when it has none)
        """
        output = results.pop(_OUTPUT.reference, None)
        unused = [reference for reference, value in results.items() if value is not None]
        if unused:
            names = ", ".join(repr(reference.reference) for reference in unused)
            raise PipelineError(
                f"outputs {names} were used by no node, but hold a value: consume them or name one "
                f"{_OUTPUT.value!r}"
            )
        return output

    def get_all_op_links(self) -> List[Tuple[BaseNode, BaseNode]]:
        """Every (upstream node, downstream node) pair of the pipeline."""
        graph = self._graph
        return [(node, down) for node in graph.order for down in graph.consumers[node]]

    def get_pipeline_versions(self) -> Mapping[BaseNode, Version]:
        """The version of every node of the pipeline."""
        return {node: node.node_version for node in self._graph.order}

    def save(self, op_store_client: "OpStoreProtocol") -> None:
        """Saves the state of every stateful op, with the lineage its training recorded.

        Each op's version, bytes and lineage are read at one moment; every state's bytes are
        uploaded, then the versions, the lineage and the pipeline are committed at once: a save
        that fails half-way stores nothing. Saving never makes an op valid behind an upstream
        version it was not trained on.

        :param op_store_client: the op store to write to
        """
        _persistence.store_states(self, op_store_client)

    def register(self, op_store_client: "OpStoreProtocol") -> None:
        """Records the pipeline in a store that has never seen it.

        Like :meth:`save`, but only the ops the store holds no state of are stored (an untrained
        model is not stored at all), so registering never replaces what training stored.
        """
        _persistence.store_states(self, op_store_client, only_unknown_ops=True)

    def load(
        self,
        op_store_client: "OpStoreProtocol",
        versions: Optional[Mapping[str, Optional[Version]]] = None,
        states: Optional[Mapping[str, List["OpState"]]] = None,
        require_states: bool = False,
    ) -> "Pipeline":
        """Loads, for every stateful op, the newest stored state that fits what its upstream loads.

        In execution order, each stateful op takes the newest state of its code whose lineage
        names the versions its nearest stateful ancestors (and the stateless ops between) load.
        Everything is read and checked before anything is used: a failed load leaves the
        pipeline as it was, and a concurrent run sees either all old or all new ops.

        :param op_store_client: the op store to read versions and bytes from
        :param versions: load exactly these states (op name -> version: a served generation),
                         under the same check; the ops not named take the newest compatible state
        :param states: the stored states of the pipeline's ops, when the caller fetched them
                       already (else one request asks the op store for all of them)
        :param require_states: refuse when an op that only predicts would be left with no state
                               (what a server's load does: it must not serve untrained models)
        :raises VersionError: if an op has stored states but none was trained behind what its
                              upstream ops load
        :returns: this pipeline once loaded
        """
        self._graph = _persistence.loaded_graph(self, op_store_client, versions, states, require_states)
        return self

    def stage_training(self, op_store_client: "OpStoreProtocol") -> List["StateRecord"]:
        """Uploads the states the last runs changed and stages them, so that a save of the pipeline
        in any process commits them (what a serving process does after a training call).

        :returns: the staged states (empty when no state changed: nothing is uploaded)
        """
        return _persistence.stage_training(self, op_store_client)

    def stored_versions(self) -> Dict[str, Version]:
        """The version of each stateful op whose state is the one it was loaded, saved or staged in."""
        return _persistence.stored_versions(self)

    def definition(self) -> Tuple["Pipeline", Dict[str, Version]]:
        """A copy of the pipeline without the states the op store keeps, and their versions: what a
        job sends to a worker, which loads exactly those versions back (see :meth:`load`)."""
        return _persistence.definition(self)

    def generation_versions(self) -> Dict[str, Optional[Version]]:
        """What a served generation of the pipeline names: the stored version of every stateful op,
        None for an op holding no state (see :meth:`chariots.serving.PipelinesService.load_pipeline`)."""
        return _persistence.generation_versions(self)

    def stateful_ops(self) -> List[str]:
        """The names of the pipeline's stateful ops (nested pipelines opened), in execution order."""
        return [leaf.name for leaf in iter_leaves(self) if leaf.is_loadable]

    def unstored_states(self) -> List[str]:
        """The stateful ops holding a state the op store does not hold (set in Python, never saved)."""
        return _persistence.unstored_states(self)

    def untrained_ops(self) -> List[str]:
        """The names of the predicting ML ops that were never trained nor loaded (they cannot predict)."""
        return _persistence.untrained_ops(self)

    def __repr__(self) -> str:
        return f"<OP {self.name}>"
