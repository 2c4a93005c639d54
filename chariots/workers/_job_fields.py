"""A job's fields bound to the job: each blob a Chariots process writes into a job (the call's
arguments, its answer, the pipeline it belongs to, the error it failed with) is signed for that job
id and that field.

RQ's serializer signs what it writes for RQ jobs in general: it cannot know which job, nor which
field of it, a blob is for. So the values that decide what a worker runs and what a server answers
are sealed again, inside, under a key derived for ``(field, job id)``: a sealed blob copied to
another job, or to another field, carries no valid signature there and is refused before a byte
of it is read.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict

from chariots._signing import JOB_PURPOSE, KeySource
from chariots.errors import ConfigError, SignatureError

if TYPE_CHECKING:
    from chariots._signing import SigningKeys

#: the sealed fields, by what messages call them
PAYLOAD = "payload"
RESULT = "result"
PIPELINE = "pipeline"
MODULES = "modules"
ERROR = "error"
_LABELS: Dict[str, str] = {PAYLOAD: "payload", RESULT: "result", PIPELINE: "pipeline name", MODULES: "module list",
                           ERROR: "recorded error"}


def field_purpose(job_id: str, field: str) -> str:
    """What the ``field`` of job ``job_id`` is signed for (the field first: it never holds a NUL)."""
    if field not in _LABELS:
        raise ValueError(f"unknown job field {field!r}: one of {', '.join(sorted(_LABELS))}")
    return f"{JOB_PURPOSE}.field\x00{field}\x00{job_id}"


def keys_of(serializer: Any) -> "SigningKeys":
    """The signing keys of the serializer a job was read with (a
    :class:`~chariots.workers.DillRQSerializer` or the pool's own).

    :raises ConfigError: for a serializer holding no Chariots keys
    """
    source = getattr(serializer, "key_source", None)
    if not isinstance(source, KeySource):
        raise ConfigError(
            f"the RQ serializer {serializer!r} holds no Chariots keys: read Chariots jobs with "
            "chariots.workers.DillRQSerializer, and run workers with `chariots workers` or `python -m chariots.workers`"
        )
    return source.keys


def seal(keys: "SigningKeys", job_id: str, field: str, data: bytes) -> bytes:
    """``data`` signed for the ``field`` of job ``job_id``."""
    return keys.sign(field_purpose(job_id, field), data)


def unseal(keys: "SigningKeys", job_id: str, field: str, blob: Any) -> bytes:
    """The data of a blob :func:`seal` made for the ``field`` of job ``job_id``.

    :raises SignatureError: naming the job and the field, when ``blob`` is missing, is not a signed
                            blob, or was signed for another job or field (or by no accepted key)
    """
    what = f"the {_LABELS[field]} of job {job_id!r}"
    if not isinstance(blob, (bytes, bytearray)):
        shown = "nothing" if blob is None else f"a {type(blob).__name__}, not a blob signed for it"
        raise SignatureError(
            f"{what} is refused: the job holds {shown} (a job planted in Redis by someone without the key, a field "
            "moved there from another, or a job queued by an earlier release: send the call again)"
        )
    try:
        return keys.unsign(field_purpose(job_id, field), blob, what)
    except SignatureError:
        if not keys.names_an_accepted_key(blob):
            raise
    raise SignatureError(
        f"{what} is refused: it is signed with an accepted key, but for another job or another field (moved there "
        "in Redis by someone without the key): a worker runs, and a server answers, only what was written for "
        "this job"
    )


def seal_json(keys: "SigningKeys", job_id: str, field: str, value: Any) -> bytes:
    """``value``'s JSON, sealed for the ``field`` of job ``job_id``."""
    return seal(keys, job_id, field, json.dumps(value).encode("utf-8"))


def unseal_json(keys: "SigningKeys", job_id: str, field: str, blob: Any) -> Any:
    """The value :func:`seal_json` sealed for the ``field`` of job ``job_id``.

    :raises SignatureError: as :func:`unseal`
    """
    return json.loads(unseal(keys, job_id, field, blob))
