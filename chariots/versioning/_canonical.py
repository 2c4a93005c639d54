"""A text form of field values that is the same in every process and on every machine."""
from __future__ import annotations

import hashlib
import inspect
from typing import Any


def canonical(value: Any) -> str:
    """Returns the text hashed for a versioned field's value.

    Plain values use ``str`` (so ``3`` hashes as ``"3"``); classes and functions are named by
    module and qualified name, never by a repr holding a memory address; mappings and sets
    are sorted; numpy arrays are named by dtype, shape and a digest of their bytes.
    """
    if isinstance(value, (str, int, float, bool, bytes)) or value is None:
        return str(value)
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return f"{value.__module__}.{value.__qualname__}"
    if inspect.ismethod(value):
        return f"{canonical(value.__self__)}.{value.__func__.__name__}"
    if isinstance(value, dict):
        items = sorted((canonical(key), canonical(item)) for key, item in value.items())
        return "{" + ", ".join(f"{key}: {item}" for key, item in items) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(canonical(item) for item in value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(canonical(item) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(canonical(item) for item in value) + ")"
    if type(value).__module__ == "numpy" and hasattr(value, "tobytes"):
        digest = hashlib.sha1(value.tobytes()).hexdigest()
        return f"ndarray(dtype={value.dtype}, shape={tuple(getattr(value, 'shape', ()))}, sha1={digest})"
    text = str(value)
    if " at 0x" in text:
        # an object repr with a memory address would change at every run: use its type and state
        state = getattr(value, "__dict__", None)
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}({canonical(state) if state else ''})"
    return text
