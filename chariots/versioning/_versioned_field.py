"""Class attributes that take part in the version of the class that holds them."""
from __future__ import annotations

import hashlib
import time
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

    The field's :attr:`version` is created with the field: it is greater than any version
    made before, and equal to the version of any field holding the same value.

    :param value: the value returned when the attribute is read
    :param affected_version: the sub-version this value changes
    """

    def __init__(self, value: Any, affected_version: VersionType):
        self.affected_version = VersionType(affected_version)
        self.value = value

    @property
    def value(self) -> Any:
        """the inner value; setting a new one stamps the field's version with the time"""
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        self._value = value
        self._creation_time = time.time()

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        return self._value

    def __set__(self, instance: Any, value: Any) -> None:
        self.value = value

    @property
    def creation_time(self) -> float:
        """when the field (or its current value) was created, as a ``time.time()`` stamp"""
        return self._creation_time

    @property
    def version(self) -> Version:
        """the version this field contributes (only its affected sub-version is fed), created
        when the field got its value"""
        digest = hashlib.sha1(canonical(self._value).encode("utf-8")).hexdigest()
        version = Version(creation_time=self._creation_time)
        return version.update(self.affected_version, digest.encode("utf-8"))

    def __repr__(self) -> str:
        return f"VersionedField({self.value!r}, {self.affected_version})"
