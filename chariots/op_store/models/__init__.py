"""The op store's database models (SQLAlchemy 2 through Flask-SQLAlchemy)."""

from __future__ import annotations

from chariots.op_store.models._base import Base
from chariots.op_store.models._op import DBOp
from chariots.op_store.models._pipeline import DBPipeline
from chariots.op_store.models._validated_link import DBValidatedLink
from chariots.op_store.models._version import DBVersion

__all__ = ["Base", "DBOp", "DBVersion", "DBValidatedLink", "DBPipeline"]
