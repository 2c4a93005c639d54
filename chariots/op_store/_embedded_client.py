"""An op store living in this process: its server is called directly, without a socket."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from chariots.op_store._op_store import OpStoreServer
from chariots.op_store._op_store_client import BaseOpStoreClient, RawResponse
from chariots.op_store.savers import BaseSaver, FileSaver

__all__ = ["EmbeddedOpStoreClient", "DB_FILE_NAME", "embedded_server"]

#: the SQLite file an embedded op store keeps under its path
DB_FILE_NAME = "op_store.sqlite3"


def embedded_server(path: str, saver: Optional[BaseSaver] = None, auth_token: Optional[str] = None) -> OpStoreServer:
    """An op store server on a SQLite file under ``path`` and, by default, a FileSaver rooted at ``path``.

    :param path: the directory holding the database (and the saved ops, by default); created if missing
    :param saver: the saver to use instead of ``FileSaver(path)``
    :param auth_token: the bearer token the server requires (None: no auth)
    """
    path = os.path.abspath(os.fspath(path))
    os.makedirs(path, exist_ok=True)
    return OpStoreServer(
        saver if saver is not None else FileSaver(path),
        db_url="sqlite:///" + os.path.join(path, DB_FILE_NAME),
        auth_token=auth_token,
    )


class EmbeddedOpStoreClient(BaseOpStoreClient):
    """An op store client whose server runs in this process, on files under ``path``.

    Requests go straight to the server's WSGI app (no socket, no thread), so one process holds
    the whole application. Two embedded clients on the same ``path`` share the same store, and
    an :class:`~chariots.op_store.OpStoreServer` started later on the same files sees it too.

    :param path: the directory holding the SQLite database and, by default, the saved ops
    :param saver: the saver to use instead of a ``FileSaver(path)``
    """

    def __init__(self, path: str, saver: Optional[BaseSaver] = None):
        self.path = os.path.abspath(os.fspath(path))
        self._saver = saver
        self.server = embedded_server(self.path, saver)

    def __reduce__(self):
        # a worker process rebuilds the client on the same files (used by RQ jobs)
        return type(self), (self.path, self._saver)

    def request(
        self,
        method: str,
        route: str,
        json_body: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
    ) -> RawResponse:
        """Calls the in-process server (see :meth:`BaseOpStoreClient.request`)."""
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        kwargs: dict = {"method": method, "query_string": params}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = bytes(data)
            kwargs["content_type"] = "application/octet-stream"
        builder = EnvironBuilder(route, **kwargs)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, headers = run_wsgi_app(self.server.flask, environ, buffered=True)
        return RawResponse(int(status.split(" ", 1)[0]), b"".join(app_iter), headers.get("Content-Type", ""))

    def close(self) -> None:
        """Closes the database connections."""
        self.server.close()

    def __repr__(self) -> str:
        return f"EmbeddedOpStoreClient({self.path!r})"
