"""The two earlier signature formats, still checked so that the states they signed load; nothing
is signed with them any more (see :mod:`chariots._mac` for the scheme that replaced them).

A state of the first format ends with ``.`` and the HMAC-SHA256 of its bytes (itsdangerous'
format, :data:`HMAC_TAIL_BYTES`); a state of the second with ``~``, a nonce and the HMAC-SHA256 of
its *manifest* (:data:`STATE_TAIL_BYTES`), as described below. Both tails are base64 text, and
base64 leaves spare bits in the last character of a field whose length is not a multiple of
three bytes: only the canonical spelling (the one the encoder writes, spare bits zero) is taken,
so a signature has one accepted spelling.

The manifest format:

A state of 100 MB is checked before every load, and one HMAC-SHA256 over its bytes, a single
stream at ~1.4 GB/s, takes as long as half the load itself on a two-core machine. So the bytes are
cut into chunks of :data:`CHUNK_BYTES`, each authenticated with AES-GMAC (NIST SP 800-38D: AES-GCM
with the chunk as associated data and nothing to encrypt, ~6 GB/s per core with AES-NI) under a
key derived from the secret key for the op and version, on a pool of threads (the ``cryptography``
package lets go of the GIL); the manifest lists the length, the chunk size, the nonce and every
chunk's tag in order, and the HMAC-SHA256 of the manifest is the state's signature.

Changing, moving, dropping or adding a chunk changes a tag, and no tag can be computed without the
secret key, so the manifest stands for the bytes: a state whose manifest signature checks holds
the bytes that were signed. The nonce (random, per signature) is never reused with the same key,
which GMAC needs; the tags are never stored, only their HMAC.

A signed state ends with :data:`STATE_TAIL_BYTES`: ``~``, the nonce (11 base64url characters) and
the signature (43). A job, and a state signed before manifests, ends with ``.`` and the HMAC-SHA256
of its bytes (:data:`HMAC_TAIL_BYTES`, itsdangerous' format).
"""
from __future__ import annotations

import base64
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple, Union

Buffer = Union[bytes, bytearray, memoryview]

#: the bytes are authenticated by chunks of this size, on several threads
CHUNK_BYTES = 4 * 1024 * 1024
NONCE_BYTES = 8
#: the mark opening a manifest signature
MANIFEST_MARK = b"~"
#: the mark opening an HMAC-SHA256 of the bytes themselves (a job's, an earlier state's)
HMAC_MARK = b"."
_NONCE_CHARS = 11
SIGNATURE_CHARS = 43
#: the last bytes of a signed state: the mark, the nonce and the HMAC-SHA256 of the manifest
STATE_TAIL_BYTES = 1 + _NONCE_CHARS + SIGNATURE_CHARS
#: the last bytes of a blob signed over its bytes: the mark and an HMAC-SHA256 of the bytes
HMAC_TAIL_BYTES = 1 + SIGNATURE_CHARS
_HEADER = b"chariots.state-manifest.aes-gmac-chunks.v1\x00"

_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    # a forked child (a gunicorn worker) has none of its parent's threads: it starts its own pool
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def _chunk_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(2, min(4, os.cpu_count() or 1))
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chariots-chunks")
        return _pool


def manifest(chunk_key: bytes, nonce: bytes, data: Buffer) -> bytes:
    """The manifest of ``data``: a header, its length, the chunk size, the nonce and the AES-GMAC
    tag of each chunk under ``chunk_key`` (32 bytes) with the nonce and the chunk's index.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    view = memoryview(data).cast("B")

    def tag(index: int) -> bytes:
        start = index * CHUNK_BYTES
        # GMAC: nothing encrypted, the chunk authenticated; a nonce per chunk, unique for this key
        return AESGCM(chunk_key).encrypt(nonce + index.to_bytes(4, "big"), b"", view[start:start + CHUNK_BYTES])

    count = max(1, -(-len(view) // CHUNK_BYTES))
    tags: List[bytes] = list(_chunk_pool().map(tag, range(count))) if count > 1 else [tag(0)]
    return b"".join([_HEADER, struct.pack(">QQ", len(view), CHUNK_BYTES), nonce, *tags])


def encode_tail(nonce: bytes, signature: bytes) -> bytes:
    """The end of a state signed in the manifest format: the mark, the nonce and the manifest's
    signature (what a verifier reads back; tests use it to write states of that format)."""
    return b"".join([MANIFEST_MARK, base64.urlsafe_b64encode(nonce).rstrip(b"="), signature])


def _canonical_base64(characters: bytes, length: int) -> bool:
    """Whether ``characters`` is the one spelling the base64url encoder gives of what it decodes to."""
    if len(characters) != length or not characters.replace(b"-", b"").replace(b"_", b"").isalnum() \
            or not characters.isascii():
        return False
    decoded = base64.urlsafe_b64decode(characters + b"=" * (-length % 4))
    return base64.urlsafe_b64encode(decoded).rstrip(b"=") == characters


def parse_tail(tail: bytes) -> Optional[Tuple[bytes, bytes]]:
    """The nonce and signature of a manifest tail, or None when ``tail`` is not one."""
    if len(tail) != STATE_TAIL_BYTES or tail[:1] != MANIFEST_MARK:
        return None
    nonce, signature = tail[1:1 + _NONCE_CHARS], tail[1 + _NONCE_CHARS:]
    if not (_canonical_base64(nonce, _NONCE_CHARS) and _canonical_base64(signature, SIGNATURE_CHARS)):
        return None
    return base64.urlsafe_b64decode(nonce + b"="), signature


def hmac_signature(blob: Buffer) -> Optional[bytes]:
    """The HMAC-SHA256 ending a blob signed over its bytes, or None when ``blob`` does not end so."""
    end = bytes(memoryview(blob).cast("B")[-HMAC_TAIL_BYTES:])
    if len(end) == HMAC_TAIL_BYTES and end[:1] == HMAC_MARK and _canonical_base64(end[1:], SIGNATURE_CHARS):
        return end[1:]
    return None


def looks_signed_before(blob: Buffer) -> bool:
    """Whether a blob ends with a tail of one of the earlier formats: a manifest's or an HMAC's."""
    end = bytes(memoryview(blob).cast("B")[-STATE_TAIL_BYTES:])
    return parse_tail(end) is not None or hmac_signature(end) is not None
