"""References to the outputs of nodes, and the reserved pipeline input and output."""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from chariots.pipelines.nodes._base_nodes import BaseNode


class NodeReference:
    """One named output of a node (or the pipeline input or output when ``node`` is None).

    :param node: the node producing the output
    :param reference: the symbolic name of the output
    """

    __slots__ = ("node", "reference")

    def __init__(self, node: Optional["BaseNode"], reference: str):
        self.node = node
        self.reference = reference

    def __repr__(self) -> str:
        return f"<NodeReference {self.reference}>"

    def __reduce__(self):
        if self.node is None:
            # the reserved references are singletons: keep them so after pickling
            return _reserved_reference, (self.reference,)
        return NodeReference, (self.node, self.reference)


def _reserved_reference(name: str) -> NodeReference:
    return ReservedNodes(name).reference


_PIPELINE_INPUT = NodeReference(None, "__pipeline_input__")
_PIPELINE_OUTPUT = NodeReference(None, "__pipeline_output__")


class ReservedNodes(enum.Enum):
    """The reserved node names: the pipeline's input and its output."""

    pipeline_input = "__pipeline_input__"
    pipeline_output = "__pipeline_output__"

    @property
    def reference(self) -> NodeReference:
        """the output reference of the reserved node"""
        return _PIPELINE_INPUT if self is ReservedNodes.pipeline_input else _PIPELINE_OUTPUT
