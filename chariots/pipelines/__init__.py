"""Pipelines of versioned ops, their nodes, runners and callbacks (the core); the server and client
at the documented paths load lazily from :mod:`chariots.serving`."""
from __future__ import annotations

from typing import Any

from chariots.pipelines import callbacks, nodes, ops, runners
from chariots.pipelines._pipeline import Pipeline
from chariots.pipelines._response import JobStatus, PipelineResponse, to_jsonable
from chariots.pipelines._store_protocol import Generation, OpState, OpStoreProtocol, StateRecord

__all__ = [
    "Pipeline",
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

_LAZY = ("PipelinesServer", "PipelinesClient")


def __getattr__(name: str) -> Any:
    # the server and client pull Flask and requests, and sit above the core: import them only when asked for
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module("chariots.serving"), name)
    raise AttributeError(f"module 'chariots.pipelines' has no attribute {name!r}")
