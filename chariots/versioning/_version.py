"""The :class:`Version` type: three running SHA-1 hashes and a creation time."""
from __future__ import annotations

import hashlib
import time
from typing import Union

from chariots.versioning._version_type import VersionType

_SEPARATOR = "_"
_HEX_DIGITS = frozenset("0123456789abcdef")


class _SubVersion:
    """One running SHA-1. A parsed sub-version starts from a known digest instead of empty."""

    __slots__ = ("_hash", "_frozen")

    def __init__(self, start: Union["hashlib._Hash", str, None] = None):
        self._frozen: str | None = None
        if start is None:
            self._hash = hashlib.sha1()
        elif isinstance(start, str):
            if len(start) != 40 or not _HEX_DIGITS.issuperset(start):
                raise ValueError(f"a sub-version must be 40 lowercase hex digits, got {start!r}")
            self._hash = None
            self._frozen = start
        else:
            self._hash = start.copy()

    def update(self, data: bytes) -> None:
        if self._hash is None:
            # continue from a parsed digest: chain it so later updates still change the value
            self._hash = hashlib.sha1(self._frozen.encode("utf-8"))
            self._frozen = None
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._frozen if self._hash is None else self._hash.hexdigest()


class Version:
    """A Chariots version: major, minor and patch SHA-1 sub-versions plus a creation time.

    Two versions are equal when their three sub-versions are; one is greater than another
    when it was created later. ``a + b`` is a new version each sub-version of which hashes
    ``a``'s then ``b``'s digest.

    ONLY PROVIDE ARGUMENTS IF YOU ARE PARSING A VALID VERSION.

    :param major: the starting hash (object or hex digest) of the major sub-version
    :param minor: the starting hash of the minor sub-version
    :param patch: the starting hash of the patch sub-version
    :param creation_time: the creation time stamp, ``time.time()`` when not given
    """

    __slots__ = ("_subs", "_creation_time", "_text")

    def __init__(self, major=None, minor=None, patch=None, creation_time: float | None = None):
        self._subs = {
            VersionType.MAJOR: _SubVersion(major),
            VersionType.MINOR: _SubVersion(minor),
            VersionType.PATCH: _SubVersion(patch),
        }
        self._creation_time = time.time() if creation_time is None else float(creation_time)
        self._text: str | None = None

    @property
    def major(self) -> str:
        """the hash of the major subversion"""
        return self._subs[VersionType.MAJOR].hexdigest()

    @property
    def minor(self) -> str:
        """the hash of the minor subversion"""
        return self._subs[VersionType.MINOR].hexdigest()

    @property
    def patch(self) -> str:
        """the hash of the patch subversion"""
        return self._subs[VersionType.PATCH].hexdigest()

    @property
    def creation_time(self) -> float:
        """the time stamp of the creation time of the version"""
        return self._creation_time

    def update(self, version_type: VersionType, input_bytes: bytes) -> "Version":
        """Feeds bytes to one sub-version.

        :param version_type: the sub-version to update
        :param input_bytes: the bytes to update it with
        :returns: this version, updated
        """
        self._subs[VersionType(version_type)].update(input_bytes)
        self._text = None
        return self

    def update_major(self, input_bytes: bytes) -> "Version":
        """Feeds bytes to the major sub-version and returns this version."""
        return self.update(VersionType.MAJOR, input_bytes)

    def update_minor(self, input_bytes: bytes) -> "Version":
        """Feeds bytes to the minor sub-version and returns this version."""
        return self.update(VersionType.MINOR, input_bytes)

    def update_patch(self, input_bytes: bytes) -> "Version":
        """Feeds bytes to the patch sub-version and returns this version."""
        return self.update(VersionType.PATCH, input_bytes)

    def __add__(self, other: "Version") -> "Version":
        if not isinstance(other, Version):
            return NotImplemented
        result = Version()
        for version_type, sub in result._subs.items():
            sub.update(self._subs[version_type].hexdigest().encode("utf-8"))
            sub.update(other._subs[version_type].hexdigest().encode("utf-8"))
        return result

    def _key(self) -> tuple[str, str, str]:
        return self.major, self.minor, self.patch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __gt__(self, other: "Version") -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() != other._key() and self.creation_time > other.creation_time

    def __lt__(self, other: "Version") -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() != other._key() and self.creation_time < other.creation_time

    def __repr__(self) -> str:
        return f"<Version, major:{self.major[:5]}, minor: {self.minor[:5]}, patch: {self.patch[:5]}>"

    def __str__(self) -> str:
        if self._text is None:
            # cached: servers send the versions of every node with every response
            self._text = _SEPARATOR.join((self.major, self.minor, self.patch, repr(self.creation_time)))
        return self._text

    def __reduce__(self):
        # hash objects do not pickle: travel as digests (later updates chain from them)
        return Version, (self.major, self.minor, self.patch, self.creation_time)

    @classmethod
    def parse(cls, version_string: str) -> "Version":
        """Parses the output of ``str(version)`` back into an equal version.

        :param version_string: a string made by ``str(my_version)`` (not ``repr``)
        :raises ValueError: if the string is not a version string
        :returns: the version it represents, creation time included
        """
        parts = str(version_string).split(_SEPARATOR)
        if len(parts) != 4:
            raise ValueError(
                f"{version_string!r} is not a version string: expected "
                "'<major>_<minor>_<patch>_<creation time>' as made by str(version)"
            )
        major, minor, patch, creation_time = parts
        try:
            timestamp = float(creation_time)
        except ValueError:
            raise ValueError(
                f"{version_string!r} is not a version string: bad creation time {creation_time!r}"
            ) from None
        return cls(major, minor, patch, creation_time=timestamp)
