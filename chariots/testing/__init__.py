"""Testing clients driving the pipelines server and the op store in process, without a real server."""

from __future__ import annotations

import importlib
from typing import Any

from chariots.testing._op_store_client import TestOpStoreClient

__all__ = ["TestOpStoreClient", "TestPipelinesClient"]

# the pipelines client pulls in the pipelines server: load it only when asked for
_LAZY = {"TestPipelinesClient": "chariots.testing._pipelines_client"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chariots.testing' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
