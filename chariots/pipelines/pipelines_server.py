"""The documented path of the pipelines server, which lives in :mod:`chariots.serving` (the serving
layer sits above the core: it is imported on first use, never by importing the core)."""
from __future__ import annotations

import importlib
from typing import Any

from chariots.pipelines._response import JobStatus, PipelineResponse

__all__ = ["PipelineResponse", "JobStatus", *("PipelinesServer",)]


def __getattr__(name: str) -> Any:
    if name == "PipelinesServer":
        return importlib.import_module("chariots.serving").PipelinesServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
