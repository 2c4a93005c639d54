"""Pipelines of versioned ops, their nodes, runners and callbacks (the core); the server and client
at the documented paths load lazily from :mod:`chariots.serving`."""
from __future__ import annotations

from typing import Any

from chariots.pipelines import callbacks, nodes, ops, runners
from chariots.pipelines._batching import Batch, Batching
from chariots.pipelines._outputs import to_jsonable
from chariots.pipelines._pipeline import Pipeline
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
    "to_jsonable",
    "callbacks",
    "nodes",
    "ops",
    "runners",
]

# the documented names that live above the core, by module: imported only when asked for (the
# server and client pull Flask and requests)
_LAZY = {"PipelinesServer": "chariots.serving", "PipelinesClient": "chariots.serving",
         "PipelineResponse": "chariots._response", "JobStatus": "chariots._response"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chariots.pipelines' has no attribute {name!r}")
