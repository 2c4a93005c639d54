"""The runner interface: how a pipeline's nodes get executed."""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline


class BaseRunner(abc.ABC):
    """Executes pipelines. Subclasses define :meth:`run` with the pipeline's
    :meth:`~chariots.pipelines.Pipeline.execute_node` and
    :meth:`~chariots.pipelines.Pipeline.extract_results`.
    """

    @abc.abstractmethod
    def run(self, pipeline: "Pipeline", pipeline_input: Optional[Any] = None) -> Any:
        """Runs a pipeline on an input.

        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :returns: the pipeline's output, if it has one
        """
