"""An op known to the store, by name, with the class whose states it holds."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base


class DBOp(Base):
    """An op, identified by its name (``op.name``, the lower-case class name by default).

    ``class_path`` is the class of the ops saved under the name: another class under the same
    name is refused (it would load states it cannot read).
    """

    __tablename__ = "ops"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    class_path: Mapped[Optional[str]] = mapped_column(String(500), nullable=True)

    def __repr__(self) -> str:
        return f"<DBOp {self.name}>"
