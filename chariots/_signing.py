"""Signed blobs: every byte string a Chariots process writes to the op store or to Redis carries
an HMAC-SHA256 signature, checked before anything unpickles it.

A job (payload, meta, result) carries the HMAC-SHA256 of its bytes. A model state carries the
HMAC-SHA256 of its *manifest*, which authenticates its bytes chunk by chunk on every core (see
:mod:`chariots._manifest`): checking a 100 MB model then costs a fraction of loading it. States
signed before manifests (an HMAC-SHA256 of the bytes themselves) are still accepted.

Signing uses :class:`itsdangerous.Signer` (what Flask signs its sessions with): it derives one key
per purpose from the secret key (``key_derivation="hmac"``), so a signed job payload is no valid
model state and a state signed for one op and version is no valid state of another; it checks
in constant time; and it takes a list of keys, the newest signing and every one verifying, which
is key rotation.

Where the key comes from, first found wins:

1. the ``secret_key=`` argument (``secret_key`` in the YAML configuration);
2. the ``CHARIOTS_SECRET_KEY`` environment variable (older keys still accepted in
   ``CHARIOTS_OLD_SECRET_KEYS``, comma separated);
3. for an op store embedded in a folder (``Chariots(pipelines, app_path)``), the file
   ``secret_key`` in that folder, created once with mode 0600;
4. otherwise the file named by ``CHARIOTS_SECRET_KEY_FILE``, by default
   ``~/.config/chariots/secret_key``, created once with mode 0600: every process of this user on
   this machine shares it. Processes on other machines need the key configured.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from typing import TYPE_CHECKING, BinaryIO, Dict, Iterable, Optional, Sequence, Tuple, Union

from chariots._manifest import (
    HMAC_MARK,
    HMAC_TAIL_BYTES,
    STATE_TAIL_BYTES,
    encode_tail,
    hmac_signature,
    looks_signed,
    manifest,
    new_nonce,
    parse_tail,
)
from chariots.errors import ConfigError, SignatureError

if TYPE_CHECKING:
    from itsdangerous import Signer

__all__ = [
    "SigningKeys", "KeySource", "SECRET_KEY_ENV", "OLD_SECRET_KEYS_ENV", "SECRET_KEY_FILE_ENV", "KEY_FILE_NAME",
    "state_purpose", "JOB_PURPOSE",
]

SECRET_KEY_ENV = "CHARIOTS_SECRET_KEY"
OLD_SECRET_KEYS_ENV = "CHARIOTS_OLD_SECRET_KEYS"
SECRET_KEY_FILE_ENV = "CHARIOTS_SECRET_KEY_FILE"
#: the key file's name in an embedded op store's folder
KEY_FILE_NAME = "secret_key"
#: what RQ jobs (payloads, meta, results) are signed for
JOB_PURPOSE = "chariots.rq-job"
_MIN_KEY_LENGTH = 16

KeyArgument = Union[str, bytes, None]


def state_purpose(op_name: str, version: object) -> str:
    """What the bytes of one state are signed for: the op's name and the version's three hashes
    (what the store keys bytes by; the creation time is not part of a version's identity)."""
    parts = [getattr(version, part, None) for part in ("major", "minor", "patch")]
    identity = "_".join(map(str, parts)) if None not in parts else str(version)
    return f"chariots.op-state\x00{op_name}\x00{identity}"


def _state_name(op_name: str, version: object) -> str:
    return f"version {str(getattr(version, 'major', version))[:5]} of op {op_name!r}"


def check_key(key: KeyArgument, what: str) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise ConfigError(f"{what} must be a string, got {type(key).__name__}")
    key = bytes(key).strip()
    if len(key) < _MIN_KEY_LENGTH:
        raise ConfigError(
            f"{what} is {'empty' if not key else 'too short'}: a secret key needs at least {_MIN_KEY_LENGTH} "
            "characters; generate one with `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`"
        )
    return key


def default_key_file() -> str:
    """The per-user key file (``CHARIOTS_SECRET_KEY_FILE``, else ``~/.config/chariots/secret_key``)."""
    configured = os.environ.get(SECRET_KEY_FILE_ENV)
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "chariots", KEY_FILE_NAME)


def read_or_create_key_file(path: str) -> bytes:
    """The key in ``path``, written there first (mode 0600, atomically) when the file does not exist."""
    for _ in range(2):
        try:
            with open(path, "rb") as key_file:
                return check_key(key_file.read(), f"the secret key file {path}")
        except FileNotFoundError:
            pass
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        temporary = os.path.join(folder, f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as key_file:
                key_file.write(secrets.token_urlsafe(48).encode("ascii"))
            try:
                os.link(temporary, path)  # fails if another process created it meanwhile: read theirs
            except FileExistsError:
                pass
        finally:
            os.unlink(temporary)
    raise ConfigError(f"cannot read or create the secret key file {path}")  # pragma: no cover


class SigningKeys:
    """The secret key signing new blobs and the older keys still accepted when checking one.

    It never leaves the process: it refuses to be pickled, and its ``repr`` shows no key.

    :param secret_key: the key signing (at least 16 characters)
    :param old_secret_keys: keys of earlier rotations, still accepted when checking
    :param source: where the key came from, for messages (``'CHARIOTS_SECRET_KEY'``)
    :raises ConfigError: for an empty or short key
    """

    def __init__(self, secret_key: KeyArgument, old_secret_keys: Iterable[KeyArgument] = (),
                 source: str = "secret_key"):
        self._current = check_key(secret_key, source)
        self._old = [check_key(key, f"an old secret key ({source})") for key in old_secret_keys]
        self.source = source
        self._signers: Dict[str, "Signer"] = {}
        self._lock = threading.Lock()

    @classmethod
    def resolve(
        cls,
        secret_key: KeyArgument = None,
        old_secret_keys: Optional[Sequence[KeyArgument]] = None,
        key_dir: Optional[str] = None,
    ) -> "SigningKeys":
        """The keys to use (see the module doc for the order).

        :param secret_key: the key given explicitly
        :param old_secret_keys: older keys given explicitly (else ``CHARIOTS_OLD_SECRET_KEYS``)
        :param key_dir: an embedded store's folder, whose ``secret_key`` file is used (and created)
        """
        environ_old = [key for key in os.environ.get(OLD_SECRET_KEYS_ENV, "").split(",") if key.strip()]
        old = list(old_secret_keys) if old_secret_keys is not None else environ_old
        if secret_key is not None:
            return cls(secret_key, old, "secret_key")
        if os.environ.get(SECRET_KEY_ENV) is not None:
            return cls(os.environ[SECRET_KEY_ENV], old, SECRET_KEY_ENV)
        path = os.path.join(key_dir, KEY_FILE_NAME) if key_dir is not None else default_key_file()
        return cls(read_or_create_key_file(path), old, f"the key file {path}")

    @property
    def fingerprint(self) -> str:
        """a short, non-secret id of the signing key (the first 8 hex digits of its SHA-256)"""
        return hashlib.sha256(b"chariots-key-id" + self._current).hexdigest()[:8]

    def _signer(self, purpose: str) -> "Signer":
        signer = self._signers.get(purpose)
        if signer is None:
            from itsdangerous import Signer

            with self._lock:
                # itsdangerous signs with the last key and accepts any of them
                signer = Signer([*reversed(self._old), self._current], salt=purpose, sep=HMAC_MARK,
                                key_derivation="hmac", digest_method=hashlib.sha256)
                if len(self._signers) < 4096:  # one per op state at most: keep the cache bounded
                    self._signers[purpose] = signer
        return signer

    def sign(self, purpose: str, data: bytes) -> bytes:
        """``data`` followed by its signature for ``purpose``."""
        return self._signer(purpose).sign(data)

    def unsign(self, purpose: str, blob: Union[bytes, bytearray, memoryview], what: str) -> bytes:
        """The data of a blob signed by :meth:`sign` for ``purpose`` under one of the accepted keys.

        The check is itsdangerous' own (its key derivation, its HMAC-SHA256 and constant-time
        comparison, every accepted key), run on a view of the data rather than on a copy.

        :param what: the blob, for the message (``"job 1234"``)
        :raises SignatureError: if the blob carries no signature, or one no accepted key made
        """
        view = memoryview(blob).cast("B")
        if self._hmac_checks(purpose, view):
            return view[:len(view) - HMAC_TAIL_BYTES].tobytes()
        raise self._refused(blob, what)

    def _hmac_checks(self, purpose: str, view: memoryview) -> bool:
        """Whether ``view`` ends with an HMAC-SHA256 of the rest, for ``purpose``, under an accepted key."""
        signature = hmac_signature(view)
        return signature is not None and self._signer(purpose).verify_signature(
            view[:len(view) - HMAC_TAIL_BYTES], signature)

    def _refused(self, blob: Union[bytes, bytearray, memoryview], what: str) -> SignatureError:
        signed = looks_signed(blob)
        why = "is signed with a key this process does not accept" if signed else "carries no signature"
        return SignatureError(
            f"{what} is refused: it {why} (accepted: the key from {self.source} and {len(self._old)} old "
            "key(s)). Only bytes a Chariots process holding the secret key wrote are loaded: give every "
            "process the same CHARIOTS_SECRET_KEY (or secret_key), list rotated keys in "
            "CHARIOTS_OLD_SECRET_KEYS, and write it again (save the op, send the job)"
        )

    def _state_signers(self, op_name: str, version: object) -> Tuple["Signer", "Signer"]:
        # one purpose deriving the chunks' key, another signing the manifest: a key for one is none for the other
        purpose = state_purpose(op_name, version)
        return self._signer(purpose + "\x00chunks"), self._signer(purpose + "\x00manifest")

    def sign_state(self, op_name: str, version: object, data: Union[bytes, bytearray, memoryview]) -> bytes:
        """The bytes of a state as the op store keeps them: its data, then the signature of its
        manifest for that op and version (see :mod:`chariots._manifest`)."""
        chunks, manifests = self._state_signers(op_name, version)
        nonce = new_nonce()
        signature = manifests.get_signature(manifest(chunks.derive_key(), nonce, data))
        return b"".join([data, encode_tail(nonce, signature)])

    def _manifest_checks(self, op_name: str, version: object, data: Union[bytes, memoryview], nonce: bytes,
                         signature: bytes) -> bool:
        from itsdangerous import BadData, base64_decode

        chunks, manifests = self._state_signers(op_name, version)
        try:
            expected = base64_decode(signature)
        except BadData:
            return False
        for secret in reversed(chunks.secret_keys):  # the newest key first: the manifest depends on the key
            body = manifest(chunks.derive_key(secret), nonce, data)
            if hmac.compare_digest(manifests.algorithm.get_signature(manifests.derive_key(secret), body), expected):
                return True
        return False

    def unsign_state(self, op_name: str, version: object, blob: Union[bytes, bytearray, memoryview]) -> bytes:
        """The bytes of a stored state, once its signature checks (a manifest signature, or the
        HMAC-SHA256 of the bytes of a state signed before manifests).

        :raises SignatureError: naming the op and version when it does not
        """
        view = memoryview(blob).cast("B")
        nonce_signature = parse_tail(bytes(view[-STATE_TAIL_BYTES:]))
        if nonce_signature is not None:
            data = view[:len(view) - STATE_TAIL_BYTES]
            if self._manifest_checks(op_name, version, data, *nonce_signature):
                return data.tobytes()
        elif self._hmac_checks(state_purpose(op_name, version), view):
            return view[:len(view) - HMAC_TAIL_BYTES].tobytes()
        raise self._refused(blob, _state_name(op_name, version))

    def unsign_state_parts(self, op_name: str, version: object, data: bytes, tail: bytes) -> bytes:
        """``data``, once the signature ``tail`` read apart from it (the blob's last
        :data:`~chariots._manifest.STATE_TAIL_BYTES`) checks: the data is not copied to strip the
        signature. With an empty ``tail``, ``data`` is the whole signed blob; another tail (a state
        signed before manifests) is checked on the blob rejoined.

        :raises SignatureError: naming the op and version when it does not
        """
        nonce_signature = parse_tail(tail)
        if nonce_signature is None:  # no tail read apart (the blob is whole), or an earlier signature
            return self.unsign_state(op_name, version, b"".join([data, tail]) if tail else data)
        if self._manifest_checks(op_name, version, data, *nonce_signature):
            return data
        raise self._refused(tail, _state_name(op_name, version))

    def unsign_state_file(self, op_name: str, version: object, stream: BinaryIO) -> bytes:
        """:meth:`unsign_state` for a stored state read from a file: its data is read straight
        into the bytes returned (the file's size is known), its signature apart. Streams that are
        not files of a known size are read whole.

        :raises SignatureError: naming the op and version when it does not
        """
        try:
            size = os.fstat(stream.fileno()).st_size - stream.tell()
        except (AttributeError, OSError, ValueError):
            size = -1
        if size < STATE_TAIL_BYTES:
            return self.unsign_state(op_name, version, stream.read())
        data = stream.read(size - STATE_TAIL_BYTES)
        tail = stream.read(STATE_TAIL_BYTES + 1)  # one byte more: a file that grew is not taken as signed
        if len(data) != size - STATE_TAIL_BYTES or len(tail) != STATE_TAIL_BYTES:
            return self.unsign_state(op_name, version, data + tail + stream.read())
        return self.unsign_state_parts(op_name, version, data, tail)

    def environment(self) -> Dict[str, str]:
        """The environment variables giving these keys to a child process."""
        env = {SECRET_KEY_ENV: self._current.decode("utf-8", "surrogateescape")}
        env[OLD_SECRET_KEYS_ENV] = ",".join(key.decode("utf-8", "surrogateescape") for key in self._old)
        return env

    def __reduce__(self):
        raise TypeError("SigningKeys never leave their process (they are not pickled into jobs or files)")

    def __repr__(self) -> str:
        return f"<SigningKeys from {self.source}, key id {self.fingerprint}, {len(self._old)} old key(s)>"


class KeySource:
    """Keys resolved on first use (a constructor stores, it does not read files or the environment).

    :param secret_key: the key given explicitly, or None
    :param old_secret_keys: older keys given explicitly, or None
    :param key_dir: an embedded store's folder, or None
    """

    def __init__(self, secret_key: KeyArgument = None, old_secret_keys: Optional[Sequence[KeyArgument]] = None,
                 key_dir: Optional[str] = None):
        if secret_key is not None:
            check_key(secret_key, "secret_key")  # an empty key fails at once
        self._arguments = (secret_key, None if old_secret_keys is None else list(old_secret_keys), key_dir)
        self._keys: Optional[SigningKeys] = None

    @property
    def keys(self) -> SigningKeys:
        """the resolved keys"""
        if self._keys is None:
            self._keys = SigningKeys.resolve(*self._arguments)
        return self._keys

    def __reduce__(self):
        raise TypeError("secret keys never leave their process (they are not pickled into jobs or files)")

    def __repr__(self) -> str:
        return "<KeySource>" if self._keys is None else repr(self._keys)


def state_data(blob: Union[bytes, bytearray, memoryview]) -> memoryview:
    """The data of a signed state without its signature tail (the whole blob when it carries no
    tail of ours): two uploads of one state under one version differ only there (a nonce, a key),
    so the op store compares this part to tell "the same state again" from "other bytes"."""
    view = memoryview(blob).cast("B")
    if parse_tail(bytes(view[-STATE_TAIL_BYTES:])) is not None:
        return view[:len(view) - STATE_TAIL_BYTES]
    if hmac_signature(view) is not None:
        return view[:len(view) - HMAC_TAIL_BYTES]
    return view
