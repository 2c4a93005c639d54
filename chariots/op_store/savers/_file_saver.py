"""A saver writing to the local file system, atomically."""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO, List, Optional

from chariots.errors import InvalidNameError
from chariots.op_store.savers._base_saver import CHUNK_SIZE, BaseSaver, check_size

_TEMP_PREFIX = ".tmp-"


class FileSaver(BaseSaver):
    """A saver that persists to the local file system of the machine the op store runs on.

    Every write goes to a temporary file in the target's directory, is flushed to disk
    (``fsync``) and then renamed over the target (``os.replace``): a reader sees either the
    previous bytes or the new ones, and a crash mid-write never leaves a truncated file at
    the target path (at worst a ``.tmp-*`` file next to it).

    :param root_path: the directory under which the files are written (created if missing)
    """

    def __init__(self, root_path: str):
        super().__init__(os.fspath(root_path))

    def _full_path(self, path: str) -> str:
        parts = self.relative_parts(path)
        root = os.path.realpath(self.root_path)
        full_path = os.path.join(root, *parts)
        parent = os.path.realpath(os.path.dirname(full_path))
        if os.path.commonpath([root, parent]) != root:
            raise InvalidNameError(f"saver path {path!r} resolves outside the saver root {root!r}")
        return full_path

    def save(self, serialized_object: bytes, path: str) -> bool:
        """Saves bytes to ``root_path/path`` atomically.

        :param serialized_object: the bytes to persist
        :param path: where to save them, relative to the saver's root
        :raises InvalidNameError: if the path could escape the root
        :returns: True once the bytes are on disk
        """
        full_path = self._full_path(path)
        with _AtomicFile(full_path) as file:
            file.write(serialized_object)
        return True

    def save_stream(self, stream: BinaryIO, path: str, size: Optional[int] = None) -> bool:
        """Copies a binary stream to ``root_path/path`` atomically, one chunk at a time.

        :param stream: a readable binary file-like object
        :param path: where to save the bytes, relative to the saver's root
        :param size: the number of bytes the stream should yield, checked when given
        :raises ValueError: if the stream yields a different number of bytes than ``size``
        :returns: True once the bytes are on disk
        """
        full_path = self._full_path(path)
        with _AtomicFile(full_path) as file:
            received = 0
            while True:
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    break
                file.write(chunk)
                received += len(chunk)
            check_size(received, size, path)
        return True

    def load(self, path: str) -> bytes:
        """Loads the bytes of ``root_path/path``.

        :param path: where the bytes were saved, relative to the saver's root
        :raises FileNotFoundError: if the file does not exist
        :returns: the saved bytes
        """
        with open(self._full_path(path), "rb") as file:
            return file.read()

    def open_stream(self, path: str) -> BinaryIO:
        """Opens ``root_path/path`` for reading.

        :raises FileNotFoundError: if the file does not exist
        """
        return open(self._full_path(path), "rb")

    def exists(self, path: str) -> bool:
        """Whether ``root_path/path`` is a file."""
        return os.path.isfile(self._full_path(path))

    def sweep_temporary_files(self, stale_after: float = 300.0) -> List[str]:
        """Removes the ``.tmp-*`` files a killed write left under the root (the op store's start
        calls it).

        A file written to within ``stale_after`` seconds is kept: another process of the store
        may be writing it now.

        :returns: the removed paths
        """
        import time

        removed = []
        limit = time.time() - stale_after
        for directory, _, files in os.walk(self.root_path):
            for name in files:
                if not name.startswith(_TEMP_PREFIX):
                    continue
                path = os.path.join(directory, name)
                try:
                    if os.stat(path).st_mtime < limit:
                        os.remove(path)
                        removed.append(path)
                except FileNotFoundError:  # renamed or removed by its writer meanwhile
                    continue
        return removed


class _AtomicFile:
    """A temporary file next to ``target``, renamed over it when the block exits cleanly."""

    def __init__(self, target: str):
        self._target = target
        self._file = None
        self._temp_path = ""

    def __enter__(self):
        directory = os.path.dirname(self._target)
        os.makedirs(directory, exist_ok=True)
        descriptor, self._temp_path = tempfile.mkstemp(
            prefix=_TEMP_PREFIX + os.path.basename(self._target) + ".", dir=directory
        )
        self._file = os.fdopen(descriptor, "wb")
        return self._file

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.replace(self._temp_path, self._target)
                _fsync_directory(os.path.dirname(self._target))
        finally:
            if os.path.exists(self._temp_path):
                os.unlink(self._temp_path)


def _fsync_directory(directory: str) -> None:
    # makes the rename itself durable
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
