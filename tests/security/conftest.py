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


def sign_like_the_first_release(keys, purpose: str, data: bytes) -> bytes:
    """``data`` signed as the first signing release did: ``.`` and the HMAC-SHA256 of the bytes
    (itsdangerous' format), what jobs and states of stores written then carry."""
    return keys._signer(purpose).sign(data)


def sign_like_the_manifest_release(keys, op_name: str, version: object, data: bytes) -> bytes:
    """``data`` signed as the release before the current scheme did: ``~``, a nonce and the
    HMAC-SHA256 of a manifest of per-chunk AES-GMAC tags."""
    import secrets

    from chariots._manifest import encode_tail, manifest
    from chariots._signing import state_purpose

    purpose = state_purpose(op_name, version)
    chunks, manifests = keys._signer(purpose + "\x00chunks"), keys._signer(purpose + "\x00manifest")
    nonce = secrets.token_bytes(8)
    return data + encode_tail(nonce, manifests.get_signature(manifest(chunks.derive_key(), nonce, data)))


@pytest.fixture
def marker(tmp_path):
    """Where a planted payload would write: the tests assert it never exists."""
    return tmp_path / "pwned"
from tests.workers.conftest import private_redis  # noqa: F401,E402
