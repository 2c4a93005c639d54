"""The metaclass giving versioned classes their ``__version__``."""
from __future__ import annotations

from chariots.versioning._version import Version
from chariots.versioning._versioned_field import VersionedField
from chariots.versioning._versioned_field_dict import VersionedFieldDict


class VersionableMeta(type):
    """Metaclass that sets ``__version__`` on every class it creates.

    The version is ``Version()`` plus the version of each versioned field, in field-name
    order. Fields are collected along the method resolution order, bases first, so a
    subclass attribute of the same name (versioned or not) replaces the base's field.
    """

    def __init__(cls, clsname, superclasses, attributedict):
        super().__init__(clsname, superclasses, attributedict)
        fields: dict[tuple[str, str], Version] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if name.startswith("__"):
                    continue
                for key in [key for key in fields if key[0] == name]:
                    del fields[key]
                if isinstance(value, VersionedField):
                    fields[(name, "")] = value.version
                elif isinstance(value, VersionedFieldDict):
                    for key, version in value.version_dict.items():
                        fields[(name, key)] = version
        version = Version()
        for key in sorted(fields):
            version = version + fields[key]
        cls.__version__ = version
