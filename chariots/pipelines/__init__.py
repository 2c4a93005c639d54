"""Pipelines of versioned ops, their nodes, runners and callbacks; servers and clients load lazily."""
from __future__ import annotations

from typing import Any

from chariots.pipelines import callbacks, nodes, ops, runners
from chariots.pipelines._batching import Batch, Batching
from chariots.pipelines._pipeline import Pipeline
from chariots.pipelines._response import JobStatus, PipelineResponse
from chariots.pipelines._store_protocol import Generation, OpState, OpStoreProtocol, StateRecord

__all__ = [
    "Pipeline",
    "Batching",
    "Batch",
    "PipelinesServer",
    "PipelinesClient",
    "PipelineResponse",
    "JobStatus",
    "Generation",
    "OpState",
    "OpStoreProtocol",
    "StateRecord",
    "callbacks",
    "nodes",
    "ops",
    "runners",
]

_LAZY = {
    "PipelinesServer": "chariots.pipelines.pipelines_server",
    "PipelinesClient": "chariots.pipelines.pipelines_client",
}


def __getattr__(name: str) -> Any:
    # the server and client pull Flask and requests: import them only when asked for
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chariots.pipelines' has no attribute {name!r}")
