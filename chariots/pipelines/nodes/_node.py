"""The node placing an op (or a whole pipeline) in a pipeline."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, List, Optional, Union

from chariots.errors import VersionError
from chariots.pipelines._states import commit_states, load_states, newest_of_its_code, snapshot_state
from chariots.pipelines.nodes._base_nodes import BaseNode, NodeInput, PipelineOp
from chariots.pipelines.ops import BaseOp, LoadableOp

if TYPE_CHECKING:
    from chariots.pipelines._store_protocol import OpStoreProtocol
    from chariots.pipelines.runners import BaseRunner
    from chariots.versioning import Version


class Node(BaseNode):
    """Places an op in a pipeline: which outputs feed it and how its result is named.

    :param op: the op this node runs (a :class:`~chariots.pipelines.Pipeline` works too)
    :param input_nodes: the outputs given to the op, one positional argument each, in order
    :param output_nodes: the name of the op's output, or one name per element when the op
                         returns a tuple
    """

    def __init__(
        self,
        op: BaseOp,
        input_nodes: Optional[List[NodeInput]] = None,
        output_nodes: Union[List[NodeInput], NodeInput, None] = None,
    ):
        if not isinstance(op, (BaseOp, PipelineOp)):
            raise TypeError(f"Node needs an op (a BaseOp or a Pipeline), got {op!r}")
        self._is_pipeline = isinstance(op, PipelineOp)
        # a pipeline used as a node is the node's own: loading the pipeline elsewhere must not
        # swap the models this node runs behind the outer pipeline's back
        self._op = copy.copy(op) if self._is_pipeline else op
        super().__init__(input_nodes, output_nodes)

    @property
    def op(self) -> BaseOp:
        """the op this node runs"""
        return self._op

    @property
    def name(self) -> str:
        """the name of the node: the name of its op"""
        return self._op.name

    @property
    def node_version(self) -> "Version":
        """the version of the node's op"""
        return self._op.op_version

    @property
    def is_loadable(self) -> bool:
        """whether the op has state to save and load"""
        return isinstance(self._op, LoadableOp)

    @property
    def requires_runner(self) -> bool:
        """whether the op is a pipeline, which needs a runner to execute"""
        return self._is_pipeline

    def execute(self, params: List[Any], runner: Optional["BaseRunner"] = None) -> Any:
        """Runs the op on the node's inputs.

        :param params: the inputs, one per input node
        :param runner: the runner for a pipeline op
        :raises ValueError: if the op is a pipeline and no runner is given
        :returns: the op's output
        """
        if self._is_pipeline:
            if runner is None:
                raise ValueError(f"node {self.name!r} runs a pipeline and needs a runner")
            pipeline_input = params[0] if len(params) == 1 else (list(params) or None)
            return runner.run(self._op, pipeline_input)
        return self._op.execute_with_all_callbacks(params)

    def with_op(self, op: BaseOp) -> "Node":
        """Returns a copy of this node, wired the same way, running ``op`` instead."""
        clone = copy.copy(self)
        clone._op = op
        return clone

    def load_latest_version(self, store_to_look_in: "OpStoreProtocol") -> Optional["Node"]:
        """Returns a copy of this node holding the newest stored state of its op's code.

        The in-memory op is kept (None is returned) when the op has no state, when the store
        has no state of the op's current code (its class version changed), or when the op
        already holds the newest one. This checks no lineage: pipelines load through
        :meth:`~chariots.pipelines.Pipeline.load`, which does.

        :param store_to_look_in: the op store to read states and bytes from
        """
        if not self.is_loadable:
            return None
        loaded = load_states([(self.name, self._op)], store_to_look_in, newest_of_its_code)
        new_op = loaded.ops.get(self.name)
        return None if new_op is None else self.with_op(new_op)

    def check_version_compatibility(
        self, upstream_node: BaseNode, store_to_look_in: "OpStoreProtocol"
    ) -> None:
        """Checks that the state this node's op holds was trained behind the upstream node's major.

        :param upstream_node: a node feeding this one
        :param store_to_look_in: the op store holding the states' lineage
        :raises VersionError: when the op's state was not trained (or validated) behind it
        """
        if self._op.allow_version_change or not self.is_loadable:
            return
        current = self.node_version
        upstream_version = upstream_node.node_version
        for state in store_to_look_in.get_op_states(self.name):
            if state.version == current:
                accepted = state.accepted_majors(upstream_node.name) or set()
                if upstream_version.major in accepted:
                    return
        raise VersionError.incompatible(
            f"op {self.name!r} ({current!r}) was never trained behind version {upstream_version!r} of its "
            f"upstream op {upstream_node.name!r}; retrain {self.name!r} on it, save the training "
            "pipeline, then reload"
        )

    def persist(
        self, store: "OpStoreProtocol", downstream_nodes: Optional[List[BaseNode]]
    ) -> Optional["Version"]:
        """Saves the op's state (for loadable ops) with the lineage its training recorded.

        Saving certifies nothing for ``downstream_nodes``: their own training records what they
        consumed.

        :param store: the op store to write to
        :param downstream_nodes: the nodes consuming this node's outputs
        :returns: the version saved
        """
        if self._is_pipeline:
            self._op.save(store)
            return self.node_version
        if self.is_loadable and self._op.holds_state:
            commit_states(None, [], [snapshot_state(self)], store)
        return self.node_version
