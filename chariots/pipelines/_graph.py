"""A pipeline's graph: its nodes checked, wired to each other, and put in execution order once.

:func:`build_graph` fails at once with a message naming the node: an input no node outputs (with
"did you mean"), an output produced twice, a cycle, an output consumed by no one that is not the
pipeline's output (except one that may go unused, such as an ML op's in ``MLMode.FIT``). The
order is computed once, in O(nodes + edges).
"""
from __future__ import annotations

import difflib
from collections import deque
from typing import Dict, List, Set, Tuple

from chariots.errors import PipelineError
from chariots.pipelines.nodes import BaseNode, NodeReference, ReservedNodes

__all__ = ["Graph", "build_graph"]

_INPUT = ReservedNodes.pipeline_input
_OUTPUT = ReservedNodes.pipeline_output


class Graph:
    """The nodes of a pipeline in execution order, with who consumes whose output."""

    __slots__ = ("order", "consumers")

    def __init__(self, order: Tuple[BaseNode, ...], consumers: Dict[BaseNode, List[BaseNode]]):
        self.order = order
        self.consumers = consumers

    def with_nodes(self, replaced: Dict[BaseNode, BaseNode]) -> "Graph":
        """Returns the same graph where some nodes are swapped for copies of themselves."""
        order = tuple(replaced.get(node, node) for node in self.order)
        consumers = {
            replaced.get(node, node): [replaced.get(down, down) for down in downs]
            for node, downs in self.consumers.items()
        }
        return Graph(order, consumers)


def _check_nodes(pipeline_name: str, nodes: List[BaseNode]) -> None:
    for node in nodes:
        if not isinstance(node, BaseNode):
            raise TypeError(f"pipeline {pipeline_name!r}: {node!r} is not a node")
        owner = getattr(node, "_pipeline_name", None)
        if owner is not None:
            # a node holds its pipeline's wiring: sharing it would rewire the first pipeline
            raise PipelineError(
                f"node {node.name!r} already belongs to pipeline {owner!r}: create a new Node for "
                f"pipeline {pipeline_name!r} (the op itself can be shared)"
            )


def _name_direct_outputs(nodes: List[BaseNode]) -> None:
    """A node listed directly in another's input_nodes gives its single output, which gets a name
    of its own when the node named none."""
    members = set(nodes)
    named = {reference.reference for node in nodes for reference in node.output_references}
    for node in nodes:
        for symbol in node.input_symbols:
            if isinstance(symbol, BaseNode) and symbol in members and not symbol.output_references:
                named.add(symbol.direct_output_reference(named).reference)


def _producers(pipeline_name: str, nodes: List[BaseNode]) -> Tuple[Dict[str, BaseNode], Dict[str, NodeReference]]:
    """Which node produces each output name, and the reference of each name."""
    producers: Dict[str, BaseNode] = {}
    references: Dict[str, NodeReference] = {_INPUT.value: _INPUT.reference}
    for node in nodes:
        for reference in node.output_references:
            name = reference.reference
            if name == _INPUT.value:
                raise PipelineError(
                    f"node {node.name!r} of pipeline {pipeline_name!r} outputs to "
                    f"{_INPUT.value!r}, which is reserved for the pipeline input"
                )
            if name in producers:
                raise PipelineError(
                    f"output {name!r} of pipeline {pipeline_name!r} is produced by both node "
                    f"{producers[name].name!r} and node {node.name!r}: output names must be unique"
                )
            producers[name] = node
            references[name] = reference
    return producers, references


def _input_names(pipeline_name: str, node: BaseNode, members: Set[BaseNode],
                 references: Dict[str, NodeReference]) -> List[str]:
    """The output names a node takes as inputs, each checked."""
    names = []
    for symbol in node.input_symbols:
        if isinstance(symbol, BaseNode):
            if symbol not in members:
                raise PipelineError(
                    f"node {node.name!r} of pipeline {pipeline_name!r} takes node "
                    f"{symbol.name!r} as input, but that node is not in the pipeline"
                )
            try:
                names.append(symbol.direct_output_reference().reference)
            except PipelineError as error:
                raise PipelineError(
                    f"node {node.name!r} of pipeline {pipeline_name!r} takes node {symbol.name!r} "
                    f"as input: {error}"
                ) from None
        else:
            names.append(symbol)
    for name in names:
        if name == _OUTPUT.value:
            raise PipelineError(
                f"node {node.name!r} of pipeline {pipeline_name!r} takes "
                f"{_OUTPUT.value!r} as input, but that is the pipeline's output"
            )
        if name not in references:
            close = difflib.get_close_matches(name, list(references), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PipelineError(
                f"node {node.name!r} of pipeline {pipeline_name!r} takes input {name!r}, "
                f"which no node outputs{hint}"
            )
    return names


def _topological_order(pipeline_name: str, nodes: List[BaseNode], consumers: Dict[BaseNode, List[BaseNode]],
                       in_degree: Dict[BaseNode, int]) -> Tuple[BaseNode, ...]:
    ready = deque(node for node in nodes if in_degree[node] == 0)
    order: List[BaseNode] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for downstream in consumers[node]:
            in_degree[downstream] -= 1
            if in_degree[downstream] == 0:
                ready.append(downstream)
    if len(order) != len(nodes):
        stuck = ", ".join(repr(node.name) for node in nodes if in_degree[node] > 0)
        raise PipelineError(f"pipeline {pipeline_name!r} has a cycle through nodes {stuck}")
    return tuple(order)


def build_graph(pipeline_name: str, nodes: List[BaseNode]) -> Graph:
    """Checks and wires a pipeline's nodes, and orders them for execution (see the module doc).

    Each node learns its input references, the intermediate results it may free once it ran (its
    inputs nobody reads later) and the pipeline it belongs to.

    :raises PipelineError: (a ``ValueError``) naming the node that breaks a rule
    :raises TypeError: if an element of ``nodes`` is not a node
    """
    _check_nodes(pipeline_name, nodes)
    _name_direct_outputs(nodes)
    producers, references = _producers(pipeline_name, nodes)
    members = set(nodes)
    consumers: Dict[BaseNode, List[BaseNode]] = {node: [] for node in nodes}
    in_degree: Dict[BaseNode, int] = {node: 0 for node in nodes}
    consumed: Set[str] = set()
    last_use: Dict[str, BaseNode] = {}
    for node in nodes:
        for name in _input_names(pipeline_name, node, members, references):
            consumed.add(name)
            last_use[name] = node
            upstream = producers.get(name)
            if upstream is not None and node not in consumers[upstream]:
                consumers[upstream].append(node)
                in_degree[node] += 1
        node.replace_symbolic_references(references)
    for name, producer in producers.items():
        if name != _OUTPUT.value and name not in consumed and not producer.outputs_may_go_unused:
            raise PipelineError(
                f"output {name!r} of node {producer.name!r} in pipeline {pipeline_name!r} is used by "
                f"no node: consume it or name it {_OUTPUT.value!r}"
            )
    order = _topological_order(pipeline_name, nodes, consumers, in_degree)
    # free each intermediate result once its last consumer has read it
    release: Dict[BaseNode, List[NodeReference]] = {}
    for name, node in last_use.items():
        release.setdefault(node, []).append(references[name])
    for node in nodes:
        node._release = tuple(release.get(node, ()))
        node._pipeline_name = pipeline_name
    return Graph(order, consumers)
