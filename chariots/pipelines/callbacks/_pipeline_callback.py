"""Callbacks run around a pipeline's execution and each of its nodes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import BaseNode


class PipelineCallback:
    """Hooks called before and after a pipeline runs, and around each of its nodes.

    The arguments and outputs are given for information: do not modify them.
    """

    def before_execution(self, pipeline: "Pipeline", args: List[Any]) -> None:
        """Called before any node runs.

        :param pipeline: the pipeline about to run
        :param args: the pipeline input
        """

    def after_execution(self, pipeline: "Pipeline", args: List[Any], output: Any) -> None:
        """Called once every node ran.

        :param pipeline: the pipeline that ran
        :param args: the pipeline input
        :param output: the pipeline output
        """

    def before_node_execution(self, pipeline: "Pipeline", node: "BaseNode", args: List[Any]) -> None:
        """Called before each node runs.

        :param pipeline: the pipeline the node belongs to
        :param node: the node about to run
        :param args: the arguments the node is about to receive
        """

    def after_node_execution(
        self, pipeline: "Pipeline", node: "BaseNode", args: List[Any], output: Any
    ) -> None:
        """Called after each node ran.

        :param pipeline: the pipeline the node belongs to
        :param node: the node that ran
        :param args: the arguments it received
        :param output: what it produced
        """
