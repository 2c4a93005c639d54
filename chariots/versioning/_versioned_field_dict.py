"""A mapping class attribute whose every value acts as a :class:`VersionedField`."""
from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from chariots.versioning._version import Version
from chariots.versioning._version_type import VersionType
from chariots.versioning._versioned_field import VersionedField


class VersionedFieldDict(MutableMapping):
    """A dictionary whose values are versioned fields of the class holding it.

    Plain values affect ``default_version``; a value given as a :class:`VersionedField`
    affects the sub-version it names. Reading a key gives the inner value.

    :param default_version: the sub-version plain values affect
    """

    def __init__(self, default_version: VersionType = VersionType.MAJOR, *args, **kwargs):
        self.default_version = VersionType(default_version)
        self._fields: dict[str, VersionedField] = {}
        self.update(*args, **kwargs)

    def __getitem__(self, key: str) -> Any:
        return self._fields[key].value

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(value, VersionedField):
            value = VersionedField(value, self.default_version)
        self._fields[key] = value

    def __delitem__(self, key: str) -> None:
        del self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __get__(self, instance: Any, owner: type | None = None) -> "VersionedFieldDict":
        return self

    @property
    def version_dict(self) -> dict[str, Version]:
        """the name of every field and the version it contributes"""
        return {key: field.version for key, field in self._fields.items()}

    def __repr__(self) -> str:
        return f"VersionedFieldDict({self.default_version}, {dict(self)!r})"
