"""Checks of the names and versions the op store receives, and the saver paths built from them."""

from __future__ import annotations

import math
import re

from chariots.errors import InvalidNameError
from chariots.versioning import Version

_OP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
_VERSION = re.compile(r"([0-9a-f]{40})_([0-9a-f]{40})_([0-9a-f]{40})_([0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)")
_MAX_NAME_LENGTH = 255


def check_op_name(op_name: object) -> str:
    """Checks that an op name can safely become a directory name in a saver.

    :param op_name: the name to check
    :raises InvalidNameError: if it is not 1 to 200 letters, digits, ``_``, ``-`` or ``.``
                              starting with a letter, digit or ``_`` (so no ``..``, ``/``,
                              NUL or absolute path)
    :returns: the name
    """
    if not isinstance(op_name, str) or not _OP_NAME.fullmatch(op_name):
        raise InvalidNameError(
            f"op name {op_name!r} is invalid: an op name becomes a path in the saver, so it must be "
            "1 to 200 letters, digits, '_', '-' or '.', starting with a letter, digit or '_'; "
            "rename the op (its `name`) or its class"
        )
    return op_name


def check_node_name(name: object, what: str = "name") -> str:
    """Checks a pipeline or node name, which the store keeps in its database only.

    :param name: the name to check
    :param what: what the name is, for the error message
    :raises InvalidNameError: if it is not a non-empty string of at most 255 printable characters
    :returns: the name
    """
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidNameError(
            f"{what} {name!r} is invalid: expected 1 to {_MAX_NAME_LENGTH} printable characters "
            "(no NUL, newline or other control character)"
        )
    return name


def parse_version(version_string: object) -> Version:
    """Parses a version string as made by ``str(version)``, refusing anything else.

    :param version_string: ``'<major>_<minor>_<patch>_<creation time>'``, hashes in lowercase hex
    :raises InvalidNameError: if the string is not exactly a version string
    :returns: the version
    """
    match = _VERSION.fullmatch(version_string) if isinstance(version_string, str) else None
    if match is None:
        raise InvalidNameError(
            f"version {version_string!r} is invalid: expected '<major>_<minor>_<patch>_<creation time>' "
            "with 40 lowercase hex digits per hash, as made by str(version)"
        )
    major, minor, patch, creation_time = match.groups()
    timestamp = float(creation_time)
    if not math.isfinite(timestamp):  # '1e400' matches the digits but overflows to infinity
        raise InvalidNameError(
            f"version {version_string[:200]!r} is invalid: its creation time {creation_time[:40]!r} is not a finite "
            "number of seconds, as made by str(version)"
        )
    return Version(major, minor, patch, creation_time=timestamp)


def op_bytes_path(op_name: str, version: Version) -> str:
    """The saver path of the bytes of one version of an op (the creation time is not part of it).

    :param op_name: a name accepted by :func:`check_op_name`
    :param version: the version
    :returns: ``ops/<op_name>/<major>_<minor>_<patch>``
    """
    return f"ops/{check_op_name(op_name)}/{version.major}_{version.minor}_{version.patch}"
