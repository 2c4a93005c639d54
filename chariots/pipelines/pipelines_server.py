"""The documented path of the pipelines server, which lives in :mod:`chariots.serving` (the serving
layer sits above the core: it is imported on first use, never by importing the core)."""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"PipelinesServer": "chariots.serving", "PipelineResponse": "chariots._response",
         "JobStatus": "chariots._response"}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
