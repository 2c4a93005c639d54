"""Every way a signature is checked refuses exactly the blobs it should.

Blobs carry keyed BLAKE3 with the signing key's id (:mod:`chariots._mac`); states and jobs signed
by earlier releases (an HMAC-SHA256 of the bytes, or of a manifest of AES-GMAC tags) still load, in
their one canonical spelling. Each state path is tried: a blob in memory, a file (data read
straight into the bytes returned), a stream that is no file, data and tail read apart (the HTTP
client).
"""
from __future__ import annotations

import base64
import io
import multiprocessing
import random
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chariots import _mac
from chariots._signing import JOB_PURPOSE, STATE_TAIL_BYTES, SigningKeys, state_purpose
from chariots.errors import SignatureError
from tests import generative
from tests.security.conftest import KEY, OTHER_KEY, sign_like_the_first_release, sign_like_the_manifest_release

OP, VERSION = "model", "1.0.0"
WHAT = r"^version 1\.0\.0 of op 'model' is refused: it "
MIB = 1024 * 1024
SIZES = [0, 1, 43, 44, 45, 55, 56, 1000, _mac.THREADED_BYTES - 1, _mac.THREADED_BYTES + 17]
BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


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


def refused_by_every_path(keys: SigningKeys, blob: bytes, tmp_path, reason: str = "") -> None:
    for path_name, path in state_paths(keys, blob, tmp_path).items():
        with pytest.raises(SignatureError, match=WHAT + reason):
            path()
            pytest.fail(f"accepted through {path_name}")


@pytest.mark.parametrize("size", SIZES)
def test_a_signed_state_comes_back_whole_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    signed = keys.sign_state(OP, VERSION, data)
    assert signed[:size] == data and len(signed) == size + STATE_TAIL_BYTES
    assert signed.endswith(_mac.TRAILER) and signed[size + 32:size + 40].hex() == keys.fingerprint
    for name, path in state_paths(keys, signed, tmp_path).items():
        assert path() == data, name


@pytest.mark.parametrize("size", [0, 45, 4 * MIB + 17])
def test_states_signed_by_the_earlier_releases_still_load_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    for blob in (sign_like_the_first_release(keys, state_purpose(OP, VERSION), data),
                 sign_like_the_manifest_release(keys, OP, VERSION, data)):
        for name, path in state_paths(keys, blob, tmp_path).items():
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
    yield "the tail of other bytes", data + keys.sign_state(OP, VERSION, data + b"x")[-STATE_TAIL_BYTES:], "is signed"
    yield "another key's id", data + tail[:32] + SigningKeys(OTHER_KEY).sign(JOB_PURPOSE, b"")[32:40] + tail[40:], \
        "is signed with a key this process does not accept \\(key id "
    for index in (0, 31, 32, 39):  # the tag's first and last byte, the key id's
        flipped = bytearray(tail)
        flipped[index] ^= 1
        yield f"byte {index} of the tail flipped", data + bytes(flipped), "is signed with a key"
    for index in {0, len(data) // 2, len(data) - 1} if data else ():
        flipped = bytearray(data)
        flipped[index] ^= 0x80
        yield f"a bit flipped at {index}", bytes(flipped) + tail, "is signed with a key"
    first = sign_like_the_first_release(keys, state_purpose(OP, VERSION), data)
    other_char = b"B" if first[-20:-19] != b"B" else b"C"
    yield "the first release's tail, one character changed", data + first[-44:-20] + other_char + first[-19:], ""
    yield "a manifest tail of another key", sign_like_the_manifest_release(SigningKeys(OTHER_KEY), OP, VERSION, data), \
        "is signed with a key"


@pytest.mark.parametrize("size", [0, 1, 43, 44, 45, 1000, 4 * MIB + 5])
def test_every_tampered_state_is_refused_by_every_path(size, tmp_path):
    keys, data = SigningKeys(KEY), payload(size)
    for name, blob, reason in tampered_states(keys, data):
        try:
            refused_by_every_path(keys, blob, tmp_path, reason)
        except BaseException as error:
            raise AssertionError(f"the state with {name}: {error}") from None


def _respellings(field: bytes) -> list:
    """Every spelling of a base64url field that decodes to the same bytes (the last character's
    spare bits set every way)."""
    spare = {22: 2, 43: 2, 11: 2}[len(field)]  # 16, 32 and 8 bytes leave 2 spare bits
    last = BASE64.index(field[-1:])
    return [field[:-1] + BASE64[(last & ~((1 << spare) - 1)) | bits:][:1] for bits in range(1 << spare)]


def test_each_signature_has_one_accepted_spelling(tmp_path):
    """Finding 11: base64 tails had spare bits, so one signature had 16 accepted spellings."""
    keys, data = SigningKeys(KEY), payload(100)
    manifest_blob = sign_like_the_manifest_release(keys, OP, VERSION, data)
    tail = manifest_blob[len(data):]
    nonce, signature = tail[1:12], tail[12:]
    spellings = [data + b"~" + n + s for n in _respellings(nonce) for s in _respellings(signature)]
    assert len(set(spellings)) == 16
    assert all(base64.urlsafe_b64decode(s[-43:] + b"=") == base64.urlsafe_b64decode(signature + b"=")
               for s in spellings)
    accepted = []
    for blob in spellings:
        try:
            keys.unsign_state(OP, VERSION, blob)
            accepted.append(blob)
        except SignatureError:
            refused_by_every_path(keys, blob, tmp_path)
    assert accepted == [manifest_blob]

    first = sign_like_the_first_release(keys, state_purpose(OP, VERSION), data)
    first_spellings = [data + b"." + s for s in _respellings(first[-43:])]
    assert [blob for blob in first_spellings if _accepts(keys, blob)] == [first]
    job = sign_like_the_first_release(keys, JOB_PURPOSE, data)
    job_spellings = [data + b"." + s for s in _respellings(job[-43:])]
    assert [blob for blob in job_spellings if _accepts_job(keys, blob)] == [job]


def _accepts(keys: SigningKeys, blob: bytes) -> bool:
    try:
        keys.unsign_state(OP, VERSION, blob)
    except SignatureError:
        return False
    return True


def _accepts_job(keys: SigningKeys, blob: bytes) -> bool:
    try:
        keys.unsign(JOB_PURPOSE, blob, "job")
    except SignatureError:
        return False
    return True


@pytest.mark.generative
@given(data=st.binary(max_size=300), where=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255),
       kind=st.sampled_from(["flip", "cut", "append", "insert", "job"]))
def test_any_change_to_a_signed_blob_is_refused(data, where, mask, kind):
    """The promise of one MAC with one spelling: the signed blob checks, and no other blob made
    from it by changing, dropping or adding a byte does (states and jobs alike)."""
    keys = SigningKeys(KEY)
    signed = keys.sign(JOB_PURPOSE, data) if kind == "job" else keys.sign_state(OP, VERSION, data)
    index = where % len(signed)
    if kind in ("flip", "job"):
        changed = bytearray(signed)
        changed[index] ^= mask
    elif kind == "cut":
        changed = signed[:index] + signed[index + 1:]
    elif kind == "append":
        changed = signed + bytes([mask])
    else:
        changed = signed[:index] + bytes([mask]) + signed[index:]
    region = "tail" if index >= len(data) else "data"
    generative.record("test_any_change_to_a_signed_blob_is_refused", f"{kind}:{region}:{min(len(data), 64) // 16}")
    if kind == "job":
        assert keys.unsign(JOB_PURPOSE, signed, "job") == data
        with pytest.raises(SignatureError, match="^job is refused"):
            keys.unsign(JOB_PURPOSE, bytes(changed), "job")
        return
    assert keys.unsign_state(OP, VERSION, signed) == data
    cut = max(len(changed) - STATE_TAIL_BYTES, 0)
    for check in (lambda: keys.unsign_state(OP, VERSION, bytes(changed)),
                  lambda: keys.unsign_state_parts(OP, VERSION, bytes(changed[:cut]), bytes(changed[cut:]))):
        with pytest.raises(SignatureError, match=WHAT):
            check()


def test_a_rotated_key_verifies_in_one_pass_whatever_the_number_of_old_keys(tmp_path, monkeypatch):
    data = payload(_mac.THREADED_BYTES + 1)
    old_keys = [f"old-key-number-{index:04d}-of-many" for index in range(40)]
    rotated = SigningKeys(KEY, old_keys)
    oldest = SigningKeys(old_keys[0]).sign_state(OP, VERSION, data)
    passes = []
    real_tag = _mac.tag
    monkeypatch.setattr(_mac, "tag", lambda *args: passes.append(1) or real_tag(*args))
    for name, path in state_paths(rotated, oldest, tmp_path).items():
        passes.clear()
        assert path() == data, name
        assert len(passes) == 1, name  # the key id picked the key: one pass, not one per key
    new = rotated.sign_state(OP, VERSION, data)  # signed with the newest key only
    assert SigningKeys(KEY).unsign_state(OP, VERSION, new) == data
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        SigningKeys(old_keys[0]).unsign_state(OP, VERSION, new)
    for earlier in (sign_like_the_manifest_release(SigningKeys(old_keys[3]), OP, VERSION, data),
                    sign_like_the_first_release(SigningKeys(old_keys[3]), state_purpose(OP, VERSION), data)):
        assert rotated.unsign_state(OP, VERSION, earlier) == data


def _check_in_child(blob: bytes, queue) -> None:
    queue.put(SigningKeys(KEY).unsign_state(OP, VERSION, blob) == payload(3 * MIB + _mac.THREADED_BYTES))


def test_a_forked_process_checks_states_with_its_own_threads():
    # gunicorn and RQ fork after the parent may have checked large states on several threads
    keys, data = SigningKeys(KEY), payload(3 * MIB + _mac.THREADED_BYTES)
    blob = keys.sign_state(OP, VERSION, data)
    assert keys.unsign_state(OP, VERSION, blob) == data
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


@pytest.mark.parametrize("size", [0, 1, 43, 44, 1000, _mac.THREADED_BYTES + 17])
def test_a_signed_job_blob_checks_and_tampering_is_refused(size):
    keys, data = SigningKeys(KEY), payload(size)
    signed = keys.sign(JOB_PURPOSE, data)
    for blob in (signed, bytearray(signed), memoryview(signed)):
        assert keys.unsign(JOB_PURPOSE, blob, "job") == data
    earlier = sign_like_the_first_release(keys, JOB_PURPOSE, data)  # queued by an earlier release
    assert keys.unsign(JOB_PURPOSE, earlier, "job") == data
    flipped = bytearray(signed)
    if data:
        flipped[len(data) // 2] ^= 1
    refused = {"unsigned": data, "another key": SigningKeys(OTHER_KEY).sign(JOB_PURPOSE, data),
               "a state's signature": keys.sign_state(OP, VERSION, data), "truncated": signed[:-1],
               "appended": signed + b"x", "the first release's, of another key":
               sign_like_the_first_release(SigningKeys(OTHER_KEY), JOB_PURPOSE, data)}
    if data:
        refused["flipped"] = bytes(flipped)
    for name, blob in refused.items():
        with pytest.raises(SignatureError, match="^job is refused"):
            keys.unsign(JOB_PURPOSE, blob, "job")
            pytest.fail(f"the job blob {name} was accepted")
