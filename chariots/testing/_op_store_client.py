"""An op store client running the op store server in process: requests go into its WSGI app."""

from __future__ import annotations

import os
from typing import Any, List, Optional

from chariots._signing import KeySource
from chariots._transport import WSGITransport
from chariots.op_store import BaseOpStoreClient, HTTPBackend, OpStoreServer
from chariots.op_store.savers import BaseSaver


class TestOpStoreClient(BaseOpStoreClient):
    """Helper class to have an op store client without launching a server.

    The same :class:`~chariots.op_store.OpStoreServer` runs in process and every request goes
    through its Flask app, as over HTTP: by default a SQLite database and a
    :class:`~chariots.op_store.savers.FileSaver` both under ``path``, tables created. Two
    clients on the same ``path`` share the same store.

    :param path: the directory holding the database (and the saved ops, by default)
    :param saver: the saver to use instead of a ``FileSaver(path)``
    :param auth_token: the bearer token the server requires and the client sends (None: no auth)
    :param secret_key: the key signing the bytes of states (None: ``CHARIOTS_SECRET_KEY``, else the
                       file ``secret_key`` under ``path``, created once with mode 0600)
    :param old_secret_keys: keys of earlier rotations, still accepted when loading
    """

    __test__ = False  # not a pytest test class

    def __init__(self, path: str, saver: Optional[BaseSaver] = None, auth_token: Optional[str] = None,
                 secret_key: Optional[str] = None, old_secret_keys: Optional[List[str]] = None):
        self.path = os.path.abspath(os.fspath(path))
        self._init_args = (saver,)
        self.server = OpStoreServer.embedded(self.path, saver, auth_token)
        super().__init__(HTTPBackend(WSGITransport(self.server.flask, "op store", auth_token)),
                         KeySource(secret_key, old_secret_keys, key_dir=self.path))

    def post(self, route: str, arguments_json: Any) -> Any:
        """Posts request the backend: a JSON body to a route, the decoded JSON answer back.

        :param route: the route (``/validated_links`` for instance)
        :param arguments_json: the JSON-serializable body
        :raises ChariotsError: (the matching subclass) when the op store answers an error
        """
        return super().post(route, arguments_json)

    def close(self) -> None:
        """Closes the database connections."""
        self.server.close()

    def __reduce__(self):
        # a worker process rebuilds the client on the same files (used by RQ jobs), without the token
        # (the store it rebuilds runs in the worker's process) nor the keys (the worker's own)
        return type(self), (self.path, *self._init_args)

    def __repr__(self) -> str:
        return f"TestOpStoreClient({self.path!r})"
