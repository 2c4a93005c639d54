"""The abstract node: a slot of a pipeline, linked to its inputs and outputs."""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Collection, List, Mapping, Optional, Union

from chariots.errors import PipelineError
from chariots.pipelines.nodes._node_reference import NodeReference, ReservedNodes

if TYPE_CHECKING:
    from chariots.pipelines._store_protocol import OpStoreProtocol
    from chariots.versioning import Version

NodeInput = Union[str, "BaseNode", ReservedNodes]


class PipelineOp(abc.ABC):
    """What a node runs besides an op: a whole pipeline (:class:`~chariots.pipelines.Pipeline` is
    one), which a runner executes node by node."""


def _symbol(value: Any) -> Union[str, "BaseNode"]:
    if isinstance(value, ReservedNodes):
        return value.value
    if isinstance(value, (str, BaseNode)):
        return value
    raise TypeError(
        f"a node input or output must be a name (str), a node or a ReservedNodes, got {value!r}"
    )


class BaseNode(abc.ABC):
    """A step of a pipeline, consuming the outputs of other nodes and producing its own.

    Subclasses define :attr:`node_version`, :attr:`name`, :meth:`execute` and
    :meth:`load_latest_version`.

    :param input_nodes: the names (or nodes) whose outputs this node consumes, in order
    :param output_nodes: the name of this node's output, or a list of names when it returns
                         a tuple to be split; ``__pipeline_output__`` for the pipeline's output
    """

    def __init__(
        self,
        input_nodes: Optional[List[NodeInput]] = None,
        output_nodes: Union[List[NodeInput], NodeInput, None] = None,
    ):
        if isinstance(input_nodes, (str, BaseNode, ReservedNodes)):
            input_nodes = [input_nodes]
        if output_nodes is None:
            output_nodes = []
        elif not isinstance(output_nodes, (list, tuple)):
            output_nodes = [output_nodes]
        self._input_symbols = [_symbol(value) for value in (input_nodes or [])]
        self._output_symbols = [_symbol(value) for value in output_nodes]
        for symbol in self._output_symbols:
            if isinstance(symbol, BaseNode):
                raise TypeError(f"node {self.name!r}: an output must be named by a string")
        self._output_references = tuple(
            ReservedNodes(symbol).reference if symbol in _RESERVED else NodeReference(self, symbol)
            for symbol in self._output_symbols
        )
        self._input_references: tuple[NodeReference, ...] = ()
        self._release: tuple[NodeReference, ...] = ()

    #: whether running the node trains an op and so records its lineage (set by the pipeline)
    _records_lineage = False

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """the name of the node"""

    @property
    @abc.abstractmethod
    def node_version(self) -> "Version":
        """the version of this node"""

    @abc.abstractmethod
    def execute(self, *params) -> Any:
        """Runs the node's computation on the outputs of its input nodes."""

    @abc.abstractmethod
    def load_latest_version(self, store_to_look_in: "OpStoreProtocol") -> Optional["BaseNode"]:
        """Returns a copy of this node in its latest stored version, or None to keep this one."""

    @property
    def input_symbols(self) -> list:
        """the inputs as given at construction (names or nodes)"""
        return list(self._input_symbols)

    @property
    def output_references(self) -> tuple[NodeReference, ...]:
        """the different outputs of this node"""
        return self._output_references

    @property
    def input_references(self) -> tuple[NodeReference, ...]:
        """the resolved inputs of this node (set when its pipeline is built)"""
        return self._input_references

    def direct_output_reference(self, taken_names: Collection[str] = ()) -> NodeReference:
        """The output a downstream node gets when it lists this node itself in its ``input_nodes``.

        A node with one output gives that output. A node that named none gets one here, named
        after it (``<output of NAME>``), so its result reaches the node that references it.

        :param taken_names: output names already used in the pipeline, which the name given to
                            an unnamed output must differ from
        :raises PipelineError: if this node has several outputs (name the one to use instead)
        """
        references = self._output_references
        if not references:
            name = f"<output of {self.name}>"
            rank = 1
            while name in taken_names:
                rank += 1
                name = f"<output of {self.name} #{rank}>"
            references = self._output_references = (NodeReference(self, name),)
        if len(references) != 1:
            names = [reference.reference for reference in references]
            raise PipelineError(
                f"node {self.name!r} is used directly as an input, but it has {len(references)} outputs "
                f"{names}: put one of these names in input_nodes instead of the node"
            )
        return references[0]

    def split_output(self, output: Any, pipeline_name: str) -> tuple:
        """One value per output of this node (a tuple result split over its names).

        :param output: what the node returned
        :param pipeline_name: the pipeline running it, for the message
        :raises PipelineError: if the node returned another number of outputs than it declares
        """
        outputs = self._output_references
        if len(outputs) <= 1:
            return (output,) * len(outputs)
        if not isinstance(output, (tuple, list)) or len(output) != len(outputs):
            got = f"{len(output)} values" if isinstance(output, (tuple, list)) else repr(type(output))
            raise PipelineError(
                f"node {self.name!r} of pipeline {pipeline_name!r} declares {len(outputs)} outputs "
                f"{[reference.reference for reference in outputs]} but returned {got}"
            )
        return tuple(output)

    @property
    def outputs_may_go_unused(self) -> bool:
        """whether a pipeline accepts that no node consumes this node's named outputs

        True for an op that only trains (a machine-learning op in ``fit`` mode, which outputs
        ``None``), so ``output_nodes`` can name its output in a training pipeline that does
        not use it. The mode is read by duck typing (``op.mode`` whose value is ``"fit"``): the
        pipelines layer does not import :mod:`chariots.ml`.
        """
        mode = getattr(getattr(self, "op", None), "mode", None)
        return getattr(mode, "value", mode) == "fit"

    @property
    def is_loadable(self) -> bool:
        """whether this node has state that pipelines save and load"""
        return False

    @property
    def requires_runner(self) -> bool:
        """whether this node needs a runner to execute (a pipeline used as a node)"""
        return False

    @property
    def require_saver(self) -> bool:
        """whether this node needs a saver to execute"""
        return False

    def replace_symbolic_references(
        self, symbolic_to_real_node: Mapping[str, NodeReference]
    ) -> "BaseNode":
        """Resolves the inputs given by name or by node into output references.

        :param symbolic_to_real_node: every output reference of the pipeline, by name
        :raises PipelineError: if a node with several outputs is used directly
        :returns: this node
        """
        resolved = []
        for symbol in self._input_symbols:
            if isinstance(symbol, BaseNode):
                try:
                    resolved.append(symbol.direct_output_reference())
                except PipelineError as error:
                    raise PipelineError(f"node {self.name!r}: {error}") from None
            else:
                resolved.append(symbolic_to_real_node[symbol])
        self._input_references = tuple(resolved)
        return self

    def check_version_compatibility(
        self, upstream_node: "BaseNode", store_to_look_in: "OpStoreProtocol"
    ) -> None:
        """Checks this node accepts the current version of an upstream node (stateless: always).

        :raises VersionError: when the two nodes are not compatible
        """

    def persist(
        self, store: "OpStoreProtocol", downstream_nodes: Optional[List["BaseNode"]]
    ) -> Optional["Version"]:
        """Records this node's version as valid for each downstream node.

        :param store: the op store to write to
        :param downstream_nodes: the nodes consuming this node's outputs
        :returns: the version recorded
        """
        version = self.node_version
        for downstream in downstream_nodes or ():
            store.register_valid_link(downstream.name, self.name, version)
        return version

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


_RESERVED = frozenset(member.value for member in ReservedNodes)
