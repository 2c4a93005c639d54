"""Fixtures of the trust-boundary tests: hostile payloads that would leave a marker file if run."""
import builtins
import json
import struct

import dill
import pytest

from chariots.versioning import Version

KEY = "k" * 16 + "-the-servers-own-key"
OTHER_KEY = "o" * 16 + "-an-attackers-key"


class Planted:
    """Unpickling it creates the marker file (it is what an attacker would put in a model)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


def ml_op_bytes(payload: object) -> bytes:
    """Bytes in the ML op format (magic, header, dill model) holding ``payload`` as the model."""
    from chariots.ml import _base_ml_op as base

    header = json.dumps({"format": 1, "chariots_version": "x", "last_training_time": 1.0e9,
                         "serializer": "chariots.ml.serializers.DillSerializer"}).encode()
    return base._MAGIC + struct.pack(">I", len(header)) + header + dill.dumps(payload)


def newer_version(version: Version, seconds: float = 1000.0) -> Version:
    """A version that differs from ``version`` and is newer."""
    return Version(version.major, "f" * 40, "e" * 40, creation_time=version.creation_time + seconds)


@pytest.fixture
def marker(tmp_path):
    """Where a planted payload would write: the tests assert it never exists."""
    return tmp_path / "pwned"
from tests.workers.conftest import private_redis  # noqa: F401,E402
