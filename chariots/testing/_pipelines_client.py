"""A pipelines client calling a server in process: requests go straight into its WSGI app."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from chariots._transport import WSGITransport
from chariots.serving import AbstractPipelinesClient

if TYPE_CHECKING:
    from chariots.serving import PipelinesServer


class TestPipelinesClient(AbstractPipelinesClient):
    """Drives a :class:`~chariots.pipelines.PipelinesServer` without starting a real server.

    :param app: the server to call
    :param auth_token: the bearer token, when the server requires one
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: "PipelinesServer", auth_token: Optional[str] = None):
        super().__init__(WSGITransport(app, "pipelines server", auth_token))
        self.app = app
