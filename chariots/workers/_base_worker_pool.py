"""The worker pool interface: running pipeline calls outside the server process."""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Optional, Protocol

if TYPE_CHECKING:
    from chariots.pipelines import OpStoreProtocol, Pipeline
    from chariots.pipelines.runners import BaseRunner


class PipelinesApp(Protocol):
    """What a worker pool reads of the app a call comes from (a
    :class:`~chariots.pipelines.PipelinesServer`)."""

    #: the op store the worker loads the pipeline's states from and saves them to
    op_store_client: Optional["OpStoreProtocol"]
    #: the runner executing the pipeline
    runner: Optional["BaseRunner"]


class BaseWorkerPool(abc.ABC):
    """A pool of workers running pipelines asynchronously.

    Subclasses define :attr:`n_workers`, :meth:`spawn_worker`, :meth:`execute_pipeline_async`
    and :meth:`get_pipeline_response_json_for_id`.
    """

    @property
    @abc.abstractmethod
    def n_workers(self) -> int:
        """total number of workers in the pool (busy or not)"""

    @abc.abstractmethod
    def spawn_worker(self) -> Any:
        """Starts a new worker in the pool."""

    @abc.abstractmethod
    def execute_pipeline_async(self, pipeline: "Pipeline", pipeline_input: Any, app: PipelinesApp) -> str:
        """Queues a pipeline call for a worker.

        :param pipeline: the pipeline to run
        :param pipeline_input: its input
        :param app: the server the pipeline belongs to (its op store and runner are used)
        :returns: the job id that :meth:`get_pipeline_response_json_for_id` accepts
        """

    def serve_app_of(self, op_store_client: Any) -> None:
        """Called by a pipelines server given this pool and an op store: a pool whose keys were not
        configured takes the op store's, so that its workers sign what they save with the keys
        the server checks (the docs' defaults configure none). A custom pool may ignore it.

        :param op_store_client: the server's op store client
        """

    @abc.abstractmethod
    def get_pipeline_response_json_for_id(self, job_id: str) -> str:
        """Returns the JSON of the job's :class:`~chariots.pipelines.PipelineResponse`.

        While the job is not done the response has its status and no value.

        :param job_id: an id returned by :meth:`execute_pipeline_async`
        """
