"""The op store: the server keeping op versions, lineage and served generations, its client (over
HTTP or in process) and savers."""

from __future__ import annotations

from chariots.op_store import savers
from chariots.op_store._backends import HTTPBackend, ServiceBackend
from chariots.op_store._embedded_client import EmbeddedOpStoreClient
from chariots.op_store._op_store import OpStoreServer
from chariots.op_store._op_store_client import BaseOpStoreClient, OpStoreClient
from chariots.op_store._sign_store import SignStoreReport, sign_store
from chariots.op_store.migrations import upgrade_database

__all__ = [
    "OpStoreServer",
    "OpStoreClient",
    "BaseOpStoreClient",
    "EmbeddedOpStoreClient",
    "HTTPBackend",
    "ServiceBackend",
    "savers",
    "upgrade_database",
    "sign_store",
    "SignStoreReport",
]
