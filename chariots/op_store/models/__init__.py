"""The op store's database models (SQLAlchemy 2)."""

from __future__ import annotations

from chariots.op_store.models._base import Base
from chariots.op_store.models._fleet import DBServedGeneration, DBStagedTraining
from chariots.op_store.models._lineage_link import DBLineageLink
from chariots.op_store.models._op import DBOp
from chariots.op_store.models._pipeline import DBPipeline
from chariots.op_store.models._signing import DBSigningEnabled
from chariots.op_store.models._version import DBVersion

__all__ = ["Base", "DBOp", "DBVersion", "DBLineageLink", "DBPipeline", "DBServedGeneration", "DBStagedTraining",
           "DBSigningEnabled"]
