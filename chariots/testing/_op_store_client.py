"""An op store client running the op store server in process, through Flask's test client."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from chariots.op_store._embedded_client import embedded_server
from chariots.op_store._op_store_client import BaseOpStoreClient, RawResponse
from chariots.op_store.savers import BaseSaver


class TestOpStoreClient(BaseOpStoreClient):
    """Helper class to have an op store client without launching a server.

    The same :class:`~chariots.op_store.OpStoreServer` runs in process, called through Flask's
    test client: by default a SQLite database and a :class:`~chariots.op_store.savers.FileSaver`
    both under ``path``, tables created. Two clients on the same ``path`` share the same store.

    :param path: the directory holding the database (and the saved ops, by default)
    :param saver: the saver to use instead of a ``FileSaver(path)``
    :param auth_token: the bearer token the server requires and the client sends (None: no auth)
    """

    __test__ = False  # not a pytest test class

    def __init__(self, path: str, saver: Optional[BaseSaver] = None, auth_token: Optional[str] = None):
        self.path = os.path.abspath(os.fspath(path))
        self._init_args = (saver, auth_token)
        self.server = embedded_server(self.path, saver, auth_token)
        self._client = self.server.flask.test_client()
        self._headers = {"Authorization": f"Bearer {auth_token}"} if auth_token is not None else {}

    def request(
        self,
        method: str,
        route: str,
        json_body: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
    ) -> RawResponse:
        """Sends one request to the in-process server (see :meth:`BaseOpStoreClient.request`)."""
        kwargs: dict = {"method": method, "headers": self._headers, "query_string": params}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = bytes(data)
            kwargs["content_type"] = "application/octet-stream"
        response = self._client.open(route, **kwargs)
        return RawResponse(response.status_code, response.get_data(), response.content_type or "")

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
        # a worker process rebuilds the client on the same files (used by RQ jobs)
        return type(self), (self.path, *self._init_args)

    def __repr__(self) -> str:
        return f"TestOpStoreClient({self.path!r})"
