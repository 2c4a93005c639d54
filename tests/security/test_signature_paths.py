"""Every way a signature is checked refuses exactly the blobs it should.

Jobs carry itsdangerous' own format (an HMAC-SHA256 of the bytes). States carry the HMAC-SHA256 of
their manifest (an AES-GMAC tag per chunk, computed on several threads), and states signed before
manifests still load. Each state path is tried: a blob in memory, a file (data read straight into
the bytes returned), a stream that is no file, data and signature read apart (the HTTP client).
"""
from __future__ import annotations

import io
import multiprocessing
import random
import warnings

import pytest
from itsdangerous import BadSignature

from chariots._manifest import CHUNK_BYTES, STATE_TAIL_BYTES
from chariots._signing import JOB_PURPOSE, SigningKeys, state_purpose
from chariots.errors import SignatureError
from tests.security.conftest import KEY, OTHER_KEY

OP, VERSION = "model", "1.0.0"
WHAT = r"^version 1\.0\.0 of op 'model' is refused: it "
SIZES = [0, 1, 43, 44, 45, 1000, CHUNK_BYTES, CHUNK_BYTES + 17, 3 * CHUNK_BYTES + 5]


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)  # no two chunks alike: swapping two changes the bytes


def state_paths(keys: SigningKeys, blob: bytes, tmp_path):
    """Each way a stored state reaches the check, as a function giving the data it returns."""
    path = tmp_path / "state"
    path.write_bytes(blob)

    def from_file():
        with open(path, "rb") as stream:
            return keys.unsign_state_file(OP, VERSION, stream)

    def parts():
        cut = max(len(blob) - STATE_TAIL_BYTES, 0)
        return keys.unsign_state_parts(OP, VERSION, blob[:cut], blob[cut:])

    return {
        "bytes": lambda: keys.unsign_state(OP, VERSION, blob),
        "bytearray": lambda: keys.unsign_state(OP, VERSION, bytearray(blob)),
        "memoryview": lambda: keys.unsign_state(OP, VERSION, memoryview(blob)),
        "file": from_file,
        "stream": lambda: keys.unsign_state_file(OP, VERSION, io.BytesIO(blob)),
        "parts": parts,
    }


@pytest.mark.parametrize("size", SIZES)
def test_a_signed_state_comes_back_whole_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    signed = keys.sign_state(OP, VERSION, data)
    assert signed[:size] == data and len(signed) == size + STATE_TAIL_BYTES
    for name, path in state_paths(keys, signed, tmp_path).items():
        assert path() == data, name


@pytest.mark.parametrize("size", [0, 45, CHUNK_BYTES + 17])
def test_a_state_signed_before_manifests_still_loads_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    legacy = keys.sign(state_purpose(OP, VERSION), data)  # how states were signed: an HMAC of the bytes
    for name, path in state_paths(keys, legacy, tmp_path).items():
        assert path() == data, name


def tampered_states(keys: SigningKeys, data: bytes):
    signed = keys.sign_state(OP, VERSION, data)
    tail = signed[len(data):]
    yield "unsigned", data, "carries no signature"
    yield "another key", SigningKeys(OTHER_KEY).sign_state(OP, VERSION, data), "is signed with a key this"
    yield "another op", keys.sign_state("other", VERSION, data), "is signed with a key"
    yield "another version", keys.sign_state(OP, "1.0.1", data), "is signed with a key"
    yield "a job's signature", keys.sign(JOB_PURPOSE, data), "is signed with a key"
    yield "a truncated signature", signed[:-1], ""
    yield "an appended byte", signed + b"x", ""
    yield "a manifest signature taken for one over the bytes", data + b"." + tail[-43:], "is signed with a key"
    legacy = keys.sign(state_purpose(OP, VERSION), data)
    yield "a signature over the bytes taken for a manifest's", data + tail[:12] + legacy[-43:], "is signed with a key"
    yield "another signature's nonce", data + keys.sign_state(OP, VERSION, data)[-55:-43] + tail[-43:], "is signed"
    yield "the manifest of other bytes", data + keys.sign_state(OP, VERSION, data + b"x")[-55:], "is signed with"
    chunks = [data[start:start + CHUNK_BYTES] for start in range(0, len(data), CHUNK_BYTES)]
    for index in {0, len(chunks) // 2, len(chunks) - 1} if data else ():
        flipped = bytearray(data)
        flipped[index * CHUNK_BYTES + len(chunks[index]) // 2] ^= 1
        yield f"a bit flipped in chunk {index}", bytes(flipped) + tail, "is signed with a key"
    if len(chunks) > 2:
        yield "two chunks swapped", chunks[1] + chunks[0] + b"".join(chunks[2:]) + tail, "is signed with a key"
        yield "the last chunk cut off", b"".join(chunks[:-1]) + tail, "is signed with a key"
        yield "a chunk appended", data + chunks[0] + tail, "is signed with a key"
        yield "a zero byte appended", data + b"\0" + tail, "is signed with a key"


@pytest.mark.parametrize("size", [0, 1, 43, 44, 45, 1000, 3 * CHUNK_BYTES + 5])
def test_every_tampered_state_is_refused_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    for name, blob, reason in tampered_states(keys, data):
        for path_name, path in state_paths(keys, blob, tmp_path).items():
            with pytest.raises(SignatureError, match=WHAT + reason):
                path()
                pytest.fail(f"the state with {name} was accepted through {path_name}")


def test_a_rotated_key_still_verifies_states_by_every_path(tmp_path):
    data = payload(CHUNK_BYTES + 1)
    rotated = SigningKeys(KEY, [OTHER_KEY])
    for old_signed in (SigningKeys(OTHER_KEY).sign_state(OP, VERSION, data),
                       SigningKeys(OTHER_KEY).sign(state_purpose(OP, VERSION), data)):
        for name, path in state_paths(rotated, old_signed, tmp_path).items():
            assert path() == data, name
    new = rotated.sign_state(OP, VERSION, data)  # signed with the newest key only
    assert SigningKeys(KEY).unsign_state(OP, VERSION, new) == data
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        SigningKeys(OTHER_KEY).unsign_state(OP, VERSION, new)


def _check_in_child(blob: bytes, queue) -> None:
    queue.put(SigningKeys(KEY).unsign_state(OP, VERSION, blob) == payload(3 * CHUNK_BYTES))


def test_a_forked_process_checks_states_with_its_own_chunk_threads():
    # gunicorn forks its workers after the master may have checked states: the child's pool is its own
    keys, data = SigningKeys(KEY), payload(3 * CHUNK_BYTES)
    blob = keys.sign_state(OP, VERSION, data)
    assert keys.unsign_state(OP, VERSION, blob) == data  # the parent's pool threads exist now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_check_in_child, args=(blob, queue))
    with warnings.catch_warnings():  # JAX, imported by other tests, warns of any fork; the child runs no JAX
        warnings.simplefilter("ignore", RuntimeWarning)
        child.start()
    try:
        assert queue.get(timeout=30) is True
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0


@pytest.mark.parametrize("size", [0, 1, 43, 44, 1000, CHUNK_BYTES + 17])
def test_a_signed_job_blob_is_itsdangerous_format_and_tampering_is_refused(size):
    keys, data = SigningKeys(KEY), payload(size)
    signed = keys.sign(JOB_PURPOSE, data)
    assert keys._signer(JOB_PURPOSE).unsign(signed) == data  # the format is itsdangerous' own
    for blob in (signed, bytearray(signed), memoryview(signed)):
        assert keys.unsign(JOB_PURPOSE, blob, "job") == data
    flipped = bytearray(signed)
    if data:
        flipped[len(data) // 2] ^= 1
    refused = {"unsigned": data, "another key": SigningKeys(OTHER_KEY).sign(JOB_PURPOSE, data),
               "a state's signature": keys.sign_state(OP, VERSION, data), "truncated": signed[:-1],
               "appended": signed + b"x"}
    if data:
        refused["flipped"] = bytes(flipped)
    for name, blob in refused.items():
        with pytest.raises(BadSignature):  # what itsdangerous itself says of it
            keys._signer(JOB_PURPOSE).unsign(blob)
        with pytest.raises(SignatureError, match="^job is refused"):
            keys.unsign(JOB_PURPOSE, blob, "job")
            pytest.fail(f"the job blob {name} was accepted")
