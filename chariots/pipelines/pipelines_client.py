"""The documented path of the pipelines clients, which live in :mod:`chariots.serving` (imported on
first use: the core never imports the serving layer)."""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = ("PipelinesClient", "AbstractPipelinesClient")
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("chariots.serving"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
