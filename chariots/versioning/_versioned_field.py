"""Class attributes that take part in the version of the class that holds them."""
from __future__ import annotations

import hashlib
from typing import Any

from chariots.versioning._canonical import canonical
from chariots.versioning._version import Version
from chariots.versioning._version_type import VersionType


class VersionedField:
    """A class attribute whose value feeds one sub-version of its class's ``__version__``.

    Read on the class or an instance, it gives the inner value. The version is taken when
    the class is created: assigning a new value later does not change ``__version__``.

    >>> class MyVersionedClass(metaclass=VersionableMeta):
    ...     foo = VersionedField(3, VersionType.MINOR)
    >>> MyVersionedClass.foo
    3

    :param value: the value returned when the attribute is read
    :param affected_version: the sub-version this value changes
    """

    def __init__(self, value: Any, affected_version: VersionType):
        self.value = value
        self.affected_version = VersionType(affected_version)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        return self.value

    def __set__(self, instance: Any, value: Any) -> None:
        self.value = value

    @property
    def version(self) -> Version:
        """the version this field contributes (only its affected sub-version is fed)"""
        digest = hashlib.sha1(canonical(self.value).encode("utf-8")).hexdigest()
        return Version(creation_time=0.0).update(self.affected_version, digest.encode("utf-8"))

    def __repr__(self) -> str:
        return f"VersionedField({self.value!r}, {self.affected_version})"
