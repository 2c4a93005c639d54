"""Chariots: versioned machine-learning pipelines served as Flask micro-services."""
from __future__ import annotations

import importlib
from typing import Any

from chariots import callbacks, errors, nodes, ops, runners, versioning
from chariots.pipelines import Pipeline

__version__ = "0.3.0"

__all__ = [
    "Pipeline",
    "MLMode",
    "Chariots",
    "Client",
    "errors",
    "versioning",
    "nodes",
    "ops",
    "runners",
    "callbacks",
    "__version__",
]

# name -> (module, attribute or None for the module itself); loaded on first use so that
# `import chariots` stays light (no Flask, scikit-learn, Keras, RQ or Google Cloud)
_LAZY = {
    "MLMode": ("chariots.ml", "MLMode"),
    "Chariots": ("chariots._chariots", "Chariots"),
    "Client": ("chariots._chariots", "Client"),
    "ml": ("chariots.ml", None),
    "sklearn": ("chariots.sklearn", None),
    "keras": ("chariots.keras", None),
    "serializers": ("chariots.serializers", None),
    "op_store": ("chariots.op_store", None),
    "workers": ("chariots.workers", None),
    "testing": ("chariots.testing", None),
    "config": ("chariots.config", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name)
        return module if attribute is None else getattr(module, attribute)
    raise AttributeError(f"module 'chariots' has no attribute {name!r}")
