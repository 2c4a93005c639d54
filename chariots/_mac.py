"""The signature every blob Chariots writes carries: keyed BLAKE3, a key id, one encoding.

The tag of a blob is BLAKE3 in its keyed mode (a MAC: the BLAKE3 paper and spec, section 2.5)
over the blob's bytes and the rest of its tail, under a key derived for the blob's purpose (an op
state's name and version, or RQ jobs): the secret key gives a root key through BLAKE3's own key
derivation mode with a context string fixed here, and the root key gives one key per purpose as
the keyed hash of the purpose. So a tag made for one purpose is no tag of another, and the secret
key itself never enters a hash.

Why BLAKE3 and not HMAC-SHA256: a 100 MB model state is checked before every load, and on the
two-core development machine HMAC-SHA256 runs at about 2 GB/s on one core (about 50 ms, a quarter
of the load), where keyed BLAKE3 runs at about 8 GB/s on one core and twice that on two (6 to
13 ms): ``python -m benchmarks.signing`` measures the alternatives side by side. Large blobs are
hashed on a few threads of a pool made for the call (never BLAKE3's process-wide pool, which a
forked gunicorn or RQ worker would inherit without its threads).

A signed blob ends with :data:`TAIL_BYTES`: the 32-byte tag, the 8-byte id of the key that made
it (the verifier takes that key, so a check is one pass whatever the number of accepted keys), and
:data:`TRAILER`. Every field is raw bytes of a fixed size: a tag has exactly one spelling. The
trailer ends with a NUL byte, which no earlier tail (base64 text) ends with, so the two never
pass for each other.
"""
from __future__ import annotations

import hmac
import os
from typing import Optional, Tuple, Union

__all__ = ["TAIL_BYTES", "TRAILER", "KEY_ID_BYTES", "root_key", "key_id", "purpose_key", "tag", "encode_tail",
           "parse_tail", "tag_checks"]

Buffer = Union[bytes, bytearray, memoryview]

TAG_BYTES = 32
KEY_ID_BYTES = 8
#: the end of every blob signed by this scheme (version 2 of Chariots' signatures)
TRAILER = b"\x00chariots.mac2\x00"
#: the bytes a signature adds to a blob: the tag, the key id and the trailer
TAIL_BYTES = TAG_BYTES + KEY_ID_BYTES + len(TRAILER)
#: blobs this large are hashed on several threads
THREADED_BYTES = 4 * 1024 * 1024

# BLAKE3 key derivation contexts: hardcoded, globally unique, one per use
_ROOT_CONTEXT = "chariots 2026-12 signed blobs v2: root key"
_KEY_ID_CONTEXT = "chariots 2026-12 signed blobs v2: key id"


def _blake3():
    from blake3 import blake3

    return blake3


def root_key(secret: bytes) -> bytes:
    """The key every purpose key is derived from (BLAKE3 ``derive_key`` of the secret)."""
    return _blake3()(secret, derive_key_context=_ROOT_CONTEXT).digest()


def key_id(secret: bytes) -> bytes:
    """The public id of a secret key, written in each tail so a verifier picks the key at once."""
    return _blake3()(secret, derive_key_context=_KEY_ID_CONTEXT).digest(length=KEY_ID_BYTES)


def purpose_key(root: bytes, purpose: str) -> bytes:
    """The key signing blobs for ``purpose``: the keyed BLAKE3 of the purpose under the root key."""
    return _blake3()(purpose.encode("utf-8", "surrogatepass"), key=root).digest()


def _threads(size: int) -> int:
    return max(1, min(4, os.cpu_count() or 1)) if size >= THREADED_BYTES else 1


def tag(key: bytes, data: Buffer, tail_fields: bytes) -> bytes:
    """The keyed BLAKE3 of ``data`` then ``tail_fields`` (the key id and the trailer), under ``key``."""
    view = memoryview(data).cast("B")
    hasher = _blake3()(key=key, max_threads=_threads(len(view)))
    hasher.update(view)
    hasher.update(tail_fields)
    return hasher.digest()


def encode_tail(key: bytes, identity: bytes, data: Buffer) -> bytes:
    """The tail signing ``data`` under ``key`` (whose id is ``identity``)."""
    fields = identity + TRAILER
    return tag(key, data, fields) + fields


def parse_tail(tail: Buffer) -> Optional[Tuple[bytes, bytes]]:
    """The tag and key id of a tail of this scheme, or None when ``tail`` is not one."""
    tail = bytes(tail)
    if len(tail) != TAIL_BYTES or not tail.endswith(TRAILER):
        return None
    return tail[:TAG_BYTES], tail[TAG_BYTES:TAG_BYTES + KEY_ID_BYTES]


def tag_checks(key: bytes, data: Buffer, tail: bytes) -> bool:
    """Whether ``tail`` (a tail of this scheme) holds the tag of ``data`` under ``key``."""
    return hmac.compare_digest(tag(key, data, tail[TAG_BYTES:]), tail[:TAG_BYTES])
