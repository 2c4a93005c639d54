"""The input contract of a pipeline call: the keys a call body may have and, when the pipeline
declares one (``Pipeline(..., input_schema=...)``), the JSON Schema its input must match.

Both are checked before any op runs, and a call that breaks them is a
:class:`~chariots.errors.BadRequestError` (400) naming the key or the field.
"""
from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable, Mapping, Optional

from chariots.errors import BadRequestError, ConfigError

__all__ = ["CALL_KEYS", "check_call_keys", "input_checker", "field_path"]

#: the keys the JSON body of ``POST /pipelines/<name>/main`` may have
CALL_KEYS = ("pipeline_input", "use_worker")


def check_call_keys(body: Mapping[str, Any], pipeline_name: str, allowed: Iterable[str] = CALL_KEYS) -> None:
    """Refuses a call body with a key the server does not read (``pipeline_imput``).

    :raises BadRequestError: naming the key, the keys allowed, and the close one
    """
    allowed = list(allowed)
    for key in body:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BadRequestError(
            f"the call of pipeline {pipeline_name!r} has the key {key!r}, which the server does not read: "
            f"the body may have {allowed}{hint}"
        )


def field_path(path: Iterable[Any], root: str = "pipeline_input") -> str:
    """``pipeline_input[0]['petal']`` for the path ``[0, 'petal']`` of a JSON Schema error."""
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"[{part!r}]"
    return text


def input_checker(pipeline_name: str, schema: Optional[Mapping[str, Any]]) -> Optional[Callable[[Any], None]]:
    """The function checking a pipeline's input against its schema (None when it declares none).

    The schema's own ``$schema`` picks the JSON Schema draft (2020-12 by default).

    :raises ConfigError: if the schema is not a valid JSON Schema, naming the pipeline
    """
    if schema is None:
        return None
    import jsonschema
    from jsonschema.validators import validator_for

    if not isinstance(schema, (Mapping, bool)):
        raise ConfigError(
            f"the input_schema of pipeline {pipeline_name!r} must be a JSON Schema (a dict), got "
            f"{type(schema).__name__}"
        )
    validator_class = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise ConfigError(
            f"the input_schema of pipeline {pipeline_name!r} is not a valid JSON Schema: {error.message} "
            f"(at {field_path(error.path, 'input_schema')})"
        ) from None
    validator = validator_class(schema)

    def check(pipeline_input: Any) -> None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(pipeline_input))
        if error is None:
            return
        raise BadRequestError(
            f"the input of pipeline {pipeline_name!r} does not match its input_schema at "
            f"{field_path(error.absolute_path)}: {error.message} (GET /openapi.json shows the schema)"
        )

    return check
