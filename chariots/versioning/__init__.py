"""Semantic versions computed from hashed class fields."""
from chariots.versioning._canonical import canonical
from chariots.versioning._version import Version
from chariots.versioning._version_type import VersionType
from chariots.versioning._versionable_meta import VersionableMeta
from chariots.versioning._versioned_field import VersionedField
from chariots.versioning._versioned_field_dict import VersionedFieldDict

__all__ = ["canonical", "Version", "VersionType", "VersionedField", "VersionedFieldDict", "VersionableMeta"]
