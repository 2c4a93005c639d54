"""Plain decisions of serving: whether a call runs in a worker, and how outputs become JSON."""
from __future__ import annotations

import enum
from typing import Any, Mapping, Optional


def use_worker_for_call(
    app_flag: Optional[bool], pipeline_flag: Optional[bool], request_flag: Optional[bool]
) -> bool:
    """Decides whether a call runs in a worker: any explicit False wins, else any True does.

    :param app_flag: the server's ``use_workers``
    :param pipeline_flag: the pipeline's ``use_worker``
    :param request_flag: the request's ``use_worker``
    """
    flags = (app_flag, pipeline_flag, request_flag)
    if any(flag is False for flag in flags):
        return False
    return any(flag is True for flag in flags)


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
