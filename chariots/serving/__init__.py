"""The serving layer: the pipelines server and its service, generations shared by every process,
the web page, and the clients calling a server."""
from __future__ import annotations

from chariots._response import JobStatus, PipelineResponse
from chariots.serving._client import AbstractPipelinesClient, PipelinesClient
from chariots.serving._server import PipelinesServer
from chariots.serving._service import PipelinesService, use_worker_for_call

__all__ = [
    "PipelinesServer",
    "PipelinesService",
    "PipelinesClient",
    "AbstractPipelinesClient",
    "PipelineResponse",
    "JobStatus",
    "use_worker_for_call",
]
