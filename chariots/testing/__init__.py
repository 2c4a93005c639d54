"""In-process clients to test pipelines and op store servers without starting servers."""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TestOpStoreClient", "TestPipelinesClient"]

_LAZY = {
    "TestOpStoreClient": "chariots.testing._op_store_client",
    "TestPipelinesClient": "chariots.testing._pipelines_client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chariots.testing' has no attribute {name!r}")
