"""Signed blobs: every byte string a Chariots process writes to the op store or to Redis carries
a signature, checked before anything unpickles it.

A blob (a model state, a job's payload, meta or result) ends with the keyed BLAKE3 of its bytes
under a key derived for its purpose, and the id of the key that signed it (see
:mod:`chariots._mac`): a signed job payload is no valid model state, a state signed for one op and
version is no valid state of another, and a check is one pass under the key the id names. Blobs
signed by earlier releases (an HMAC-SHA256 of the bytes, or of a manifest of AES-GMAC tags: see
:mod:`chariots._manifest`) are still accepted, in their one canonical spelling.

Key rotation: one key signs, older keys are still accepted when checking.

Where the key comes from, first found wins:

1. the ``secret_key=`` argument (``secret_key`` in the YAML configuration);
2. the ``CHARIOTS_SECRET_KEY`` environment variable (older keys still accepted in
   ``CHARIOTS_OLD_SECRET_KEYS``, comma separated);
3. for an op store embedded in a folder (``Chariots(pipelines, app_path)``), that store's own key
   file, kept *outside* the folder so that write access to the store's files is no way to sign:
   ``stores/<folder name>-<digest of its path>`` under the user's key folder
   (``CHARIOTS_KEY_HOME``, else ``$XDG_CONFIG_HOME/chariots``, else ``~/.config/chariots``),
   created once with mode 0600;
4. otherwise the file named by ``CHARIOTS_SECRET_KEY_FILE``, by default ``secret_key`` in the
   user's key folder, created once with mode 0600: every process of this user on this machine
   shares it. Processes on other machines need the key configured.

A key file is used only when no one else can read or change it: owned by this user, no group or
other permission bits, in a folder that only its owner can write; otherwise it is refused with the
``chmod`` (or ``chown``) to run. A key file left in an embedded store's folder by an earlier
release is never used (anyone who could write the folder could have put it there): the store
refuses to start with the command that moves it out, once its owner has checked it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from typing import TYPE_CHECKING, BinaryIO, Dict, Iterable, Optional, Sequence, Union

from chariots import _mac
from chariots._manifest import HMAC_MARK, HMAC_TAIL_BYTES, hmac_signature, looks_signed_before, manifest
from chariots._manifest import STATE_TAIL_BYTES as _MANIFEST_TAIL_BYTES
from chariots._manifest import parse_tail as parse_manifest_tail
from chariots.errors import ConfigError, SignatureError

if TYPE_CHECKING:
    from itsdangerous import Signer

__all__ = [
    "SigningKeys", "KeySource", "SECRET_KEY_ENV", "OLD_SECRET_KEYS_ENV", "SECRET_KEY_FILE_ENV", "KEY_FILE_NAME",
    "state_purpose", "JOB_PURPOSE", "STATE_TAIL_BYTES", "looks_signed", "KEY_HOME_ENV", "key_home",
    "store_key_file", "check_key_file",
]

#: the bytes a state's signature takes at its end (read apart from the data by the HTTP client):
#: a tail of the current scheme, and of the manifest format before it, are this long
STATE_TAIL_BYTES = _mac.TAIL_BYTES
assert STATE_TAIL_BYTES == _MANIFEST_TAIL_BYTES, "one read of a state's tail must fit both formats"

SECRET_KEY_ENV = "CHARIOTS_SECRET_KEY"
OLD_SECRET_KEYS_ENV = "CHARIOTS_OLD_SECRET_KEYS"
SECRET_KEY_FILE_ENV = "CHARIOTS_SECRET_KEY_FILE"
#: the environment variable naming the user's key folder
KEY_HOME_ENV = "CHARIOTS_KEY_HOME"
#: the name of the per-user key file, and of the file an earlier release kept in a store's folder
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


def looks_signed(blob: Union[bytes, bytearray, memoryview]) -> bool:
    """Whether a blob ends with something shaped like a signature, of any format (whoever made it)."""
    view = memoryview(blob).cast("B")
    return _mac.parse_tail(view[-_mac.TAIL_BYTES:]) is not None or looks_signed_before(view)


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


def key_home() -> str:
    """The user's key folder (``CHARIOTS_KEY_HOME``, else ``$XDG_CONFIG_HOME/chariots``, else
    ``~/.config/chariots``)."""
    configured = os.environ.get(KEY_HOME_ENV)
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "chariots")


def default_key_file() -> str:
    """The per-user key file (``CHARIOTS_SECRET_KEY_FILE``, else ``secret_key`` in :func:`key_home`)."""
    configured = os.environ.get(SECRET_KEY_FILE_ENV)
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(key_home(), KEY_FILE_NAME)


def store_key_file(store_path: str) -> str:
    """The key file of the op store embedded in ``store_path``: in the user's key folder, named
    after the folder and a digest of its absolute path (so two stores never share one)."""
    absolute = os.path.realpath(os.path.abspath(store_path))
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(absolute))[:40] or "root"
    digest = hashlib.sha256(absolute.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(key_home(), "stores", f"{name.lstrip('.') or 'store'}-{digest}")


def check_key_file(path: str, descriptor: Optional[int] = None) -> None:
    """Refuses a key file others could read or change: not this user's, any group or other
    permission bit, or a folder group or others can write.

    :raises ConfigError: naming the file and the command that fixes it
    """
    status = os.fstat(descriptor) if descriptor is not None else os.stat(path)
    folder = os.path.dirname(os.path.abspath(path))
    folder_status = os.stat(folder)
    owner = os.geteuid()
    if status.st_uid != owner:
        raise ConfigError(f"the secret key file {path} belongs to another user (uid {status.st_uid}): whoever owns it "
                          f"can sign what this process loads; run `chown {owner} {path}` if you trust it, or remove it")
    if status.st_mode & 0o077:
        raise ConfigError(f"the secret key file {path} is open to others (mode {oct(status.st_mode & 0o777)}): "
                          f"anyone who can read it can sign what this process loads; run `chmod 600 {path}`")
    if folder_status.st_mode & 0o022 or folder_status.st_uid not in (owner, 0):
        raise ConfigError(f"the secret key file {path} is in a folder others can write ({folder}, mode "
                          f"{oct(folder_status.st_mode & 0o777)}): they could replace the key; run `chmod go-w "
                          f"{folder}` (or keep the key in a folder of your own)")


def read_or_create_key_file(path: str) -> bytes:
    """The key in ``path``, written there first (mode 0600, atomically) when the file does not exist.

    :raises ConfigError: if the file or its folder is open to others (see :func:`check_key_file`)
    """
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            pass
        except OSError as error:  # a symbolic link (O_NOFOLLOW), or no permission
            raise ConfigError(f"cannot read the secret key file {path}: {error.strerror}; a key file is a plain file "
                              "of its owner's, mode 0600") from None
        else:
            with os.fdopen(descriptor, "rb") as key_file:
                check_key_file(path, key_file.fileno())
                return check_key(key_file.read(), f"the secret key file {path}")
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        check_folder = os.stat(folder)
        if check_folder.st_mode & 0o022:
            raise ConfigError(f"cannot create the secret key file {path} in {folder}, a folder others can write (mode "
                              f"{oct(check_folder.st_mode & 0o777)}): run `chmod go-w {folder}`, or set "
                              f"{SECRET_KEY_FILE_ENV} to a file in a folder of your own")
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


def refuse_a_key_in_the_store(store_path: str, key_file: str) -> None:
    """Refuses to start an embedded store whose folder holds a key file (an earlier release kept
    its key there): anyone who can write the folder could have written it, so it is never used.

    :raises ConfigError: with the command that moves it out (or removes it, when the store has
                         its own key file already)
    """
    planted = os.path.join(os.path.abspath(store_path), KEY_FILE_NAME)
    if not os.path.lexists(planted):
        return
    if os.path.exists(key_file):
        fix = f"this store's key is {key_file}; remove the old one: `rm {planted}`"
    else:
        folder = os.path.dirname(key_file)
        fix = (f"if you (not someone who can write the store's folder) wrote it, move it out: `mkdir -p -m 700 "
               f"{folder} && mv {planted} {key_file} && chmod 600 {key_file}`; otherwise remove it")
    raise ConfigError(f"the embedded op store at {store_path} holds a key file in its own folder ({planted}), where "
                      f"anyone who can write the store could replace it, and it is not used: {fix}")


class SigningKeys:
    """The secret key signing new blobs and the older keys still accepted when checking one.

    A blob is signed with keyed BLAKE3 under a key derived for its purpose, and its tail names
    the id of the key that signed it (see :mod:`chariots._mac`): checking one is a single pass
    under the key its id picks, however many old keys are accepted. Blobs signed by earlier
    releases (an HMAC-SHA256 of the bytes, or of a manifest: :mod:`chariots._manifest`) are still
    checked, under each accepted key in turn.

    It never leaves the process: it refuses to be pickled, and its ``repr`` shows no key.

    :param secret_key: the key signing (at least 16 characters)
    :param old_secret_keys: keys of earlier rotations, still accepted when checking
    :param source: where the key came from, for messages (``'CHARIOTS_SECRET_KEY'``)
    :param public_source: where it came from as errors that may reach any client say it (no path:
                          ``'a key file'``; by default ``source``)
    :raises ConfigError: for an empty or short key
    """

    def __init__(self, secret_key: KeyArgument, old_secret_keys: Iterable[KeyArgument] = (),
                 source: str = "secret_key", public_source: Optional[str] = None):
        self._current = check_key(secret_key, source)
        self._old = [check_key(key, f"an old secret key ({source})") for key in old_secret_keys]
        self.source = source
        self.public_source = public_source or source
        # the root key of every accepted secret, by key id: the id in a tail picks the one to check with
        self._roots: Dict[bytes, bytes] = {_mac.key_id(key): _mac.root_key(key) for key in [*self._old, self._current]}
        self._id = _mac.key_id(self._current)
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
        :param key_dir: an embedded store's folder, whose own key file is used (and created)
        """
        environ_old = [key for key in os.environ.get(OLD_SECRET_KEYS_ENV, "").split(",") if key.strip()]
        old = list(old_secret_keys) if old_secret_keys is not None else environ_old
        if secret_key is not None:
            return cls(secret_key, old, "secret_key")
        if os.environ.get(SECRET_KEY_ENV) is not None:
            return cls(os.environ[SECRET_KEY_ENV], old, SECRET_KEY_ENV)
        if key_dir is not None:
            path = store_key_file(key_dir)
            refuse_a_key_in_the_store(key_dir, path)
        else:
            path = default_key_file()
        return cls(read_or_create_key_file(path), old, f"the key file {path}", "a key file")

    @property
    def fingerprint(self) -> str:
        """the id of the signing key, as every tail it signs names it (16 hex digits, not secret)"""
        return self._id.hex()

    def _signer(self, purpose: str) -> "Signer":
        # the earlier formats' HMAC-SHA256, checked with itsdangerous (never used to sign)
        signer = self._signers.get(purpose)
        if signer is None:
            from itsdangerous import Signer

            with self._lock:
                signer = Signer([*reversed(self._old), self._current], salt=purpose, sep=HMAC_MARK,
                                key_derivation="hmac", digest_method=hashlib.sha256)
                if len(self._signers) < 4096:  # one per op state at most: keep the cache bounded
                    self._signers[purpose] = signer
        return signer

    def sign(self, purpose: str, data: Union[bytes, bytearray, memoryview]) -> bytes:
        """``data`` followed by its signature for ``purpose`` (see :mod:`chariots._mac`)."""
        return b"".join([data, _mac.encode_tail(_mac.purpose_key(self._roots[self._id], purpose), self._id, data)])

    def _mac_checks(self, purpose: str, data: Union[bytes, memoryview], tail: bytes) -> bool:
        """Whether ``tail``, a tail of the current scheme, signs ``data`` for ``purpose`` under the
        accepted key its id names (one pass, under that key only)."""
        parsed = _mac.parse_tail(tail)
        root = self._roots.get(parsed[1]) if parsed is not None else None
        return root is not None and _mac.tag_checks(_mac.purpose_key(root, purpose), data, tail)

    def unsign(self, purpose: str, blob: Union[bytes, bytearray, memoryview], what: str) -> bytes:
        """The data of a blob signed by :meth:`sign` for ``purpose`` under one of the accepted keys
        (or by an earlier release, with an HMAC-SHA256 of its bytes), checked on a view of the
        blob rather than on a copy.

        :param what: the blob, for the message (``"job 1234"``)
        :raises SignatureError: if the blob carries no signature, or one no accepted key made
        """
        view = memoryview(blob).cast("B")
        cut = len(view) - _mac.TAIL_BYTES
        if cut >= 0 and _mac.parse_tail(view[cut:]) is not None:
            if self._mac_checks(purpose, view[:cut], bytes(view[cut:])):
                return view[:cut].tobytes()
        elif self._hmac_checks(purpose, view):
            return view[:len(view) - HMAC_TAIL_BYTES].tobytes()
        raise self._refused(blob, what)

    def _hmac_checks(self, purpose: str, view: memoryview) -> bool:
        """Whether ``view`` ends with an HMAC-SHA256 of the rest, for ``purpose``, under an accepted
        key (the first format; its base64 in its one canonical spelling)."""
        signature = hmac_signature(view)
        return signature is not None and self._signer(purpose).verify_signature(
            view[:len(view) - HMAC_TAIL_BYTES], signature)

    def _refused(self, blob: Union[bytes, bytearray, memoryview], what: str) -> SignatureError:
        signed = looks_signed(blob)
        why = "is signed with a key this process does not accept" if signed else "carries no signature"
        parsed = _mac.parse_tail(memoryview(blob).cast("B")[-_mac.TAIL_BYTES:])
        if parsed is not None and parsed[1] not in self._roots:
            why += f" (key id {parsed[1].hex()})"
        return SignatureError(
            # a refusal reaches clients and open routes (/ready): it names no path, the key id instead
            f"{what} is refused: it {why} (accepted: the key from {self._public_key_name} and {len(self._old)} old "
            "key(s)). Only bytes a Chariots process holding the secret key wrote are loaded: give every process the "
            "same CHARIOTS_SECRET_KEY (or secret_key), list rotated keys in CHARIOTS_OLD_SECRET_KEYS, and write it "
            "again (save the op, send the job)"
        )

    @property
    def _public_key_name(self) -> str:
        if self.public_source == self.source:
            return self.source
        return f"{self.public_source} (key id {self.fingerprint})"

    def sign_state(self, op_name: str, version: object, data: Union[bytes, bytearray, memoryview]) -> bytes:
        """The bytes of a state as the op store keeps them: its data, then its signature for that op
        and version."""
        return self.sign(state_purpose(op_name, version), data)

    def _manifest_checks(self, op_name: str, version: object, data: Union[bytes, memoryview], tail: bytes) -> bool:
        """Whether ``tail``, a manifest tail (the second format), signs ``data`` under an accepted key."""
        from itsdangerous import base64_decode

        nonce_signature = parse_manifest_tail(tail)
        if nonce_signature is None:
            return False
        nonce, signature = nonce_signature
        purpose = state_purpose(op_name, version)
        chunks, manifests = self._signer(purpose + "\x00chunks"), self._signer(purpose + "\x00manifest")
        expected = base64_decode(signature)
        for secret in reversed(chunks.secret_keys):  # the newest key first: the manifest depends on the key
            body = manifest(chunks.derive_key(secret), nonce, data)
            if hmac.compare_digest(manifests.algorithm.get_signature(manifests.derive_key(secret), body), expected):
                return True
        return False

    def _state_tail_checks(self, op_name: str, version: object, data: Union[bytes, memoryview], tail: bytes
                           ) -> Optional[bool]:
        """Whether a tail of :data:`STATE_TAIL_BYTES` signs ``data``; None when it is none of the
        formats of that length (no signature, or the first format's shorter tail)."""
        if _mac.parse_tail(tail) is not None:
            return self._mac_checks(state_purpose(op_name, version), data, tail)
        if parse_manifest_tail(tail) is not None:
            return self._manifest_checks(op_name, version, data, tail)
        return None

    def unsign_state(self, op_name: str, version: object, blob: Union[bytes, bytearray, memoryview]) -> bytes:
        """The bytes of a stored state, once its signature checks (the current scheme, or one of the
        earlier formats).

        :raises SignatureError: naming the op and version when it does not
        """
        view = memoryview(blob).cast("B")
        cut = max(len(view) - STATE_TAIL_BYTES, 0)
        checks = self._state_tail_checks(op_name, version, view[:cut], bytes(view[cut:]))
        if checks:
            return view[:cut].tobytes()
        if checks is None and self._hmac_checks(state_purpose(op_name, version), view):
            return view[:len(view) - HMAC_TAIL_BYTES].tobytes()
        raise self._refused(blob, _state_name(op_name, version))

    def unsign_state_parts(self, op_name: str, version: object, data: bytes, tail: bytes) -> bytes:
        """``data``, once the signature ``tail`` read apart from it (the blob's last
        :data:`STATE_TAIL_BYTES`) checks: the data is not copied to strip the signature. With an
        empty ``tail``, ``data`` is the whole signed blob; another tail (the first format's, or
        none) is checked on the blob rejoined.

        :raises SignatureError: naming the op and version when it does not
        """
        checks = self._state_tail_checks(op_name, version, data, tail) if len(tail) == STATE_TAIL_BYTES else None
        if checks:
            return data
        if checks is None:  # no tail read apart (the blob is whole), or the first format's
            return self.unsign_state(op_name, version, b"".join([data, tail]) if tail else data)
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
    so the op store compares this part to tell "the same state again" from "other bytes" (a tail of
the current scheme, of the manifest format, or of the first format)."""
    view = memoryview(blob).cast("B")
    end = bytes(view[-STATE_TAIL_BYTES:])
    if _mac.parse_tail(end) is not None or parse_manifest_tail(end) is not None:
        return view[:len(view) - STATE_TAIL_BYTES]
    if hmac_signature(view) is not None:
        return view[:len(view) - HMAC_TAIL_BYTES]
    return view
