"""The 30-second API: a pipelines server with an embedded op store, and its client."""
from __future__ import annotations

import os
from typing import Any, List, Optional

from chariots.pipelines import Pipeline
from chariots.serving import PipelinesClient, PipelinesServer

__all__ = ["Chariots", "Client"]

#: the getting-started name of :class:`~chariots.pipelines.PipelinesClient`
Client = PipelinesClient


class Chariots(PipelinesServer):
    """A :class:`~chariots.pipelines.PipelinesServer` whose op store lives under ``app_path``.

    Models are saved as files and versions in a SQLite database under ``app_path``: one
    process, no other service.

    :param app_pipelines: the pipelines to serve
    :param app_path: the folder holding the embedded op store
    :param op_store_client: another op store to use instead of the embedded one
    :param kwargs: the other arguments of :class:`~chariots.pipelines.PipelinesServer`
    """

    def __init__(
        self,
        app_pipelines: List[Pipeline],
        app_path: str,
        *args: Any,
        op_store_client: Optional[Any] = None,
        **kwargs: Any,
    ):
        if op_store_client is None:
            from chariots.op_store import EmbeddedOpStoreClient

            os.makedirs(app_path, exist_ok=True)
            op_store_client = EmbeddedOpStoreClient(app_path)
        self.app_path = app_path
        super().__init__(app_pipelines, *args, op_store_client=op_store_client, **kwargs)
