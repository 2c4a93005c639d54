"""The signature check's faster paths refuse exactly what the plain itsdangerous check refuses: a
large blob (checked in a thread while its data is copied out), a blob read from a file (the data
read straight into the bytes returned), bytes-like inputs."""
from __future__ import annotations

import io

import pytest
from itsdangerous import BadSignature

from chariots._signing import _PARALLEL_CHECK_BYTES, SigningKeys, state_purpose
from chariots.errors import SignatureError
from tests.security.conftest import KEY, OTHER_KEY

PURPOSE = state_purpose("model", "1.0.0")
SIZES = [0, 1, 43, 44, 45, 1000, _PARALLEL_CHECK_BYTES + 17]


def payload(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def unsign_file(keys: SigningKeys, blob: bytes, tmp_path) -> bytes:
    path = tmp_path / "state"
    path.write_bytes(blob)
    with open(path, "rb") as stream:
        return keys.unsign_file(PURPOSE, stream, "version 1.0.0 of op 'model'")


@pytest.mark.parametrize("size", SIZES)
def test_a_signed_blob_comes_back_whole_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    signed = keys.sign(PURPOSE, data)
    assert keys._signer(PURPOSE).unsign(signed) == data  # the format is itsdangerous' own
    assert keys.unsign(PURPOSE, signed, "it") == data
    assert keys.unsign(PURPOSE, bytearray(signed), "it") == data
    assert keys.unsign(PURPOSE, memoryview(signed), "it") == data
    assert unsign_file(keys, signed, tmp_path) == data
    assert keys.unsign_file(PURPOSE, io.BytesIO(signed), "it") == data  # not a file: read whole


def tampered_blobs(keys: SigningKeys, data: bytes):
    signed = keys.sign(PURPOSE, data)
    flipped = bytearray(signed)
    if data:
        flipped[len(data) // 2] ^= 1
    yield "unsigned", data, "carries no signature"
    yield "another key", SigningKeys(OTHER_KEY).sign(PURPOSE, data), "is signed with a key this process does not"
    yield "another purpose", keys.sign(state_purpose("other", "1.0.0"), data), "is signed with a key"
    if data:
        yield "a flipped data bit", bytes(flipped), "is signed with a key"
    yield "a truncated signature", signed[:-1], ""
    yield "an appended byte", signed + b"x", ""


@pytest.mark.parametrize("size", SIZES)
def test_every_tampered_blob_is_refused_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    for name, blob, reason in tampered_blobs(keys, data):
        with pytest.raises(BadSignature):  # what itsdangerous itself says of it
            keys._signer(PURPOSE).unsign(blob)
            pytest.fail(f"itsdangerous accepted the blob with {name}")
        for path in (lambda b=blob: keys.unsign(PURPOSE, b, "version 1.0.0 of op 'model'"),
                     lambda b=blob: unsign_file(keys, b, tmp_path)):
            with pytest.raises(SignatureError, match=r"^version 1\.0\.0 of op 'model' is refused: it " + reason):
                path()


def test_a_rotated_key_still_verifies_by_every_path(tmp_path):
    data = payload(_PARALLEL_CHECK_BYTES + 1)
    old_signed = SigningKeys(OTHER_KEY).sign(PURPOSE, data)
    rotated = SigningKeys(KEY, [OTHER_KEY])
    assert rotated.unsign(PURPOSE, old_signed, "it") == data
    assert unsign_file(rotated, old_signed, tmp_path) == data
