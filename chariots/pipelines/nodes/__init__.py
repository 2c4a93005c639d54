"""Nodes place ops in a pipeline and wire their inputs and outputs."""
from chariots.pipelines.nodes._base_nodes import BaseNode
from chariots.pipelines.nodes._node import Node
from chariots.pipelines.nodes._node_reference import NodeReference, ReservedNodes

__all__ = ["BaseNode", "Node", "NodeReference", "ReservedNodes"]
