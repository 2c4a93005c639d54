"""An op known to the store, by name."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base


class DBOp(Base):
    """An op, identified by its name (``op.name``, the lower-case class name by default)."""

    __tablename__ = "ops"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)

    def __repr__(self) -> str:
        return f"<DBOp {self.name}>"
