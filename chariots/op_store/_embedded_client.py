"""An op store living in this process: the client's calls go straight to the op store service."""

from __future__ import annotations

import os
from typing import List, Optional

from chariots._signing import KeySource
from chariots._transport import WSGITransport
from chariots.op_store._backends import ServiceBackend
from chariots.op_store._op_store import OpStoreServer
from chariots.op_store._op_store_client import BaseOpStoreClient
from chariots.op_store.savers import BaseSaver

__all__ = ["EmbeddedOpStoreClient"]


class EmbeddedOpStoreClient(BaseOpStoreClient):
    """An op store client whose store lives in this process, on files under ``path``.

    The store operations go straight to the op store service (no socket, no WSGI, no version
    strings); :meth:`request` still reaches any route through the server's app in process. One
    process holds the whole application. Two embedded clients on the same ``path`` share the
    same store, and an :class:`~chariots.op_store.OpStoreServer` started later on the same
    files sees it too.

    :param path: the directory holding the SQLite database and, by default, the saved ops
    :param saver: the saver to use instead of a ``FileSaver(path)``
    :param secret_key: the key signing the bytes of states (None: ``CHARIOTS_SECRET_KEY``, else the
                       file ``secret_key`` under ``path``, created once with mode 0600)
    :param old_secret_keys: keys of earlier rotations, still accepted when loading
    """

    def __init__(self, path: str, saver: Optional[BaseSaver] = None, secret_key: Optional[str] = None,
                 old_secret_keys: Optional[List[str]] = None):
        self.path = os.path.abspath(os.fspath(path))
        self._saver = saver
        self.server = OpStoreServer.embedded(self.path, saver)
        self.service = self.server.service
        super().__init__(ServiceBackend(self.service, WSGITransport(self.server.flask, "op store")),
                         KeySource(secret_key, old_secret_keys, key_dir=self.path))

    def __reduce__(self):
        # a worker process rebuilds the client on the same files (used by RQ jobs)
        return type(self), (self.path, self._saver)

    def close(self) -> None:
        """Closes the database connections."""
        self.server.close()

    def __repr__(self) -> str:
        return f"EmbeddedOpStoreClient({self.path!r})"
