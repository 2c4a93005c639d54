"""How the values a pipeline outputs become JSON (numpy and pandas values included)."""
from __future__ import annotations

import enum
from typing import Any, Mapping

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Converts numpy arrays and scalars (and pandas objects) in a pipeline output to JSON types."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        if hasattr(value, "tolist"):
            return value.tolist()
    if module == "pandas" and hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict(orient="list") if hasattr(value, "columns") else value.to_list())
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    raise TypeError(
        f"the pipeline output holds a {type(value).__name__}, which cannot be sent as JSON: "
        "end the pipeline with an op returning lists, numbers, strings or dicts"
    )
