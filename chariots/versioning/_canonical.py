"""A text form of field values that is the same in every process and on every machine."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from typing import Any, Optional


def canonical(value: Any) -> str:
    """Returns the text hashed for a versioned field's value.

    Plain values use ``str`` (so ``3`` hashes as ``"3"``); classes and functions are named by
    module and qualified name, never by a repr holding a memory address; mappings and sets
    are sorted. Data whose ``str`` truncates or omits it is named by its type and its content:
    numpy arrays (dtype, shape and a digest of their bytes) and any array-like (a jax or torch
    array, a scipy sparse matrix), pandas objects (their values, index and columns), scikit-learn
    estimators (every attribute, fitted ones included), dataclasses (their fields),
    ``functools.partial`` objects (function, arguments), numpy random states and generators
    (their state), so that a change of one row, a refit or a new seed changes the hash. Any
    other object is its ``str``, or its type and attributes when ``str`` is the default repr.
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
    module = type(value).__module__.split(".")[0]
    structured = _structured(value, module)
    if structured is not None:
        return structured
    if module == "numpy" and hasattr(value, "tobytes"):
        if getattr(value, "dtype", None) is not None and value.dtype.hasobject:  # objects: by their own text
            return f"ndarray(dtype=object, shape={value.shape}, items={canonical(value.tolist())})"
        digest = hashlib.sha1(value.tobytes()).hexdigest()
        return f"ndarray(dtype={value.dtype}, shape={tuple(getattr(value, 'shape', ()))}, sha1={digest})"
    if module == "pandas":
        return _pandas(value)
    if module == "sklearn" and hasattr(value, "get_params"):
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}({canonical(dict(vars(value)))})"
    text = str(value)
    if " at 0x" in text:
        # an object repr with a memory address would change at every run: use its type and state
        state = getattr(value, "__dict__", None)
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}({canonical(state) if state else ''})"
    return text


def _type(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _structured(value: Any, module: str) -> Optional[str]:
    """The canonical text of the objects whose content is not their ``str`` (None: not one)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        return f"{_type(value)}({canonical(fields)})"
    if isinstance(value, functools.partial):
        return f"functools.partial({canonical(value.func)}, {canonical(value.args)}, {canonical(value.keywords)})"
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.random.RandomState):
            return f"numpy.random.RandomState({canonical(value.get_state(legacy=False))})"
        if isinstance(value, np.random.Generator):
            return f"numpy.random.Generator({canonical(value.bit_generator.state)})"
        return None
    if module == "scipy" and hasattr(value, "tocoo"):  # a sparse matrix or array: its nonzero entries
        coo = value.tocoo()
        return (f"{_type(value)}(shape={coo.shape}, dtype={coo.dtype}, data={canonical(coo.data)}, "
                f"rows={canonical(coo.row)}, columns={canonical(coo.col)})")
    if module not in ("pandas", "sklearn") and hasattr(value, "__array__") and hasattr(value, "shape"):
        import numpy as np  # an array of another library (jax, torch ...): its values

        return f"{_type(value)}({canonical(np.asarray(value))})"
    return None


def _pandas(value: Any) -> str:
    """A pandas object by its type, shape, index, columns and a digest of its values."""
    import pandas as pd

    cls = type(value)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
        hashes = pd.util.hash_pandas_object(value, index=not isinstance(value, pd.Index)).to_numpy()
        digest = hashlib.sha1(hashes.tobytes()).hexdigest()
        columns = canonical([str(column) for column in value.columns]) if isinstance(value, pd.DataFrame) else ""
        dtypes = canonical([str(dtype) for dtype in getattr(value, "dtypes", [getattr(value, "dtype", "")])]) \
            if isinstance(value, pd.DataFrame) else str(getattr(value, "dtype", ""))
        return f"{name}(shape={value.shape}, columns={columns}, dtypes={dtypes}, sha1={digest})"
    return f"{name}({value!s})"
