"""The default runner: one node after the other, in the calling thread."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from chariots.pipelines.nodes import ReservedNodes
from chariots.pipelines.runners._base_runner import BaseRunner

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

_INPUT = ReservedNodes.pipeline_input.reference


class SequentialRunner(BaseRunner):
    """Runs every node of a pipeline one after the other in a single thread."""

    def run(self, pipeline: "Pipeline", pipeline_input: Optional[Any] = None) -> Any:
        """Runs a pipeline on an input and returns its output.

        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :returns: the pipeline's output, if it has one
        """
        callbacks = pipeline.pipeline_callbacks
        for callback in callbacks:
            callback.before_execution(pipeline, pipeline_input)
        results = {_INPUT: pipeline_input}
        execute_node = pipeline.execute_node
        for node in pipeline.execution_order():
            execute_node(node, results, self)
        results.pop(_INPUT, None)
        output = pipeline.extract_results(results)
        for callback in callbacks:
            callback.after_execution(pipeline, pipeline_input, output)
        return output
