"""What a worker runs for a pipeline call, and the serializer jobs travel with."""
from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any, Dict, Optional

import dill

from chariots.pipelines._serving import PipelineResponse

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines._store_protocol import OpStoreProtocol
    from chariots.pipelines.runners import BaseRunner


class DillRQSerializer:
    """RQ serializer using dill, so pipelines of ops defined in ``__main__`` travel too.

    Workers started by hand need it as well:
    ``rq worker chariots_workers --serializer chariots.workers.DillRQSerializer``.
    """

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return dill.dumps(obj, recurse=True)

    @staticmethod
    def loads(data: bytes) -> Any:
        return dill.loads(data)


def run_pipeline_job(
    pipeline: "Pipeline",
    pipeline_input: Any,
    op_store_client: Optional["OpStoreProtocol"],
    runner: "BaseRunner",
) -> Dict[str, Any]:
    """Runs a pipeline call in a worker: load from the op store, run, save if it trained.

    :returns: the JSON form of the call's :class:`~chariots.pipelines.PipelineResponse`
    """
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        # lets a server on this host tell a dead worker from a slow one
        job.meta["chariots_worker"] = {"pid": os.getpid(), "host": socket.gethostname()}
        job.save_meta()
    if op_store_client is not None:
        pipeline.load(op_store_client)
    before = {node.name: node.node_version for node in pipeline.pipeline_nodes}
    value = runner.run(pipeline, pipeline_input)
    versions = {node.name: node.node_version for node in pipeline.pipeline_nodes}
    if op_store_client is not None and versions != before:
        pipeline.save(op_store_client)
    response = PipelineResponse(value, versions, job_id=job.id if job else None)
    return response.json()
