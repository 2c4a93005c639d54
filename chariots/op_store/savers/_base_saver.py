"""The saver interface: a tiny file system rooted at ``root_path``."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from typing import BinaryIO, Optional

from chariots.errors import InvalidNameError

#: how many bytes savers read or write at a time when streaming
CHUNK_SIZE = 1 << 20


class BaseSaver(ABC):
    """Abstraction of a file system used to persist and load ops, rooted at ``root_path``.

    A subclass defines :meth:`save` and :meth:`load`; it may override the streaming methods
    (:meth:`save_stream`, :meth:`open_stream`) so large models never sit whole in memory.

    Paths given to a saver are relative to its root (a leading ``/`` is ignored: saving to
    ``/foo/bar.txt`` on a saver rooted at ``/my/root`` writes ``/my/root/foo/bar.txt``). A path
    with a ``..`` or ``.`` segment, an empty segment, a backslash or a NUL character is refused
    with :class:`~chariots.errors.InvalidNameError`, so nothing is ever read or written outside
    the root.

    :param root_path: the root under which the saver reads and writes
    """

    def __init__(self, root_path: str):
        self.root_path = root_path

    @abstractmethod
    def save(self, serialized_object: bytes, path: str) -> bool:
        """Saves bytes to a path relative to the root.

        :param serialized_object: the bytes to persist
        :param path: where to save them, relative to the saver's root
        :raises InvalidNameError: if the path could escape the root
        :returns: whether the object was saved
        """

    @abstractmethod
    def load(self, path: str) -> bytes:
        """Loads the bytes saved at a path relative to the root.

        :param path: where the bytes were saved, relative to the saver's root
        :raises FileNotFoundError: if nothing was saved there
        :raises InvalidNameError: if the path could escape the root
        :returns: the saved bytes
        """

    def save_stream(self, stream: BinaryIO, path: str, size: Optional[int] = None) -> bool:
        """Saves everything read from a binary stream (reads it whole unless overridden).

        :param stream: a readable binary file-like object
        :param path: where to save the bytes, relative to the saver's root
        :param size: the number of bytes the stream should yield, checked when given
        :raises ValueError: if the stream yields a different number of bytes than ``size``
        :returns: whether the object was saved
        """
        data = stream.read()
        check_size(len(data), size, path)
        return self.save(data, path)

    def open_stream(self, path: str) -> BinaryIO:
        """Opens the bytes saved at a path for reading (loads them whole unless overridden).

        :param path: where the bytes were saved, relative to the saver's root
        :raises FileNotFoundError: if nothing was saved there
        :returns: a readable binary file-like object; the caller closes it
        """
        return io.BytesIO(self.load(path))

    def exists(self, path: str) -> bool:
        """Whether bytes were saved at a path (loads them unless overridden)."""
        try:
            self.load(path)
        except FileNotFoundError:
            return False
        return True

    @staticmethod
    def relative_parts(path: str) -> list[str]:
        """Splits a saver path into its segments, refusing anything that could escape the root.

        :param path: a path relative to the root (a leading ``/`` is ignored)
        :raises InvalidNameError: for a non-string or empty path, a ``.``, ``..`` or empty
                                  segment, a backslash or a NUL character
        :returns: the path's segments
        """
        if not isinstance(path, str) or not path.strip("/"):
            raise InvalidNameError(f"saver path {path!r} is invalid: expected a non-empty relative path")
        if "\x00" in path or "\\" in path:
            raise InvalidNameError(f"saver path {path!r} is invalid: it contains a NUL character or a backslash")
        parts = path.lstrip("/").split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise InvalidNameError(
                f"saver path {path!r} is invalid: '.', '..' and empty segments could escape the "
                "saver's root; use plain names separated by '/'"
            )
        return parts

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root_path!r})"


def check_size(received: int, expected: Optional[int], path: str) -> None:
    """Fails when a stream ended before (or after) the announced number of bytes.

    :raises ValueError: if ``expected`` is given and differs from ``received``
    """
    if expected is not None and received != expected:
        raise ValueError(
            f"saving {path!r}: expected {expected} bytes but received {received}; "
            "the upload was cut short, send it again"
        )
