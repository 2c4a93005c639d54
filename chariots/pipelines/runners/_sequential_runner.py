"""The default runner: one node after the other, in the calling thread."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from chariots.pipelines.runners._base_runner import BaseRunner, Done, NodeExecutor

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import BaseNode


class SequentialRunner(BaseRunner):
    """Runs every node of a pipeline one after the other in a single thread, in the pipeline's
    :meth:`~chariots.pipelines.Pipeline.execution_order`."""

    def run(self, pipeline: "Pipeline", pipeline_input: Optional[Any] = None) -> Any:
        """Runs a pipeline on an input and returns its output.

        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :returns: the pipeline's output, if it has one
        """
        return self.run_with(_IN_THIS_THREAD, pipeline, pipeline_input)

    def __repr__(self) -> str:
        return "SequentialRunner()"


class InThreadExecutor(NodeExecutor):
    """Executes a node at once, in the thread asking for it."""

    def submit(self, pipeline: "Pipeline", node: "BaseNode", args: List[Any]) -> Done:
        """Runs the node now; returns its output or its error, done."""
        try:
            return Done(node.execute(args, None))
        except Exception as error:
            return Done(error=error)


_IN_THIS_THREAD = InThreadExecutor()
