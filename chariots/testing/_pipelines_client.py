"""A pipelines client calling a server in process, through Flask's test client."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from chariots.pipelines.pipelines_client import AbstractPipelinesClient

if TYPE_CHECKING:
    from chariots.pipelines import PipelinesServer


class TestPipelinesClient(AbstractPipelinesClient):
    """Drives a :class:`~chariots.pipelines.PipelinesServer` without starting a real server.

    :param app: the server to call
    :param auth_token: the bearer token, when the server requires one
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: "PipelinesServer", auth_token: Optional[str] = None):
        self._client = app.test_client()
        self._headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else {}

    def request(self, method: str, route: str, json: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        response = self._client.open(route, method=method, json=json, headers=self._headers)
        body = response.get_json(silent=True)
        return response.status_code, body if body is not None else response.get_data(as_text=True)
