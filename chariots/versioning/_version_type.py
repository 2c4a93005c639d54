"""The three sub-versions of a :class:`~chariots.versioning.Version`."""
from __future__ import annotations

import enum


class VersionType(enum.Enum):
    """Which sub-version (major, minor or patch) a field or an event changes."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
