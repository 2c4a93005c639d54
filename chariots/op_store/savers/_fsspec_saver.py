"""A saver on any fsspec file system: ``s3://``, ``gs://``, ``az://``, ``memory://``, ``file://``...
(needs ``pip install chariots[fsspec]``, plus the protocol's own package: s3fs, gcsfs, adlfs)."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import threading
from typing import Any, BinaryIO, Iterator, Mapping, Optional, Tuple

from chariots._wire import with_public_message
from chariots.errors import ChariotsError, MissingExtraError, SaverError, ServiceUnavailableError
from chariots.op_store.savers._base_saver import CHUNK_SIZE, BaseSaver, check_size

#: a user and password written into a URL (``s3://key:secret@bucket``), never shown
_USERINFO = re.compile(r"(?<=://)[^/@]*@")
#: the blocks written and read at once (object stores' multipart uploads need at least 5 MiB)
_BLOCK_SIZE = 8 * CHUNK_SIZE
#: the saver path of a version's bytes (``ops/<op name>/<major>_<minor>_<patch>``), named in errors
_OP_PATH = re.compile(r"^/?ops/(?P<op>[^/]+)/(?P<major>[0-9a-f]{40})_[0-9a-f]{40}_[0-9a-f]{40}$")


class FsspecSaver(BaseSaver):
    """A saver writing under a URL of any `fsspec <https://filesystem-spec.readthedocs.io>`_ file
    system.

    The protocol's package is imported, and the file system built, on first use. Every write is
    streamed (a model is never held whole in memory by the saver) and committed only once all its
    bytes are written: on object stores (S3, GCS, Azure) an object appears when its upload
    completes, and on local files it is written to a temporary file and moved into place, so a
    failed save never leaves truncated bytes behind a version. The file system's errors are
    wrapped, naming the op and version: a store that cannot be reached is a
    :class:`~chariots.errors.ServiceUnavailableError` (the servers answer 503), any other failure
    a :class:`~chariots.errors.SaverError`; a missing object stays a ``FileNotFoundError``.

    >>> saver = FsspecSaver("memory://chariots-doc/ops")
    >>> saver.save(b"model bytes", "ops/my_op/state")
    True
    >>> saver.load("ops/my_op/state")
    b'model bytes'

    :param url: where the saver's root is, with its protocol (``'s3://bucket/prefix'``,
                ``'memory://name'``, ``'file:///var/models'``; a plain path is a local folder)
    :param storage_options: keyword arguments of the protocol's file system (s3fs'
                            ``client_kwargs``, gcsfs' ``project`` ...); never shown in messages
    :raises ValueError: if ``url`` is not a non-empty string
    """

    def __init__(self, url: str, storage_options: Optional[Mapping[str, Any]] = None):
        if not isinstance(url, str) or not url.strip():
            raise ValueError(f"FsspecSaver needs a URL such as 's3://bucket/prefix' or 'memory://name', got {url!r}")
        super().__init__(url)
        self.url = url
        self.storage_options = dict(storage_options or {})
        self._filesystem: Any = None
        self._root = ""
        self._lock = threading.Lock()

    def __reduce__(self):
        return type(self), (self.url, self.storage_options)

    @property
    def filesystem(self) -> Any:
        """the fsspec file system (built on first use)

        :raises MissingExtraError: if fsspec, or the package of the URL's protocol, is missing
        """
        return self._file_system()[0]

    def _file_system(self) -> Tuple[Any, str]:
        if self._filesystem is None:
            with self._lock:
                if self._filesystem is None:
                    try:
                        from fsspec.core import url_to_fs
                    except ImportError as exc:
                        raise MissingExtraError("fsspec", "fsspec") from exc
                    try:
                        filesystem, root = url_to_fs(self.url, **self.storage_options)
                    except ImportError as exc:  # fsspec names the package of the protocol
                        extra = "s3" if self.url.startswith(("s3://", "s3a://")) else "fsspec"
                        raise MissingExtraError(
                            f"{self!r} cannot open its file system: {exc} (for S3: `pip install chariots[{extra}]`)"
                        ) from exc
                    self._root = root.rstrip("/")
                    self._filesystem = filesystem
        return self._filesystem, self._root

    def _full_path(self, path: str) -> str:
        parts = self.relative_parts(path)
        root = self._file_system()[1]
        return "/".join([root, *parts]) if root else "/".join(parts)

    def save(self, serialized_object: bytes, path: str) -> bool:
        """Writes bytes to ``url/path``.

        :raises InvalidNameError: if the path could escape the root
        :raises ServiceUnavailableError: if the store cannot be reached
        :raises SaverError: if the store refused the write
        """
        return self.save_stream(io.BytesIO(memoryview(serialized_object)), path, size=len(serialized_object))

    def save_stream(self, stream: BinaryIO, path: str, size: Optional[int] = None) -> bool:
        """Copies a binary stream to ``url/path`` one chunk at a time, committed once complete.

        :param size: the number of bytes the stream should yield, checked (before the commit) when given
        :raises ValueError: if the stream yields a different number of bytes than ``size``
        :raises ServiceUnavailableError: if the store cannot be reached
        :raises SaverError: if the store refused the write
        """
        full_path = self._full_path(path)
        filesystem = self.filesystem
        with self._wrapped("save", path):
            parent = full_path.rpartition("/")[0]
            if parent and "file" in _protocols(filesystem):  # object stores have no folders to make
                filesystem.makedirs(parent, exist_ok=True)
            file = filesystem.open(full_path, "wb", block_size=_BLOCK_SIZE, autocommit=False)
            try:
                received = 0
                while True:
                    chunk = stream.read(CHUNK_SIZE)
                    if not chunk:
                        break
                    file.write(chunk)
                    received += len(chunk)
                check_size(received, size, path)
                file.close()
                commit = getattr(file, "commit", None)
                if commit is not None:
                    commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    file.discard()
                raise
        return True

    def load(self, path: str) -> bytes:
        """Reads the bytes at ``url/path``.

        :raises FileNotFoundError: if nothing was saved there
        :raises ServiceUnavailableError: if the store cannot be reached
        """
        with self.open_stream(path) as stream:
            return stream.read()

    def open_stream(self, path: str) -> BinaryIO:
        """Downloads ``url/path`` one chunk at a time to a temporary local file, and returns that
        file opened at its start (deleted when closed): readers then read the bytes straight into
        their own buffer, so a model is never held twice in memory.

        :raises FileNotFoundError: if nothing was saved there
        :raises ServiceUnavailableError: if the store cannot be reached
        :returns: a readable binary file; the caller closes it
        """
        full_path = self._full_path(path)
        filesystem = self.filesystem
        local = tempfile.TemporaryFile(prefix="chariots-fsspec-")
        try:
            with self._wrapped("load", path), filesystem.open(full_path, "rb", block_size=_BLOCK_SIZE) as remote:
                buffer = bytearray(CHUNK_SIZE)
                view = memoryview(buffer)
                while True:
                    count = remote.readinto(view)
                    if not count:
                        break
                    local.write(view[:count])
            local.seek(0)
        except BaseException:
            local.close()
            raise
        return local

    def exists(self, path: str) -> bool:
        """Whether an object exists at ``url/path``.

        :raises ServiceUnavailableError: if the store cannot be reached
        """
        full_path = self._full_path(path)
        filesystem = self.filesystem
        with self._wrapped("look up", path):
            return bool(filesystem.isfile(full_path))

    @contextlib.contextmanager
    def _wrapped(self, action: str, path: str) -> Iterator[None]:
        """Re-raises the file system's errors as Chariots' own, naming the op and version."""
        try:
            yield
        except ChariotsError:
            raise
        except FileNotFoundError as exc:
            if action != "save":  # nothing there: the op store says which version lacks its bytes
                raise
            raise self._failure(action, path, exc) from exc  # a bucket or folder that is not there
        except ValueError as exc:
            if "expected" in str(exc) and "bytes but received" in str(exc):  # check_size: the upload was cut
                raise
            raise self._failure(action, path, exc) from exc
        except Exception as exc:
            raise self._failure(action, path, exc) from exc

    def _failure(self, action: str, path: str, exc: BaseException) -> ChariotsError:
        what = describe_path(path)
        reason = f"{type(exc).__name__}: {exc}"
        if unreachable(exc):
            return with_public_message(ServiceUnavailableError(
                f"{self!r} could not {action} {what}: its store cannot be reached ({reason}); "
                "nothing was recorded, try again once it is back"
            ), f"the op store's saver could not {action} {what}: its store cannot be reached")
        return with_public_message(SaverError(f"{self!r} could not {action} {what}: {reason}"),
                                   f"the op store's saver could not {action} {what}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_USERINFO.sub('', self.url)!r})"


def describe_path(path: str) -> str:
    """How an error names a saver path: ``version 94e72 of op 'iris_rf' (ops/iris_rf/...)`` for the
    bytes of an op version, the path itself otherwise."""
    match = _OP_PATH.match(path) if isinstance(path, str) else None
    if match is None:
        return repr(path)
    return f"version {match['major'][:5]} of op {match['op']!r} ({path.lstrip('/')})"


def unreachable(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) says the store could not be reached: the
    built-in ``ConnectionError`` and ``TimeoutError``, and the plugins' own connection errors
    (botocore's ``EndpointConnectionError``, aiohttp's ``ClientConnectorError``...)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        if any("Connect" in cls.__name__ or "Timeout" in cls.__name__ for cls in type(exc).__mro__):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _protocols(filesystem: Any) -> Tuple[str, ...]:
    protocol = filesystem.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
